package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/localbaponi/localbaponi/emulator"
)

// mappedName is a host name that no resolver knows: the test's transport
// maps it to the emulator's loopback address, as a compose network or an
// /etc/hosts entry would.
const mappedName = "localbaponi.test"

// hostClient talks to one emulator under one host name.
type hostClient struct {
	t    *testing.T
	base string // http://<name>:<port>
	http *http.Client
	key  string
}

// clientAs returns a client that reaches the emulator listening on addr
// (127.0.0.1:port) as name:port; mappedName is dialled at addr.
func clientAs(t *testing.T, addr, name, key string) *hostClient {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	d := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		if h, p, err := net.SplitHostPort(a); err == nil && h == mappedName {
			a = net.JoinHostPort("127.0.0.1", p)
		}
		return d.DialContext(ctx, network, a)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &hostClient{t: t, base: "http://" + net.JoinHostPort(name, port), http: &http.Client{Transport: tr}, key: key}
}

// signed is the part of an upload_url or download_url answer used here.
type signed struct {
	URL     string            `json:"url"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers"`
}

// sign POSTs body to /v1/files/<what> with extra headers and decodes the
// signed URL.
func (c *hostClient) sign(what string, body map[string]any, extra map[string]string) signed {
	c.t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, c.base+"/v1/files/"+what, bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("POST %s: %v", what, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("POST %s via %s: %d %s", what, c.base, resp.StatusCode, raw)
	}
	var s signed
	if err := json.Unmarshal(raw, &s); err != nil {
		c.t.Fatalf("POST %s: %v in %s", what, err, raw)
	}
	return s
}

func (c *hostClient) uploadURL(path string, data []byte, extra map[string]string) signed {
	return c.sign("upload_url", map[string]any{"source": "thread", "id": "urls", "path": path,
		"content_type": "text/plain", "content_length": len(data)}, extra)
}

func (c *hostClient) downloadURL(path string, extra map[string]string) signed {
	return c.sign("download_url", map[string]any{"source": "thread", "id": "urls", "path": path}, extra)
}

