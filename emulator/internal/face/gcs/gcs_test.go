package gcs

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/face/facetest"
	"github.com/localbaponi/localbaponi/emulator/internal/reqlog"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

const (
	testKeyID  = "GOOG1EXAMPLEKEYID"
	testSecret = "bGNsLXRlc3Qtc2VjcmV0"
)

var (
	thread   = store.Space{Org: "org_local", Kind: store.Thread, ID: "t1"}
	roVolume = store.Space{Org: "org_local", Kind: store.Volume, ID: "reference-data"}
	gone     = store.Space{Org: "org_local", Kind: store.Thread, ID: "gone"}
)

type env struct {
	f     *Face
	srv   *httptest.Server
	st    *store.Store
	clk   *clock.Clock
	logs  *syncBuffer
	done  chan string // "METHOD status" of every request once served
	start time.Time
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		start: facetest.Epoch,
		logs:  &syncBuffer{},
		done:  make(chan string, 100),
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fe := facetest.NewEnv(t, nil, log)
	e.st, e.clk, e.srv = fe.Store, fe.Clock, fe.Server
	var err error
	e.f, err = New(fe.Config(testKeyID, testSecret, facetest.Access(gone, roVolume), log))
	if err != nil {
		t.Fatal(err)
	}
	fe.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := reqlog.NewRecorder(w)
		e.f.ServeHTTP(rec, r)
		select {
		case e.done <- r.Method + " " + strconv.Itoa(rec.StatusOr200()):
		default:
		}
	}))
	return e
}

// newRequest builds a request with the body before the headers, as the
// refusal table reads best.
func newRequest(t *testing.T, method, u string, body []byte, headers map[string]string) *http.Request {
	return facetest.NewRequest(t, method, u, headers, body)
}

func (e *env) upload(t *testing.T, sp store.Space, path, ct string, data []byte) {
	t.Helper()
	s, err := e.f.SignUpload(sp, path, ct, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	resp, body := facetest.Do(t, s.Method, s.URL, s.Headers, data)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, body)
	}
}

type xmlError struct {
	Code    string
	Message string
	Details string
}

// wantError checks that a response is the GCS XML error code with status.
func wantError(t *testing.T, resp *http.Response, body []byte, status int, code string) xmlError {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/xml" {
		t.Fatalf("Content-Type %q, want application/xml", ct)
	}
	const prefix = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>"
	if !bytes.HasPrefix(body, []byte(prefix)) {
		t.Fatalf("body does not start with %q: %s", prefix, body)
	}
	var ge xmlError
	if err := xml.Unmarshal(body, &ge); err != nil {
		t.Fatalf("body is not XML: %v: %s", err, body)
	}
	if ge.Code != code || ge.Message == "" || ge.Details == "" {
		t.Fatalf("error %+v, want code %s with a message and details", ge, code)
	}
	return ge
}

