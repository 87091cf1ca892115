package s3

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/face/facetest"
	"github.com/localbaponi/localbaponi/emulator/internal/signing"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

const (
	testKeyID  = "AKIDLOCALBAPONI"
	testSecret = "bG9jYWwtc2lnbmluZy1zZWNyZXQ"
)

var t0 = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

var (
	thread = store.Space{Org: "org_local", Kind: store.Thread, ID: "t1"}
	roVol  = store.Space{Org: "org_local", Kind: store.Volume, ID: "reference-data"}
	ghost  = store.Space{Org: "org_local", Kind: store.Thread, ID: "no-such-thread"}
)

// env is one S3 face served over loopback HTTP on a real store.
type env struct {
	f   *Face
	st  *store.Store
	clk *clock.Clock
	srv *httptest.Server
}

func newEnv(t *testing.T, clk *clock.Clock, mod ...func(*face.Config)) *env {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fe := facetest.NewEnv(t, clk, log)
	cfg := fe.Config(testKeyID, testSecret, facetest.Access(ghost, roVol), log)
	for _, m := range mod {
		m(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	fe.Serve(f)
	return &env{f: f, st: fe.Store, clk: fe.Clock, srv: fe.Server}
}

// s3Err is the part of S3's XML error body the tests look at.
type s3Err struct {
	Code      string
	Message   string
	RequestID string `xml:"RequestId"`
}

// result is a finished HTTP exchange.
type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) err(t *testing.T) s3Err {
	t.Helper()
	var e s3Err
	if err := xml.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("status %d: body is not an S3 XML error: %v\n%s", r.status, err, r.body)
	}
	return e
}

func do(t *testing.T, method, u string, h map[string]string, body []byte) result {
	t.Helper()
	resp, b := facetest.Do(t, method, u, h, body)
	return result{resp.StatusCode, resp.Header, b}
}

// upload signs and performs an upload the way the seed's curl does.
func (e *env) upload(t *testing.T, sp store.Space, p, ct string, data []byte) result {
	t.Helper()
	s, err := e.f.SignUpload(sp, p, ct, int64(len(data)))
	if err != nil {
		t.Fatalf("SignUpload: %v", err)
	}
	return do(t, s.Method, s.URL, s.Headers, data)
}

func (e *env) mustUpload(t *testing.T, sp store.Space, p, ct string, data []byte) {
	t.Helper()
	if r := e.upload(t, sp, p, ct, data); r.status != http.StatusOK {
		t.Fatalf("upload %s: status %d: %s", p, r.status, r.body)
	}
}

func (e *env) download(t *testing.T, sp store.Space, p string, h map[string]string) result {
	t.Helper()
	s, err := e.f.SignDownload(sp, p)
	if err != nil {
		t.Fatalf("SignDownload: %v", err)
	}
	return do(t, s.Method, s.URL, h, nil)
}

func TestSignedURLShape(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0.Add(700*time.Millisecond)))
	up, err := e.f.SignUpload(thread, "dir/input file.json", "application/json", 2048)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	if want := e.srv.URL + "/baponi-local-storage/orgs/org_local/threads/t1/dir/input%20file.json"; !strings.HasPrefix(up.URL, want+"?") {
		t.Errorf("URL = %s, want prefix %s?", up.URL, want)
	}
	q := u.Query()
	want := map[string]string{
		"X-Amz-Algorithm":     "AWS4-HMAC-SHA256",
		"X-Amz-Credential":    testKeyID + "/20260304/us-east-1/s3/aws4_request",
		"X-Amz-Date":          "20260304T120000Z",
		"X-Amz-Expires":       "900",
		"X-Amz-SignedHeaders": "content-length;content-type;host",
	}
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(q.Get("X-Amz-Signature")) != 64 {
		t.Errorf("X-Amz-Signature = %q, want 64 hex digits", q.Get("X-Amz-Signature"))
	}
	if up.Method != "PUT" || len(up.Headers) != 1 || up.Headers["Content-Type"] != "application/json" {
		t.Errorf("upload method/headers = %s %v", up.Method, up.Headers)
	}
	if !up.ExpiresAt.Equal(t0.Add(15 * time.Minute)) {
		t.Errorf("ExpiresAt = %v, want %v", up.ExpiresAt, t0.Add(15*time.Minute))
	}

	down, err := e.f.SignDownload(thread, "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	du, _ := url.Parse(down.URL)
	if down.Method != "GET" || down.Headers == nil || len(down.Headers) != 0 || du.Query().Get("X-Amz-SignedHeaders") != "host" {
		t.Errorf("download = %s %v signed %q", down.Method, down.Headers, du.Query().Get("X-Amz-SignedHeaders"))
	}
	if e.f.Name() != "s3" {
		t.Errorf("Name = %q", e.f.Name())
	}
}