// send does what a signed URL says, to rawURL (which may differ from s.URL),
// with extra headers, and returns the status and body.
func (c *hostClient) send(s signed, rawURL string, body []byte, extra map[string]string) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(s.Method, rawURL, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range s.Headers {
		req.Header.Set(k, v)
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", s.Method, rawURL, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, got
}

// info GETs /_emulator/info and returns its external_url.
func (c *hostClient) infoURL() string {
	c.t.Helper()
	resp, err := c.http.Get(c.base + "/_emulator/info")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		ExternalURL string `json:"external_url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		c.t.Fatal(err)
	}
	return m.ExternalURL
}

// withHost returns raw with its host replaced.
func withHost(t *testing.T, raw, host string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host
	return u.String()
}

func hostOf(t *testing.T, raw string) (scheme, host string) {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Scheme, u.Host
}

func startEmu(t *testing.T, o emulator.Options) *emulator.Emulator {
	t.Helper()
	emu, err := emulator.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

func emuAddr(t *testing.T, emu *emulator.Emulator) string {
	_, host := hostOf(t, emu.URL())
	return host
}

// hostSigned reports whether a face's signature covers the host: GCS V4
// and S3 SigV4 sign the host header; an Azure SAS signs the account,
// container and blob but not the endpoint.
func hostSigned(backend string) bool { return backend != "azure" }

// TestURLsFollowTheRequestHost: without ExternalURL, the same emulator
// reached as 127.0.0.1, localhost and a mapped name hands each client URLs
// with the host it used, and they work for it, on every face.
func TestURLsFollowTheRequestHost(t *testing.T) {
	for _, backend := range emulator.Backends() {
		t.Run(backend, func(t *testing.T) {
			emu := startEmu(t, emulator.Options{Backend: backend})
			addr := emuAddr(t, emu)
			for _, name := range []string{"127.0.0.1", "localhost", mappedName} {
				t.Run(name, func(t *testing.T) {
					c := clientAs(t, addr, name, emu.APIKey())
					data := []byte("reached as " + name)
					file := "via-" + name + ".txt"
					up := c.uploadURL(file, data, nil)
					if scheme, host := hostOf(t, up.URL); scheme != "http" || host != strings.TrimPrefix(c.base, "http://") {
						t.Fatalf("upload URL %s: want it at %s", up.URL, c.base)
					}
					if st, body := c.send(up, up.URL, data, nil); st/100 != 2 {
						t.Fatalf("PUT through %s: %d %s", up.URL, st, body)
					}
					dl := c.downloadURL(file, nil)
					if !strings.HasPrefix(dl.URL, c.base+"/") {
						t.Fatalf("download URL %s: want it at %s", dl.URL, c.base)
					}
					if st, body := c.send(dl, dl.URL, nil, nil); st != http.StatusOK || !bytes.Equal(body, data) {
						t.Fatalf("GET through %s: %d %q, want 200 %q", dl.URL, st, body, data)
					}
					if got := c.infoURL(); got != c.base {
						t.Errorf("/_emulator/info external_url = %q, want %q", got, c.base)
					}
				})
			}
		})
	}
}

// TestURLsCrossHost: a URL issued to a client that used one host, sent to
// the same emulator under another host, verifies if and only if the
// provider signs no host (Azure SAS); GCS V4 and S3 SigV4 refuse it.
func TestURLsCrossHost(t *testing.T) {
	for _, backend := range emulator.Backends() {
		t.Run(backend, func(t *testing.T) {
			emu := startEmu(t, emulator.Options{Backend: backend})
			addr := emuAddr(t, emu)
			mapped := clientAs(t, addr, mappedName, emu.APIKey())
			local := clientAs(t, addr, "localhost", emu.APIKey())
			data := []byte("cross-host")

			up := mapped.uploadURL("cross.txt", data, nil)
			st, body := mapped.send(up, withHost(t, up.URL, addr), data, nil)
			if hostSigned(backend) {
				if st != http.StatusForbidden {
					t.Fatalf("PUT of a URL for %s sent to %s: %d %s, want 403 (host is signed)", mappedName, addr, st, body)
				}
				if st, _ := mapped.send(up, up.URL, data, nil); st/100 != 2 {
					t.Fatalf("the same URL at its own host: %d", st)
				}
			} else if st/100 != 2 {
				t.Fatalf("PUT of a SAS URL for %s sent to %s: %d %s, want success (a SAS does not sign the host)", mappedName, addr, st, body)
			}

			dl := local.downloadURL("cross.txt", nil)
			st, body = local.send(dl, withHost(t, dl.URL, addr), nil, nil)
			if hostSigned(backend) {
				if st != http.StatusForbidden {
					t.Fatalf("GET of a URL for localhost sent to %s: %d %s, want 403", addr, st, body)
				}
			} else if st != http.StatusOK || !bytes.Equal(body, data) {
				t.Fatalf("GET of a SAS URL for localhost sent to %s: %d %q, want 200 %q", addr, st, body, data)
			}
		})
	}
}

// TestURLsExternalURLOverrides: with ExternalURL set, every client gets
// URLs at it, whatever host it used.
func TestURLsExternalURLOverrides(t *testing.T) {
	for _, backend := range emulator.Backends() {
		t.Run(backend, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			external := "http://" + net.JoinHostPort(mappedName, port)
			emu := startEmu(t, emulator.Options{Backend: backend, Listener: ln, ExternalURL: external + "/"})
			addr := ln.Addr().String()
			mapped := clientAs(t, addr, mappedName, emu.APIKey())
			for _, name := range []string{"127.0.0.1", "localhost"} {
				c := clientAs(t, addr, name, emu.APIKey())
				data := []byte("external " + name)
				up := c.uploadURL(name+".txt", data, nil)
				if !strings.HasPrefix(up.URL, external+"/") {
					t.Fatalf("asked via %s: upload URL %s, want it at %s", name, up.URL, external)
				}
				if st, body := mapped.send(up, up.URL, data, nil); st/100 != 2 {
					t.Fatalf("PUT %s: %d %s", up.URL, st, body)
				}
				if got := c.infoURL(); got != external {
					t.Errorf("info external_url = %q, want %q", got, external)
				}
			}
		})
	}
}

// TestURLsForwardedHeaders: X-Forwarded-Host and X-Forwarded-Proto make the
// URLs (and the host that signatures are checked against) only with
// TrustForwardedHeaders; otherwise they are ignored.
func TestURLsForwardedHeaders(t *testing.T) {
	const public = "files.example.test:9443"
	fwd := map[string]string{"X-Forwarded-Host": public + ", proxy.internal", "X-Forwarded-Proto": "https"}
	for _, backend := range emulator.Backends() {
		t.Run(backend, func(t *testing.T) {
			trusting := startEmu(t, emulator.Options{Backend: backend, TrustForwardedHeaders: true})
			c := clientAs(t, emuAddr(t, trusting), "127.0.0.1", trusting.APIKey())
			data := []byte("behind a proxy")
			up := c.uploadURL("fwd.txt", data, fwd)
			if !strings.HasPrefix(up.URL, "https://"+public+"/") {
				t.Fatalf("trusted: upload URL %s, want it at https://%s", up.URL, public)
			}
			// A proxy passes the request on over plain HTTP to the
			// emulator's own address, saying which host the client used.
			direct := withHost(t, strings.Replace(up.URL, "https://", "http://", 1), emuAddr(t, trusting))
			if st, body := c.send(up, direct, data, map[string]string{"X-Forwarded-Host": public}); st/100 != 2 {
				t.Fatalf("trusted: PUT forwarded for %s: %d %s", public, st, body)
			}
			st, body := c.send(up, direct, data, nil)
			if hostSigned(backend) && st != http.StatusForbidden {
				t.Fatalf("trusted: PUT without X-Forwarded-Host: %d %s, want 403 (signed for %s)", st, body, public)
			}
			dl := c.downloadURL("fwd.txt", map[string]string{"X-Forwarded-Host": "dl.example.test"})
			if !strings.HasPrefix(dl.URL, "http://dl.example.test/") {
				t.Fatalf("trusted, no X-Forwarded-Proto: download URL %s, want http://dl.example.test/...", dl.URL)
			}

			plain := startEmu(t, emulator.Options{Backend: backend})
			pc := clientAs(t, emuAddr(t, plain), "127.0.0.1", plain.APIKey())
			up = pc.uploadURL("fwd.txt", data, fwd)
			if want := "http://" + emuAddr(t, plain) + "/"; !strings.HasPrefix(up.URL, want) {
				t.Fatalf("untrusted: upload URL %s, want it at %s (forwarded headers ignored)", up.URL, want)
			}
			st, body = pc.send(up, up.URL, data, map[string]string{"X-Forwarded-Host": public})
			if st/100 != 2 {
				t.Fatalf("untrusted: X-Forwarded-Host on the data plane must be ignored: %d %s", st, body)
			}
		})
	}
}