func (e *env) wantNotStored(t *testing.T, sp store.Space, path string) {
	t.Helper()
	if _, err := e.st.Stat(context.Background(), sp, path); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Stat %s after a refused upload: %v, want ErrNotFound", path, err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	st, err := store.Open(t.TempDir(), clock.NewReal(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	good := face.Config{Store: st, Clock: clock.NewReal(), BaseURL: "http://127.0.0.1:8080", KeyID: "k", Secret: "s"}
	tests := []struct {
		name string
		edit func(*face.Config)
		ok   bool
	}{
		{"good", func(*face.Config) {}, true},
		{"trailing slash", func(c *face.Config) { c.BaseURL += "/" }, true},
		{"no store", func(c *face.Config) { c.Store = nil }, false},
		{"no clock", func(c *face.Config) { c.Clock = nil }, false},
		{"no key id", func(c *face.Config) { c.KeyID = "" }, false},
		{"no secret", func(c *face.Config) { c.Secret = "" }, false},
		{"no scheme", func(c *face.Config) { c.BaseURL = "127.0.0.1:8080" }, false},
		{"path prefix", func(c *face.Config) { c.BaseURL = "http://127.0.0.1:8080/storage" }, false},
	}
	for _, tt := range tests {
		c := good
		tt.edit(&c)
		_, err := New(c)
		if (err == nil) != tt.ok {
			t.Errorf("%s: New error %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestSignRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		sign func() error
	}{
		{"negative length", func() error { _, err := e.f.SignUpload(thread, "a.txt", "", -1); return err }},
		{"dot-dot path", func() error { _, err := e.f.SignUpload(thread, "../a.txt", "", 1); return err }},
		{"empty path", func() error { _, err := e.f.SignDownload(thread, ""); return err }},
		{"bad space id", func() error {
			_, err := e.f.SignDownload(store.Space{Org: "o", Kind: store.Thread, ID: "a/b"}, "x")
			return err
		}},
	}
	for _, tt := range tests {
		if tt.sign() == nil {
			t.Errorf("%s: signing succeeded, want an error", tt.name)
		}
	}
}

func TestU1D1SignedShape(t *testing.T) {
	e := newEnv(t)
	up, err := e.f.SignUpload(thread, "dir/in put.json", "application/json", 12)
	if err != nil {
		t.Fatal(err)
	}
	if up.Method != "PUT" || len(up.Headers) != 1 || up.Headers["Content-Type"] != "application/json" {
		t.Fatalf("upload %+v", up)
	}
	if !up.ExpiresAt.Equal(e.start.Add(15 * time.Minute)) {
		t.Fatalf("expires at %v, want %v", up.ExpiresAt, e.start.Add(15*time.Minute))
	}
	wantPrefix := e.srv.URL + "/baponi-local-storage/orgs/org_local/threads/t1/dir/in%20put.json?"
	if !strings.HasPrefix(up.URL, wantPrefix) {
		t.Fatalf("URL %s, want prefix %s", up.URL, wantPrefix)
	}
	u, _ := url.Parse(up.URL)
	q := u.Query()
	want := map[string]string{
		"X-Goog-Algorithm":     "GOOG4-HMAC-SHA256",
		"X-Goog-Credential":    testKeyID + "/20260304/auto/storage/goog4_request",
		"X-Goog-Date":          "20260304T120000Z",
		"X-Goog-Expires":       "900",
		"X-Goog-SignedHeaders": "content-length;content-type;host",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if len(q.Get("X-Goog-Signature")) != 64 {
		t.Errorf("signature %q is not 64 hex digits", q.Get("X-Goog-Signature"))
	}
	down, err := e.f.SignDownload(thread, "dir/in put.json")
	if err != nil {
		t.Fatal(err)
	}
	du, _ := url.Parse(down.URL)
	if down.Method != "GET" || down.Headers == nil || len(down.Headers) != 0 || du.Query().Get("X-Goog-SignedHeaders") != "host" {
		t.Fatalf("download %+v", down)
	}
}

func TestD3RoundTrip(t *testing.T) {
	e := newEnv(t)
	data := []byte("hello, signed world\n")
	e.upload(t, thread, "data/out put.csv", "text/csv", data)

	s, err := e.f.SignDownload(thread, "data/out put.csv")
	if err != nil {
		t.Fatal(err)
	}
	resp, body := facetest.Do(t, s.Method, s.URL, s.Headers, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("GET: %d %q, want 200 %q", resp.StatusCode, body, data)
	}
	h := resp.Header
	if h.Get("Content-Type") != "text/csv" || h.Get("Content-Length") != strconv.Itoa(len(data)) ||
		h.Get("ETag") == "" || h.Get("Last-Modified") != e.start.Format(http.TimeFormat) ||
		h.Get("X-Goog-Stored-Content-Length") != strconv.Itoa(len(data)) {
		t.Fatalf("GET headers %v", h)
	}
	// A second upload replaces the file (U-6) and changes its ETag.
	e.upload(t, thread, "data/out put.csv", "text/plain", []byte("new"))
	resp2, body2 := facetest.Do(t, s.Method, s.URL, nil, nil)
	if string(body2) != "new" || resp2.Header.Get("Content-Type") != "text/plain" || resp2.Header.Get("ETag") == h.Get("ETag") {
		t.Fatalf("after replace: %q %v", body2, resp2.Header)
	}
	// Empty files are real files.
	e.upload(t, thread, "empty", "", nil)
	s, _ = e.f.SignDownload(thread, "empty")
	resp, body = facetest.Do(t, "GET", s.URL, nil, nil)
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("empty file: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "msg=\"gcs request\"") || !strings.Contains(logs, "status=200") {
		t.Fatalf("no debug request log line in %s", logs)
	}
}

func TestPutResponse(t *testing.T) {
	e := newEnv(t)
	s, _ := e.f.SignUpload(thread, "a.bin", "", 3)
	if s.Headers["Content-Type"] != "application/octet-stream" {
		t.Fatalf("default content type: %v", s.Headers)
	}
	resp, body := facetest.Do(t, "PUT", s.URL, s.Headers, []byte("abc"))
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("ETag") == "" || resp.Header.Get("X-Goog-Stored-Content-Length") != "3" {
		t.Fatalf("PUT: %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

func TestD3Range(t *testing.T) {
	e := newEnv(t)
	data := []byte("0123456789")
	e.upload(t, thread, "r.txt", "text/plain", data)
	s, _ := e.f.SignDownload(thread, "r.txt")
	tests := []struct {
		rng    string
		status int
		body   string
		cr     string
	}{
		{"bytes=2-5", http.StatusPartialContent, "2345", "bytes 2-5/10"},
		{"bytes=-3", http.StatusPartialContent, "789", "bytes 7-9/10"},
		{"bytes=8-", http.StatusPartialContent, "89", "bytes 8-9/10"},
	}
	for _, tt := range tests {
		resp, body := facetest.Do(t, "GET", s.URL, map[string]string{"Range": tt.rng}, nil)
		if resp.StatusCode != tt.status || string(body) != tt.body || resp.Header.Get("Content-Range") != tt.cr ||
			resp.Header.Get("Content-Length") != strconv.Itoa(len(tt.body)) {
			t.Errorf("Range %s: %d %q %v", tt.rng, resp.StatusCode, body, resp.Header)
		}
	}
	resp, body := facetest.Do(t, "GET", s.URL, map[string]string{"Range": "bytes=20-30"}, nil)
	wantError(t, resp, body, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
}

func TestD3Head(t *testing.T) {
	e := newEnv(t)
	data := []byte("head me")
	e.upload(t, thread, "h.txt", "text/plain", data)

	// A URL signed for HEAD serves HEAD.
	hs, err := e.f.signer().Presign(http.MethodHead, thread, "h.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := facetest.Do(t, "HEAD", hs.URL, nil, nil)
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != strconv.Itoa(len(data)) ||
		resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("ETag") == "" {
		t.Fatalf("HEAD: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	// The signature covers the method: a GET URL does not allow HEAD.
	gs, _ := e.f.SignDownload(thread, "h.txt")
	resp, _ = facetest.Do(t, "HEAD", gs.URL, nil, nil)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/xml" {
		t.Fatalf("HEAD with a GET URL: %d %v, want 403", resp.StatusCode, resp.Header)
	}
	// HEAD of a missing object is a 404.
	ms, _ := e.f.signer().Presign(http.MethodHead, thread, "missing", nil)
	resp, _ = facetest.Do(t, "HEAD", ms.URL, nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("HEAD of a missing object: %d, want 404", resp.StatusCode)
	}
}

func TestU5Refusals(t *testing.T) {
	e := newEnv(t)
	data := []byte("exactly 20 bytes....")
	const path = "u5/file.txt"
	s, err := e.f.SignUpload(thread, path, "text/plain", int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	sig := func() string { u, _ := url.Parse(s.URL); return u.Query().Get("X-Goog-Signature") }()
	flipped := []byte(sig)
	flipped[10] = map[bool]byte{true: 'b', false: 'a'}[flipped[10] == 'a']
	tests := []struct {
		name    string
		req     func() *http.Request
		status  int
		code    string
		details string // a substring the Details must contain
	}{
		{"tampered signature", func() *http.Request {
			return newRequest(t, "PUT", facetest.SetQuery(t, s.URL, "X-Goog-Signature", string(flipped)), data, s.Headers)
		}, 403, "SignatureDoesNotMatch", ""},
		{"changed path", func() *http.Request {
			return newRequest(t, "PUT", strings.Replace(s.URL, "file.txt", "other.txt", 1), data, s.Headers)
		}, 403, "SignatureDoesNotMatch", ""},
		{"changed query (expires)", func() *http.Request {
			return newRequest(t, "PUT", facetest.SetQuery(t, s.URL, "X-Goog-Expires", "899"), data, s.Headers)
		}, 403, "SignatureDoesNotMatch", ""},
		{"added query parameter", func() *http.Request {
			return newRequest(t, "PUT", s.URL+"&generation=1", data, s.Headers)
		}, 403, "SignatureDoesNotMatch", ""},
		{"other key id", func() *http.Request {
			return newRequest(t, "PUT", facetest.SetQuery(t, s.URL, "X-Goog-Credential", "OTHER/20260304/auto/storage/goog4_request"), data, s.Headers)
		}, 403, "SignatureDoesNotMatch", "OTHER"},
		{"changed method", func() *http.Request {
			return newRequest(t, "GET", s.URL, nil, nil)
		}, 403, "SignatureDoesNotMatch", ""},
		{"changed content type", func() *http.Request {
			return newRequest(t, "PUT", s.URL, data, map[string]string{"Content-Type": "text/html"})
		}, 403, "SignatureDoesNotMatch", ""},
		{"no content type", func() *http.Request {
			return newRequest(t, "PUT", s.URL, data, nil)
		}, 403, "SignatureDoesNotMatch", ""},
		{"shorter length", func() *http.Request {
			return newRequest(t, "PUT", s.URL, data[:19], s.Headers)
		}, 403, "SignatureDoesNotMatch", ""},
		{"longer length", func() *http.Request {
			return newRequest(t, "PUT", s.URL, append(data, '!'), s.Headers)
		}, 403, "SignatureDoesNotMatch", ""},
		{"other host header", func() *http.Request {
			r := newRequest(t, "PUT", s.URL, data, s.Headers)
			r.Host = strings.Replace(r.URL.Host, "127.0.0.1", "localhost", 1)
			return r
		}, 403, "SignatureDoesNotMatch", ""},
		{"missing signature", func() *http.Request {
			return newRequest(t, "PUT", facetest.SetQuery(t, s.URL, "X-Goog-Signature", ""), data, s.Headers)
		}, 400, "MalformedSecurityHeader", "X-Goog-Signature"},
		{"missing credential", func() *http.Request {
			return newRequest(t, "PUT", facetest.SetQuery(t, s.URL, "X-Goog-Credential", ""), data, s.Headers)
		}, 400, "MalformedSecurityHeader", "X-Goog-Credential"},
		{"malformed date", func() *http.Request {
			return newRequest(t, "PUT", facetest.SetQuery(t, s.URL, "X-Goog-Date", "2026-03-04T12:00:00Z"), data, s.Headers)
		}, 400, "MalformedSecurityHeader", "X-Goog-Date"},
		{"malformed expires", func() *http.Request {
			return newRequest(t, "PUT", facetest.SetQuery(t, s.URL, "X-Goog-Expires", "soon"), data, s.Headers)
		}, 400, "MalformedSecurityHeader", "X-Goog-Expires"},
		{"expires over 7 days", func() *http.Request {
			return newRequest(t, "PUT", facetest.SetQuery(t, s.URL, "X-Goog-Expires", "604801"), data, s.Headers)
		}, 400, "MalformedSecurityHeader", "604800"},
		{"no signing parameters at all", func() *http.Request {
			return newRequest(t, "PUT", strings.Split(s.URL, "?")[0], data, s.Headers)
		}, 403, "AccessDenied", ""},
		{"chunked body", func() *http.Request {
			r := newRequest(t, "PUT", s.URL, nil, s.Headers)
			r.Body = io.NopCloser(bytes.NewReader(data))
			r.ContentLength = -1
			return r
		}, 411, "MissingContentLength", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := facetest.DoRequest(t, tt.req())
			ge := wantError(t, resp, body, tt.status, tt.code)
			if !strings.Contains(ge.Details, tt.details) {
				t.Fatalf("details %q do not mention %q", ge.Details, tt.details)
			}
			e.wantNotStored(t, thread, path)
			e.wantNotStored(t, thread, "u5/other.txt")
		})
	}
	// The untouched URL still works after all that.
	resp, body := facetest.Do(t, "PUT", s.URL, s.Headers, data)
	if resp.StatusCode != 200 {
		t.Fatalf("valid PUT: %d %s", resp.StatusCode, body)
	}
}

func TestU5ExpiredToken(t *testing.T) {
	e := newEnv(t)
	e.upload(t, thread, "x.txt", "text/plain", []byte("x"))
	up, _ := e.f.SignUpload(thread, "y.txt", "text/plain", 1)
	down, _ := e.f.SignDownload(thread, "x.txt")

	// Exactly at expires_at the URL still works (expired means now > date+expires).
	if err := e.clk.Advance(15 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if resp, body := facetest.Do(t, "GET", down.URL, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("GET at expires_at: %d %s", resp.StatusCode, body)
	}
	if err := e.clk.Advance(time.Minute); err != nil {
		t.Fatal(err)
	}
	resp, body := facetest.Do(t, "GET", down.URL, nil, nil)
	ge := wantError(t, resp, body, 400, "ExpiredToken")
	if !strings.Contains(ge.Details, "2026-03-04T12:15:00") {
		t.Fatalf("details %q do not say when it expired", ge.Details)
	}
	resp, body = facetest.Do(t, "PUT", up.URL, up.Headers, []byte("y"))
	wantError(t, resp, body, 400, "ExpiredToken")
	e.wantNotStored(t, thread, "y.txt")
}

func TestU5NotYetValid(t *testing.T) {
	e := newEnv(t)
	e.upload(t, thread, "x.txt", "text/plain", []byte("x"))
	down, _ := e.f.SignDownload(thread, "x.txt")
	e.clk.Set(e.start.Add(-time.Minute))
	resp, body := facetest.Do(t, "GET", down.URL, nil, nil)
	wantError(t, resp, body, 403, "AccessDenied")
}

func TestNoSuchKeyAndAccess(t *testing.T) {
	e := newEnv(t)
	s, _ := e.f.SignDownload(thread, "nope.txt")
	resp, body := facetest.Do(t, "GET", s.URL, nil, nil)
	wantError(t, resp, body, 404, "NoSuchKey")

	// A directory is not an object.
	e.upload(t, thread, "dir/f", "text/plain", []byte("f"))
	s, _ = e.f.SignDownload(thread, "dir")
	resp, body = facetest.Do(t, "GET", s.URL, nil, nil)
	wantError(t, resp, body, 404, "NoSuchKey")

	// A space the control plane says is gone.
	s, _ = e.f.SignDownload(gone, "f")
	resp, body = facetest.Do(t, "GET", s.URL, nil, nil)
	wantError(t, resp, body, 404, "NoSuchKey")
	s, _ = e.f.SignUpload(gone, "f", "text/plain", 1)
	resp, body = facetest.Do(t, "PUT", s.URL, s.Headers, []byte("f"))
	wantError(t, resp, body, 404, "NoSuchBucket")
	e.wantNotStored(t, gone, "f")

	// A read-only volume: reads work, writes are refused and store nothing.
	if _, err := e.st.Put(context.Background(), roVolume, "seed.txt", "text/plain", 4, strings.NewReader("seed")); err != nil {
		t.Fatal(err)
	}
	s, _ = e.f.SignUpload(roVolume, "new.txt", "text/plain", 3)
	resp, body = facetest.Do(t, "PUT", s.URL, s.Headers, []byte("new"))
	wantError(t, resp, body, 403, "AccessDenied")
	e.wantNotStored(t, roVolume, "new.txt")
	s, _ = e.f.SignDownload(roVolume, "seed.txt")
	if resp, body = facetest.Do(t, "GET", s.URL, nil, nil); resp.StatusCode != 200 || string(body) != "seed" {
		t.Fatalf("GET from a read-only volume: %d %q", resp.StatusCode, body)
	}
}

func TestU6InterruptedUploadStoresNothing(t *testing.T) {
	e := newEnv(t)
	s, _ := e.f.SignUpload(thread, "cut.bin", "application/octet-stream", 1000)
	u, _ := url.Parse(s.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n", u.RequestURI(), u.Host)
	conn.Write(bytes.Repeat([]byte("a"), 300))
	conn.Close()
	select {
	case got := <-e.done:
		if !strings.HasPrefix(got, "PUT 4") {
			t.Fatalf("interrupted PUT answered %s, want a 4xx", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the interrupted PUT was never finished")
	}
	e.wantNotStored(t, thread, "cut.bin")
	// A full upload with the same URL still works.
	resp, body := facetest.DoRequest(t, newRequest(t, "PUT", s.URL, bytes.Repeat([]byte("a"), 1000), s.Headers))
	if resp.StatusCode != 200 {
		t.Fatalf("PUT after an interrupted one: %d %s", resp.StatusCode, body)
	}
}

func TestConcurrentRoundTrips(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			p := fmt.Sprintf("c/%d.txt", i)
			data := bytes.Repeat([]byte{byte('a' + i)}, 1000+i)
			up, err := e.f.SignUpload(thread, p, "text/plain", int64(len(data)))
			if err != nil {
				errs <- err
				return
			}
			req, _ := http.NewRequest("PUT", up.URL, bytes.NewReader(data))
			req.Header.Set("Content-Type", "text/plain")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			down, _ := e.f.SignDownload(thread, p)
			resp, err = http.Get(down.URL)
			if err != nil {
				errs <- err
				return
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got, data) {
				errs <- fmt.Errorf("%s: got %d bytes, want %d", p, len(got), len(data))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// python runs testdata/gcs_v4_sign.py, an independent implementation of
// Google's published V4 signing algorithm, with req as its JSON input.
func python(t *testing.T, req map[string]any) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: cannot check against the independent V4 signer")
	}
	in, _ := json.Marshal(req)
	cmd := exec.Command(py, "testdata/gcs_v4_sign.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python signer: %v: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func TestFidelityPythonSignedURLIsAccepted(t *testing.T) {
	e := newEnv(t)
	const path = "données/a b+c~d.txt"
	data := []byte("signed elsewhere")
	if _, err := e.st.Put(context.Background(), thread, path, "text/plain", int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(e.srv.URL)
	signed := python(t, map[string]any{
		"mode": "sign", "method": "GET", "scheme": u.Scheme, "host": u.Host,
		"bucket": face.Bucket, "object": thread.ObjectKey(path),
		"key_id": testKeyID, "secret": testSecret,
		"time": e.clk.Now().Format("20060102T150405Z"), "expires": 900,
	})
	resp, body := facetest.Do(t, "GET", signed, nil, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Fatalf("GET of the python-signed URL %s: %d %s", signed, resp.StatusCode, body)
	}
	// The same signer with the wrong secret is refused.
	bad := python(t, map[string]any{
		"mode": "sign", "method": "GET", "scheme": u.Scheme, "host": u.Host,
		"bucket": face.Bucket, "object": thread.ObjectKey(path),
		"key_id": testKeyID, "secret": "wrong",
		"time": e.clk.Now().Format("20060102T150405Z"), "expires": 900,
	})
	resp, body = facetest.Do(t, "GET", bad, nil, nil)
	wantError(t, resp, body, 403, "SignatureDoesNotMatch")
	// A python-signed upload with content type and length works too.
	up := python(t, map[string]any{
		"mode": "sign", "method": "PUT", "scheme": u.Scheme, "host": u.Host,
		"bucket": face.Bucket, "object": thread.ObjectKey("py/up.txt"),
		"key_id": testKeyID, "secret": testSecret,
		"time": e.clk.Now().Format("20060102T150405Z"), "expires": 60,
		"headers": map[string]string{"Content-Type": "text/plain", "Content-Length": "2"},
	})
	resp, body = facetest.Do(t, "PUT", up, map[string]string{"Content-Type": "text/plain"}, []byte("py"))
	if resp.StatusCode != 200 {
		t.Fatalf("PUT of the python-signed URL: %d %s", resp.StatusCode, body)
	}
}

func TestFidelityFaceSignatureMatchesPython(t *testing.T) {
	e := newEnv(t)
	const path = "données/a b+c~d (1).json"
	up, err := e.f.SignUpload(thread, path, "application/json", 1234)
	if err != nil {
		t.Fatal(err)
	}
	down, err := e.f.SignDownload(thread, path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		s       face.Signed
		headers map[string]string
	}{
		{"upload", up, map[string]string{"Content-Type": "application/json", "Content-Length": "1234"}},
		{"download", down, map[string]string{}},
	}
	for _, tt := range tests {
		got := python(t, map[string]any{
			"mode": "signature", "method": tt.s.Method, "url": tt.s.URL, "secret": testSecret, "headers": tt.headers,
		})
		u, _ := url.Parse(tt.s.URL)
		if want := u.Query().Get("X-Goog-Signature"); got != want {
			t.Errorf("%s: python computes %s, the face signed %s (URL %s)", tt.name, got, want, tt.s.URL)
		}
	}
}