func TestSignRejectsBadInput(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	for _, tc := range []struct {
		name string
		sp   store.Space
		path string
		n    int64
	}{
		{"negative length", thread, "a", -1},
		{"dotdot path", thread, "../a", 1},
		{"absolute path", thread, "/a", 1},
		{"slash in id", store.Space{Org: "org_local", Kind: store.Thread, ID: "a/b"}, "a", 1},
		{"empty org", store.Space{Kind: store.Thread, ID: "t1"}, "a", 1},
		{"bad kind", store.Space{Org: "org_local", Kind: "bucket", ID: "t1"}, "a", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.f.SignUpload(tc.sp, tc.path, "", tc.n); err == nil {
				t.Error("SignUpload succeeded")
			}
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	st, err := store.Open(t.TempDir(), clock.NewReal(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	good := face.Config{Store: st, Clock: clock.NewReal(), BaseURL: "http://127.0.0.1:8080", KeyID: "k", Secret: "s"}
	for _, tc := range []struct {
		name string
		mod  func(*face.Config)
		ok   bool
	}{
		{"good", func(*face.Config) {}, true},
		{"no store", func(c *face.Config) { c.Store = nil }, false},
		{"no clock", func(c *face.Config) { c.Clock = nil }, false},
		{"no key id", func(c *face.Config) { c.KeyID = "" }, false},
		{"no secret", func(c *face.Config) { c.Secret = "" }, false},
		{"no scheme", func(c *face.Config) { c.BaseURL = "127.0.0.1:8080" }, false},
		{"path", func(c *face.Config) { c.BaseURL = "http://127.0.0.1:8080/x" }, false},
		{"trailing slash", func(c *face.Config) { c.BaseURL = "http://127.0.0.1:8080/" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mod(&c)
			_, err := New(c)
			if (err == nil) != tc.ok {
				t.Errorf("New: err = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestU1_D3_RoundTrip(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	data := []byte(`{"values": [1, 2, 3, 4, 5]}`)
	r := e.upload(t, thread, "data/input.json", "application/json", data)
	if r.status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	sum := md5.Sum(data)
	if got, want := r.header.Get("ETag"), fmt.Sprintf(`"%x"`, sum); got != want {
		t.Errorf("PUT ETag = %s, want %s", got, want)
	}
	o, err := e.st.Stat(context.Background(), thread, "data/input.json")
	if err != nil || o.Size != int64(len(data)) || o.ContentType != "application/json" {
		t.Fatalf("stored object = %+v, %v", o, err)
	}

	g := e.download(t, thread, "data/input.json", nil)
	if g.status != http.StatusOK || !bytes.Equal(g.body, data) {
		t.Fatalf("GET: %d %q", g.status, g.body)
	}
	if g.header.Get("Content-Length") != strconv.Itoa(len(data)) || g.header.Get("Content-Type") != "application/json" {
		t.Errorf("GET headers: %v", g.header)
	}
	if g.header.Get("ETag") == "" || g.header.Get("Last-Modified") != t0.Format(http.TimeFormat) {
		t.Errorf("GET ETag %q Last-Modified %q", g.header.Get("ETag"), g.header.Get("Last-Modified"))
	}

	// A second upload replaces the first (U-6).
	e.mustUpload(t, thread, "data/input.json", "text/plain", []byte("v2"))
	g = e.download(t, thread, "data/input.json", nil)
	if string(g.body) != "v2" || g.header.Get("Content-Type") != "text/plain" {
		t.Errorf("after replace: %q %q", g.body, g.header.Get("Content-Type"))
	}

	// Empty files are real files (U-3).
	e.mustUpload(t, thread, "empty", "", nil)
	g = e.download(t, thread, "empty", nil)
	if g.status != http.StatusOK || len(g.body) != 0 || g.header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("empty file: %d %q %v", g.status, g.body, g.header)
	}
}

func TestD3_Range(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	e.mustUpload(t, thread, "r.bin", "", []byte("0123456789"))
	for _, tc := range []struct {
		rng, body, contentRange string
		status                  int
	}{
		{"bytes=2-5", "2345", "bytes 2-5/10", 206},
		{"bytes=7-", "789", "bytes 7-9/10", 206},
		{"bytes=-3", "789", "bytes 7-9/10", 206},
		{"bytes=8-100", "89", "bytes 8-9/10", 206},
		{"bytes=10-", "", "", 416},
	} {
		t.Run(tc.rng, func(t *testing.T) {
			r := e.download(t, thread, "r.bin", map[string]string{"Range": tc.rng})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 416 {
				if c := r.err(t).Code; c != "InvalidRange" {
					t.Errorf("code %s", c)
				}
				return
			}
			if string(r.body) != tc.body || r.header.Get("Content-Range") != tc.contentRange || r.header.Get("Content-Length") != strconv.Itoa(len(tc.body)) {
				t.Errorf("body %q Content-Range %q Content-Length %q", r.body, r.header.Get("Content-Range"), r.header.Get("Content-Length"))
			}
		})
	}
}

func TestD3_Head(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	e.mustUpload(t, thread, "h.csv", "text/csv", []byte("a,b\n1,2\n"))
	get, _ := e.f.SignDownload(thread, "h.csv")
	if r := do(t, http.MethodHead, get.URL, nil, nil); r.status != 403 {
		t.Errorf("HEAD with a URL signed for GET: %d, want 403 as S3 answers", r.status)
	}
	s, _ := e.f.signer().Presign(http.MethodHead, thread, "h.csv", http.Header{})
	r := do(t, http.MethodHead, s.URL, nil, nil)
	if r.status != 200 || r.header.Get("Content-Length") != "8" || r.header.Get("Content-Type") != "text/csv" || len(r.body) != 0 {
		t.Errorf("HEAD: %d %v %q", r.status, r.header, r.body)
	}
	s, _ = e.f.signer().Presign(http.MethodHead, thread, "missing.csv", http.Header{})
	if r := do(t, http.MethodHead, s.URL, nil, nil); r.status != 404 {
		t.Errorf("HEAD missing: %d", r.status)
	}
	// A HEAD signature must still be right: a tampered one is refused.
	if r := do(t, http.MethodHead, tamper(s.URL), nil, nil); r.status != 403 {
		t.Errorf("HEAD tampered: %d", r.status)
	}
}

func TestD2_MissingObject(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	e.mustUpload(t, thread, "dir/f", "", []byte("x"))
	for _, p := range []string{"nope", "dir"} {
		r := e.download(t, thread, p, nil)
		if r.status != 404 || r.err(t).Code != "NoSuchKey" {
			t.Errorf("GET %s: %d %s", p, r.status, r.body)
		}
	}
}

// tamper changes the last hex digit of the signature.
func tamper(u string) string {
	last := u[len(u)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return u[:len(u)-1] + string(repl)
}

func TestU5_Refusals(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	e.mustUpload(t, thread, "exists.txt", "text/plain", []byte("keep me"))
	// The read-only volume is seeded behind the face's back.
	if _, err := e.st.Put(context.Background(), roVol, "ref.txt", "text/plain", 0, strings.NewReader("")); err != nil {
		t.Fatal(err)
	}

	data := []byte("hello world")
	up, err := e.f.SignUpload(thread, "new.txt", "text/plain", int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	down, _ := e.f.SignDownload(thread, "exists.txt")
	roUp, _ := e.f.SignUpload(roVol, "w.txt", "text/plain", int64(len(data)))
	ghostDown, _ := e.f.SignDownload(ghost, "x")
	ghostUp, _ := e.f.SignUpload(ghost, "x", "text/plain", int64(len(data)))
	otherPath := strings.Replace(up.URL, "/new.txt?", "/other.txt?", 1)
	plain := strings.SplitN(down.URL, "?", 2)[0]
	ct := map[string]string{"Content-Type": "text/plain"}

	// A multipart request, properly signed, is still not offered.
	mu, _ := url.Parse(e.srv.URL + "/baponi-local-storage/" + thread.ObjectKey("big.bin") + "?uploads=")
	multipart, err := signing.S3().Presign(signing.Credentials{KeyID: testKeyID, Secret: testSecret},
		signing.PresignInput{Method: "POST", URL: mu, Time: t0, Expires: time.Minute})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, method, url string
		h                 map[string]string
		body              []byte
		status            int
		code              string
		message           string
	}{
		{"tampered signature", "PUT", tamper(up.URL), ct, data, 403, "SignatureDoesNotMatch", ""},
		{"changed path", "PUT", otherPath, ct, data, 403, "SignatureDoesNotMatch", ""},
		{"added query parameter", "PUT", up.URL + "&extra=1", ct, data, 403, "SignatureDoesNotMatch", ""},
		{"wrong method", "GET", up.URL, nil, nil, 403, "SignatureDoesNotMatch", ""},
		{"changed content type", "PUT", up.URL, map[string]string{"Content-Type": "text/html"}, data, 403, "SignatureDoesNotMatch", ""},
		{"missing content type", "PUT", up.URL, nil, data, 403, "SignatureDoesNotMatch", ""},
		{"longer body", "PUT", up.URL, ct, append(data, '!'), 403, "SignatureDoesNotMatch", ""},
		{"shorter body", "PUT", up.URL, ct, data[1:], 403, "SignatureDoesNotMatch", ""},
		{"tampered download", "GET", tamper(down.URL), nil, nil, 403, "SignatureDoesNotMatch", ""},
		{"missing signature", "GET", facetest.SetQuery(t, down.URL, "X-Amz-Signature", ""), nil, nil, 400, "AuthorizationQueryParametersError", ""},
		{"missing date", "GET", facetest.SetQuery(t, down.URL, "X-Amz-Date", ""), nil, nil, 400, "AuthorizationQueryParametersError", ""},
		{"missing expires", "GET", facetest.SetQuery(t, down.URL, "X-Amz-Expires", ""), nil, nil, 400, "AuthorizationQueryParametersError", ""},
		{"malformed date", "GET", facetest.SetQuery(t, down.URL, "X-Amz-Date", "2026-03-04"), nil, nil, 400, "AuthorizationQueryParametersError", ""},
		{"malformed expires", "GET", facetest.SetQuery(t, down.URL, "X-Amz-Expires", "soon"), nil, nil, 400, "AuthorizationQueryParametersError", ""},
		{"other algorithm", "GET", facetest.SetQuery(t, down.URL, "X-Amz-Algorithm", "AWS4-HMAC-SHA1"), nil, nil, 400, "AuthorizationQueryParametersError", ""},
		{"other region", "GET", facetest.SetQuery(t, down.URL, "X-Amz-Credential", testKeyID+"/20260304/eu-west-1/s3/aws4_request"), nil, nil, 400, "AuthorizationQueryParametersError", ""},
		{"unknown key id", "GET", facetest.SetQuery(t, down.URL, "X-Amz-Credential", "AKIDOTHER/20260304/us-east-1/s3/aws4_request"), nil, nil, 403, "InvalidAccessKeyId", ""},
		{"extended expiry", "GET", facetest.SetQuery(t, down.URL, "X-Amz-Expires", "3600"), nil, nil, 403, "SignatureDoesNotMatch", ""},
		{"plain request", "GET", plain, nil, nil, 403, "AccessDenied", "Access Denied"},
		{"plain PUT", "PUT", strings.SplitN(up.URL, "?", 2)[0], ct, data, 403, "AccessDenied", "Access Denied"},
		{"authorization header", "GET", plain, map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=" + testKeyID + "/20260304/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"}, nil, 403, "AccessDenied", ""},
		{"read-only volume", "PUT", roUp.URL, ct, data, 403, "AccessDenied", ""},
		{"unknown space GET", "GET", ghostDown.URL, nil, nil, 404, "NoSuchKey", ""},
		{"unknown space PUT", "PUT", ghostUp.URL, ct, data, 404, "NoSuchBucket", ""},
		{"multipart", "POST", multipart, nil, nil, 501, "NotImplemented", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, tc.url, tc.h, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if r.header.Get("Content-Type") != "application/xml" {
				t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
			}
			got := r.err(t)
			if got.Code != tc.code {
				t.Errorf("code %q, want %q (%s)", got.Code, tc.code, got.Message)
			}
			if tc.message != "" && got.Message != tc.message {
				t.Errorf("message %q, want %q", got.Message, tc.message)
			}
			if got.RequestID == "" {
				t.Error("no RequestId")
			}
		})
	}
	// Nothing was written by any refused request.
	for _, c := range []struct {
		sp store.Space
		p  string
	}{{thread, "new.txt"}, {thread, "other.txt"}, {roVol, "w.txt"}, {ghost, "x"}} {
		if _, err := e.st.Stat(context.Background(), c.sp, c.p); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s/%s after refusals: %v", c.sp.Key(), c.p, err)
		}
	}
	if g := e.download(t, thread, "exists.txt", nil); string(g.body) != "keep me" {
		t.Errorf("exists.txt = %q", g.body)
	}
	// The untampered URL still works: refusals did not use it up.
	if r := do(t, "PUT", up.URL, ct, data); r.status != 200 {
		t.Errorf("good PUT after refusals: %d %s", r.status, r.body)
	}
	// The read-only volume can still be read.
	if r := e.download(t, roVol, "ref.txt", nil); r.status != 200 {
		t.Errorf("read-only GET: %d %s", r.status, r.body)
	}
}

func TestU2_Expiry(t *testing.T) {
	clk := clock.NewFrozen(t0)
	e := newEnv(t, clk)
	e.mustUpload(t, thread, "f.txt", "", []byte("x"))
	up, _ := e.f.SignUpload(thread, "g.txt", "text/plain", 1)
	down, _ := e.f.SignDownload(thread, "f.txt")

	if err := clk.Advance(15 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if r := do(t, "GET", down.URL, nil, nil); r.status != 200 {
		t.Fatalf("at expires_at: %d %s", r.status, r.body)
	}
	if err := clk.Advance(time.Minute); err != nil { // 16 minutes after signing
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, url string
		h           map[string]string
		body        []byte
	}{
		{"GET", down.URL, nil, nil},
		{"PUT", up.URL, map[string]string{"Content-Type": "text/plain"}, []byte("y")},
	} {
		r := do(t, tc.method, tc.url, tc.h, tc.body)
		if r.status != 403 {
			t.Fatalf("%s expired: %d %s", tc.method, r.status, r.body)
		}
		if got := r.err(t); got.Code != "AccessDenied" || got.Message != "Request has expired" {
			t.Errorf("%s expired: %+v", tc.method, got)
		}
	}
	if _, err := e.st.Stat(context.Background(), thread, "g.txt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired PUT stored something: %v", err)
	}

	// A URL dated after the emulator's now is not valid yet.
	clk.Set(t0.Add(-time.Hour))
	r := do(t, "GET", down.URL, nil, nil)
	if r.status != 403 || r.err(t).Code != "AccessDenied" {
		t.Errorf("not yet valid: %d %s", r.status, r.body)
	}
}

// rawPut sends a PUT's headers and part of its body on a raw connection;
// the caller finishes (or does not finish) the body.
func rawPut(t *testing.T, signedURL string, headers map[string]string, contentLength int64) net.Conn {
	t.Helper()
	u, err := url.Parse(signedURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", u.RequestURI(), u.Host, contentLength)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	return c
}

func readResponse(t *testing.T, c net.Conn) result {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, b}
}

// TestSeedCurlWorkflow runs the seed's curl commands against the face:
// PUT with exactly the returned headers (curl adds Content-Length, and
// Expect: 100-continue for a body this size), then GET.
func TestSeedCurlWorkflow(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("no curl")
	}
	e := newEnv(t, clock.NewReal())
	data := bytes.Repeat([]byte(`{"values": [1, 2, 3, 4, 5]}`), 100000)
	file := filepath.Join(t.TempDir(), "input.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	up, err := e.f.SignUpload(thread, "input.json", "application/json", int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", up.Method, up.URL}
	for k, v := range up.Headers {
		args = append(args, "-H", k+": "+v)
	}
	args = append(args, "--data-binary", "@"+file)
	out, err := exec.Command(curl, args...).CombinedOutput()
	if err != nil || string(out) != "200" {
		t.Fatalf("curl PUT: %s %v", out, err)
	}
	down, _ := e.f.SignDownload(thread, "input.json")
	got, err := exec.Command(curl, "-sS", "--fail", down.URL).Output()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("curl GET: %d bytes, %v", len(got), err)
	}
}

// TestLongKeys documents S3's 1024-byte key limit, which gofakes3 applies
// to PUT: with the space prefix in the key, the longest Files API paths
// (P-1 allows 1024 bytes) cannot be uploaded through this face, as on S3.
func TestLongKeys(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	room := 1024 - len(thread.Key()+"/")
	// Segments of 100 bytes: a file name over 255 bytes is the host
	// filesystem's limit, not the one under test.
	seg := strings.Repeat("a", 99) + "/"
	fits := strings.Repeat(seg, room/len(seg)) + strings.Repeat("b", room%len(seg))
	e.mustUpload(t, thread, fits, "", []byte("x"))
	if g := e.download(t, thread, fits, nil); string(g.body) != "x" {
		t.Errorf("GET of a 1024-byte key: %d %q", g.status, g.body)
	}
	r := e.upload(t, thread, fits+"a", "", []byte("x"))
	if r.status != 400 || r.err(t).Code != "KeyTooLongError" {
		t.Errorf("1025-byte key: %d %s", r.status, r.body)
	}
}

func TestCORSPreflight(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	up, _ := e.f.SignUpload(thread, "b.txt", "text/plain", 1)
	h := map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}
	r := do(t, http.MethodOptions, strings.SplitN(up.URL, "?", 2)[0], h, nil)
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" || !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "PUT") {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
	// A plain OPTIONS is not a preflight and needs a signature like any request.
	if r := do(t, http.MethodOptions, strings.SplitN(up.URL, "?", 2)[0], nil, nil); r.status != 403 {
		t.Errorf("plain OPTIONS: %d", r.status)
	}
}

func TestU6_IncompleteUploadLeavesNothing(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	e.mustUpload(t, thread, "f.bin", "", []byte("old content"))
	data := bytes.Repeat([]byte("abcdefgh"), 1<<15) // 256 KiB
	s, err := e.f.SignUpload(thread, "f.bin", "application/octet-stream", int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	c := rawPut(t, s.URL, s.Headers, int64(len(data)))
	if _, err := c.Write(data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	// The client stops sending half way: the server sees the body end early.
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	r := readResponse(t, c)
	if r.status != 400 || r.err(t).Code != "IncompleteBody" {
		t.Errorf("short body: %d %s", r.status, r.body)
	}
	if g := e.download(t, thread, "f.bin", nil); string(g.body) != "old content" {
		t.Errorf("after a broken upload the file is %q", g.body)
	}
	entries, err := e.st.List(context.Background(), thread, "")
	if err != nil || len(entries) != 1 {
		t.Errorf("listing after a broken upload: %+v, %v", entries, err)
	}
	// A new upload of the same file works.
	e.mustUpload(t, thread, "f.bin", "", data)
	if g := e.download(t, thread, "f.bin", nil); !bytes.Equal(g.body, data) {
		t.Errorf("re-upload: got %d bytes", len(g.body))
	}
}

func TestPutContentMD5(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	e.mustUpload(t, thread, "m.txt", "", []byte("old"))
	data := []byte("new content")
	good := md5.Sum(data)
	bad := md5.Sum([]byte("something else"))
	for _, tc := range []struct {
		name   string
		md5    []byte
		status int
		want   string
	}{
		{"wrong digest", bad[:], 400, "old"},
		{"right digest", good[:], 200, "new content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := e.f.SignUpload(thread, "m.txt", "text/plain", int64(len(data)))
			h := map[string]string{"Content-Type": "text/plain", "Content-MD5": base64.StdEncoding.EncodeToString(tc.md5)}
			r := do(t, "PUT", s.URL, h, data)
			if r.status != tc.status {
				t.Errorf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 400 && r.err(t).Code != "BadDigest" {
				t.Errorf("code %s", r.body)
			}
			if g := e.download(t, thread, "m.txt", nil); string(g.body) != tc.want {
				t.Errorf("stored %q, want %q", g.body, tc.want)
			}
		})
	}
}

func TestStrictProviderLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		strict bool
		size   int64
		tooBig bool
	}{
		{"strict over 5 GiB", true, MaxSinglePut + 1, true},
		{"strict at 5 GiB", true, MaxSinglePut, false},
		{"lenient over 5 GiB", false, MaxSinglePut + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, clock.NewFrozen(t0), func(c *face.Config) { c.StrictProviderLimits = tc.strict })
			// Signing works whatever the size: the PUT is what S3 refuses.
			s, err := e.f.SignUpload(thread, "huge.bin", "application/octet-stream", tc.size)
			if err != nil {
				t.Fatal(err)
			}
			c := rawPut(t, s.URL, s.Headers, tc.size)
			if _, err := c.Write([]byte("only a few bytes")); err != nil {
				t.Fatal(err)
			}
			c.(*net.TCPConn).CloseWrite()
			r := readResponse(t, c)
			if tc.tooBig {
				if r.status != 400 || r.err(t).Code != "EntityTooLarge" {
					t.Errorf("got %d %s, want 400 EntityTooLarge", r.status, r.body)
				}
			} else if r.status == 400 && strings.Contains(string(r.body), "EntityTooLarge") {
				t.Errorf("refused as too large: %s", r.body)
			} else if r.status != 400 || r.err(t).Code != "IncompleteBody" {
				t.Errorf("got %d %s, want the body to be read (IncompleteBody)", r.status, r.body)
			}
			if _, err := e.st.Stat(context.Background(), thread, "huge.bin"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("stored: %v", err)
			}
		})
	}
}

func TestStalledUploadDoesNotDelayGet(t *testing.T) {
	e := newEnv(t, clock.NewReal())
	e.mustUpload(t, thread, "other.txt", "", []byte("unrelated"))
	s, _ := e.f.SignUpload(thread, "stalled.bin", "application/octet-stream", 1<<20)
	c := rawPut(t, s.URL, s.Headers, 1<<20)
	if _, err := c.Write(make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the server start reading the body

	// A lock held across the stalled body would block this GET until the
	// upload ends, i.e. forever: the timeout turns that into a failure.
	client := &http.Client{Timeout: 2 * time.Second}
	down, _ := e.f.SignDownload(thread, "other.txt")
	for i := 0; i < 3; i++ {
		start := time.Now()
		resp, err := client.Get(down.URL)
		if err != nil {
			t.Fatalf("GET during a stalled upload: %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(body) != "unrelated" {
			t.Fatalf("GET during a stalled upload: %d %q %v", resp.StatusCode, body, err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("GET took %v while an upload stalled", d)
		}
		// Writes to other files go through too.
		e.mustUpload(t, thread, fmt.Sprintf("w%d.txt", i), "", []byte("w"))
	}
	c.Close()
}

func TestConcurrentTransfers(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p := fmt.Sprintf("c/%d.bin", i)
			data := bytes.Repeat([]byte{byte(i)}, 100<<10+i)
			up, _ := e.f.SignUpload(thread, p, "application/octet-stream", int64(len(data)))
			req, _ := http.NewRequest("PUT", up.URL, bytes.NewReader(data))
			req.Header.Set("Content-Type", "application/octet-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("PUT %s: %d", p, resp.StatusCode)
				return
			}
			down, _ := e.f.SignDownload(thread, p)
			resp, err = http.Get(down.URL)
			if err != nil {
				errs <- err
				return
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got, data) {
				errs <- fmt.Errorf("GET %s: %d bytes, want %d", p, len(got), len(data))
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// presignFor signs an arbitrary request with the face's identity, as an S3
// SDK holding the same credentials would.
func presignFor(t *testing.T, method, u string, at time.Time) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signing.S3().Presign(signing.Credentials{KeyID: testKeyID, Secret: testSecret},
		signing.PresignInput{Method: method, URL: pu, Time: at, Expires: face.URLLifetime})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestListAndDelete(t *testing.T) {
	e := newEnv(t, clock.NewFrozen(t0))
	for _, p := range []string{"a.txt", "data/x.csv", "data/y.csv", "data/sub/z.csv", "data.csv"} {
		e.mustUpload(t, thread, p, "", []byte(p))
	}
	type listResult struct {
		Contents       []struct{ Key string }
		CommonPrefixes []struct{ Prefix string }
		IsTruncated    bool
	}
	list := func(query string) listResult {
		t.Helper()
		u := presignFor(t, "GET", e.srv.URL+"/baponi-local-storage?"+query, t0)
		r := do(t, "GET", u, nil, nil)
		if r.status != 200 {
			t.Fatalf("list %s: %d %s", query, r.status, r.body)
		}
		var lr listResult
		if err := xml.Unmarshal(r.body, &lr); err != nil {
			t.Fatalf("list %s: %v\n%s", query, err, r.body)
		}
		return lr
	}
	base := thread.Key() + "/"
	lr := list("prefix=" + url.QueryEscape(base+"data/") + "&delimiter=%2F")
	var keys, prefixes []string
	for _, c := range lr.Contents {
		keys = append(keys, strings.TrimPrefix(c.Key, base))
	}
	for _, c := range lr.CommonPrefixes {
		prefixes = append(prefixes, strings.TrimPrefix(c.Prefix, base))
	}
	if strings.Join(keys, ",") != "data/x.csv,data/y.csv" || strings.Join(prefixes, ",") != "data/sub/" {
		t.Errorf("delimited list: keys %v prefixes %v", keys, prefixes)
	}
	lr = list("prefix=" + url.QueryEscape(base+"data") + "&max-keys=2")
	if len(lr.Contents) != 2 || !lr.IsTruncated {
		t.Errorf("paged list: %+v", lr)
	}
	if lr := list("prefix=orgs%2F"); len(lr.Contents) != 0 {
		t.Errorf("list without a space: %+v", lr)
	}

	// DELETE through a presigned URL, then the file is gone.
	obj := e.srv.URL + "/baponi-local-storage/" + thread.ObjectKey("a.txt")
	if r := do(t, "DELETE", presignFor(t, "DELETE", obj, t0), nil, nil); r.status != 204 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if _, err := e.st.Stat(context.Background(), thread, "a.txt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after DELETE: %v", err)
	}
	// A read-only volume refuses it.
	e2obj := e.srv.URL + "/baponi-local-storage/" + roVol.ObjectKey("r.txt")
	if r := do(t, "DELETE", presignFor(t, "DELETE", e2obj, t0), nil, nil); r.status != 403 || r.err(t).Code != "AccessDenied" {
		t.Errorf("DELETE on read-only: %d %s", r.status, r.body)
	}
}

func TestExactReader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    func() io.Reader
		size    int64
		wantErr bool
	}{
		{"exact", func() io.Reader { return strings.NewReader("12345") }, 5, false},
		{"empty", func() io.Reader { return strings.NewReader("") }, 0, false},
		{"short", func() io.Reader { return strings.NewReader("123") }, 5, true},
		{"long", func() io.Reader { return strings.NewReader("1234567") }, 5, true},
		{"error at EOF", func() io.Reader {
			return io.MultiReader(strings.NewReader("12345"), errReader{errors.New("boom")})
		}, 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := io.ReadAll(&exactReader{r: tc.body(), left: tc.size})
			if (err != nil) != tc.wantErr {
				t.Errorf("ReadAll: %q, %v; want error %v", got, err, tc.wantErr)
			}
			// io.CopyN stops at size and drops an error that comes with
			// the last bytes: a failure must still show as a short copy.
			n, err := io.CopyN(io.Discard, &exactReader{r: tc.body(), left: tc.size}, tc.size)
			if failed := err != nil || n != tc.size; failed != tc.wantErr {
				t.Errorf("CopyN: %d, %v; want failure %v", n, err, tc.wantErr)
			}
		})
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// zeros is an endless body of zero bytes that allocates nothing.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestTransfersStream(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 2×128 MiB")
	}
	e := newEnv(t, clock.NewFrozen(t0))
	const size = 128 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	up, _ := e.f.SignUpload(thread, "big.bin", "application/octet-stream", size)
	req, _ := http.NewRequest("PUT", up.URL, io.LimitReader(zeros{}, size))
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	down, _ := e.f.SignDownload(thread, "big.bin")
	resp, err = http.Get(down.URL)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != size {
		t.Fatalf("GET: %d bytes, %v", n, err)
	}

	runtime.ReadMemStats(&after)
	// Client and server share this process: if any layer buffered the
	// object, at least its size would have been allocated.
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KiB in total", alloc>>10)
	if alloc > size/8 {
		t.Errorf("allocated %d MiB moving 2×%d MiB: something buffers", alloc>>20, size>>20)
	}
}

// BenchmarkPutGet moves 64 MiB objects through the face over loopback.
func BenchmarkPutGet(b *testing.B) {
	const size = 64 << 20
	log := slog.New(slog.DiscardHandler)
	clk := clock.NewFrozen(t0)
	st, err := store.Open(b.TempDir(), clk, log)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewUnstartedServer(nil)
	f, err := New(face.Config{Store: st, Clock: clk, BaseURL: "http://" + srv.Listener.Addr().String(), KeyID: testKeyID, Secret: testSecret, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	srv.Config.Handler = f
	srv.Start()
	defer srv.Close()
	b.SetBytes(2 * size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		up, _ := f.SignUpload(thread, "bench.bin", "application/octet-stream", size)
		req, _ := http.NewRequest("PUT", up.URL, io.LimitReader(zeros{}, size))
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("PUT: %v %v", resp, err)
		}
		resp.Body.Close()
		down, _ := f.SignDownload(thread, "bench.bin")
		resp, err = http.Get(down.URL)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != size {
			b.Fatalf("GET: %d %v", n, err)
		}
		resp.Body.Close()
	}
}
