package hardening

// Helpers of the store, face and API hardening tests (store_test.go).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator"
)

// startStoreEmu starts an in-process emulator, closed at cleanup.
func startStoreEmu(t *testing.T, opts emulator.Options) *emulator.Emulator {
	t.Helper()
	emu, err := emulator.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// apiCall sends a JSON request with the Bearer key and returns the status
// and body.
func apiCall(t *testing.T, method, base, key, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// signedURL is the answer of upload_url or download_url.
type signedURL struct {
	URL     string            `json:"url"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers"`
}

// uploadURL asks for an upload URL of n bytes of type ct.
func uploadURL(t *testing.T, base, key, source, id, path string, n int64, ct string) signedURL {
	t.Helper()
	body := map[string]any{"source": source, "id": id, "path": path, "content_length": n}
	if ct != "" {
		body["content_type"] = ct
	}
	st, data := apiCall(t, http.MethodPost, base, key, "/v1/files/upload_url", body)
	if st != http.StatusOK {
		t.Fatalf("upload_url %s: %d %s", path, st, data)
	}
	var s signedURL
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// downloadURL asks for a download URL.
func downloadURL(t *testing.T, base, key, source, id, path string) signedURL {
	t.Helper()
	st, data := apiCall(t, http.MethodPost, base, key, "/v1/files/download_url", map[string]any{"source": source, "id": id, "path": path})
	if st != http.StatusOK {
		t.Fatalf("download_url %s: %d %s", path, st, data)
	}
	var s signedURL
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// doSigned sends a whole request to a signed URL.
func doSigned(t *testing.T, s signedURL, body []byte, extra map[string]string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, s.Method, s.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range s.Headers {
		req.Header.Set(k, v)
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s signed URL: %v", s.Method, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// stalledRequest opens a raw connection and sends the request line, the
// headers (with Content-Length n) and prefix, then nothing more: an attacker
// holding a body open.
func stalledRequest(t *testing.T, method, rawURL string, headers map[string]string, n int64, prefix []byte) net.Conn {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, u.RequestURI(), u.Host)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", n)
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(prefix); err != nil {
		t.Fatal(err)
	}
	return conn
}

// awaitClosed waits (at most bound) for the server to answer on conn and
// close it; it returns the status of the answer (0 if there was none).
func awaitClosed(conn net.Conn, bound time.Duration) (int, error) {
	conn.SetReadDeadline(time.Now().Add(bound))
	br := bufio.NewReader(conn)
	status := 0
	if resp, err := http.ReadResponse(br, nil); err == nil {
		status = resp.StatusCode
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return 0, fmt.Errorf("no answer and no close within %s", bound)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return status, fmt.Errorf("answered %d but the connection stayed open: %v", status, err)
	}
	return status, nil
}

// tmpFiles lists the store's temp directory (uploads in flight).
func tmpFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dataDir, ".tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// waitFor polls cond every 10 ms until it holds or bound passes.
func waitFor(bound time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(bound)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// binEmu is a localbaponi process.
type binEmu struct {
	cmd *exec.Cmd
	url string
}

var listenRE = regexp.MustCompile(`listening on (http://\S+)`)

// startBinary starts localbaponi with args (plus --addr 127.0.0.1:0) and
// waits for its banner. It is killed at cleanup if still running.
func startBinary(t *testing.T, args ...string) *binEmu {
	t.Helper()
	cmd := exec.Command(sandboxBinary(t), append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case u := <-found:
		return &binEmu{cmd: cmd, url: u}
	case <-time.After(30 * time.Second):
		t.Fatalf("localbaponi did not start within 30 s; stderr:\n%s", stderr.String())
	}
	return nil
}

// rawHTTP sends one request with the request-target exactly as given (no
// client-side cleaning or escaping) and returns the response with its body.
func rawHTTP(t *testing.T, base, method, target string, headers map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, u.Host)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, data
}
