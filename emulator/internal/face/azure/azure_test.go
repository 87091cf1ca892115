package azure

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/face/facetest"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

const (
	testAccount = "devstoreaccount1"
	testSecret  = "emulator-signing-secret"
)

var (
	testEpoch = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	space     = store.Space{Org: "org_local", Kind: store.Thread, ID: "t1"}
)

// env is a face served over real HTTP on loopback with a real store.
type env struct {
	t    *testing.T
	clk  *clock.Clock
	st   *store.Store
	face *Face
	base string
}

// newEnv starts a face; mod may adjust the config before New.
func newEnv(t *testing.T, mod func(*face.Config)) *env {
	t.Helper()
	fe := facetest.NewEnv(t, clock.NewFrozen(testEpoch), nil)
	cfg := fe.Config(testAccount, testSecret, nil, nil)
	if mod != nil {
		mod(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	fe.Serve(f)
	return &env{t: t, clk: fe.Clock, st: fe.Store, face: f, base: fe.URL}
}

func (e *env) signUpload(path, ct string, n int64) face.Signed {
	e.t.Helper()
	s, err := e.face.SignUpload(space, path, ct, n)
	if err != nil {
		e.t.Fatalf("SignUpload: %v", err)
	}
	return s
}

func (e *env) signDownload(path string) face.Signed {
	e.t.Helper()
	s, err := e.face.SignDownload(space, path)
	if err != nil {
		e.t.Fatalf("SignDownload: %v", err)
	}
	return s
}

// do sends one request and returns the response with its body read.
func do(t *testing.T, method, u string, hdr map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	return facetest.Do(t, method, u, hdr, body)
}

// put uploads data through a signed upload URL with exactly its headers.
func (e *env) put(s face.Signed, data []byte) (*http.Response, []byte) {
	e.t.Helper()
	return do(e.t, s.Method, s.URL, s.Headers, data)
}

// upload stores data at path through the face and fails the test otherwise.
func (e *env) upload(path, ct string, data []byte) {
	e.t.Helper()
	resp, body := e.put(e.signUpload(path, ct, int64(len(data))), data)
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("upload %s: status %d, body %s", path, resp.StatusCode, body)
	}
}

type xmlError struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
	Detail  string   `xml:"AuthenticationErrorDetail"`
	Header  string   `xml:"HeaderName"`
}

// checkRefusal asserts an Azure-format refusal: status, code in the body and
// in x-ms-error-code, the RequestId/Time lines, and a detail substring.
func checkRefusal(t *testing.T, resp *http.Response, body []byte, status int, code, detail string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if got := resp.Header.Get("x-ms-error-code"); got != code {
		t.Errorf("x-ms-error-code = %q, want %q", got, code)
	}
	if resp.Header.Get("x-ms-request-id") == "" || resp.Header.Get("x-ms-version") == "" {
		t.Errorf("missing x-ms-request-id or x-ms-version: %v", resp.Header)
	}
	if resp.Request.Method == http.MethodHead {
		if len(body) != 0 {
			t.Errorf("HEAD refusal has a body: %q", body)
		}
		return
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/xml" {
		t.Errorf("Content-Type = %q, want application/xml", ct)
	}
	if !bytes.HasPrefix(body, []byte(`<?xml version="1.0" encoding="utf-8"?><Error><Code>`)) {
		t.Errorf("body does not start like Azure's: %s", body)
	}
	var xe xmlError
	if err := xml.Unmarshal(body, &xe); err != nil {
		t.Fatalf("body is not XML: %v: %s", err, body)
	}
	if xe.Code != code {
		t.Errorf("Code = %q, want %q", xe.Code, code)
	}
	reqID := resp.Header.Get("x-ms-request-id")
	if !strings.Contains(xe.Message, "\nRequestId:"+reqID+"\nTime:") {
		t.Errorf("Message lacks the RequestId/Time lines: %q", xe.Message)
	}
	if detail != "" && !strings.Contains(xe.Detail+xe.Header, detail) {
		t.Errorf("detail %q (header %q) does not contain %q", xe.Detail, xe.Header, detail)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	clk := clock.NewFrozen(testEpoch)
	st, err := store.Open(t.TempDir(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	good := face.Config{Store: st, Clock: clk, BaseURL: "http://127.0.0.1:1", KeyID: testAccount, Secret: testSecret}
	tests := []struct {
		name string
		mod  func(*face.Config)
		ok   bool
	}{
		{"good", func(*face.Config) {}, true},
		{"trailing slash trimmed", func(c *face.Config) { c.BaseURL += "/" }, true},
		{"nil store", func(c *face.Config) { c.Store = nil }, false},
		{"nil clock", func(c *face.Config) { c.Clock = nil }, false},
		{"empty account", func(c *face.Config) { c.KeyID = "" }, false},
		{"account with slash", func(c *face.Config) { c.KeyID = "a/b" }, false},
		{"empty secret", func(c *face.Config) { c.Secret = "" }, false},
		{"relative base URL", func(c *face.Config) { c.BaseURL = "/x" }, false},
		{"ftp base URL", func(c *face.Config) { c.BaseURL = "ftp://h" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.mod(&cfg)
			f, err := New(cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("New: err = %v, want ok = %v", err, tc.ok)
			}
			if tc.ok && f.Name() != "azure" {
				t.Errorf("Name = %q", f.Name())
			}
		})
	}
}

func TestSignedURLShape_U1_U2_D1(t *testing.T) {
	e := newEnv(t, nil)
	up := e.signUpload("dir/a b+c.txt", "text/plain", 5)
	u, err := url.Parse(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	if want := e.base + "/" + testAccount + "/" + face.Bucket + "/orgs/org_local/threads/t1/dir/a%20b+c.txt?"; !strings.HasPrefix(up.URL, want) {
		t.Errorf("URL = %s, want prefix %s", up.URL, want)
	}
	if u.Path != "/"+testAccount+"/"+face.Bucket+"/orgs/org_local/threads/t1/dir/a b+c.txt" {
		t.Errorf("decoded path = %q", u.Path)
	}
	q := u.Query()
	want := map[string]string{
		"sv": Version, "st": "2026-03-14T15:09:26Z", "se": "2026-03-14T15:24:26Z", "sr": "b", "sp": "cw",
		"si": "localbaponi.put.5." + typeHash("text/plain"),
	}
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if q.Get("sig") == "" || len(q) != 7 {
		t.Errorf("query = %v, want sv st se si sr sp sig", q)
	}
	if up.Method != "PUT" || !up.ExpiresAt.Equal(testEpoch.Add(face.URLLifetime)) {
		t.Errorf("Method %q ExpiresAt %v", up.Method, up.ExpiresAt)
	}
	if len(up.Headers) != 2 || up.Headers["x-ms-blob-type"] != "BlockBlob" || up.Headers["Content-Type"] != "text/plain" {
		t.Errorf("upload headers = %v", up.Headers)
	}
	if def := e.signUpload("x", "", 1); def.Headers["Content-Type"] != "application/octet-stream" {
		t.Errorf("default Content-Type = %q", def.Headers["Content-Type"])
	}

	down := e.signDownload("dir/a b+c.txt")
	dq, _ := url.Parse(down.URL)
	if dq.Query().Get("sp") != "r" || down.Method != "GET" || down.Headers == nil || len(down.Headers) != 0 {
		t.Errorf("download: sp %q method %q headers %v", dq.Query().Get("sp"), down.Method, down.Headers)
	}
}

func TestSignRejectsInvalidInput(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name string
		sp   store.Space
		path string
		n    int64
	}{
		{"leading slash", space, "/a", 1},
		{"dot-dot", space, "a/../b", 1},
		{"empty path", space, "", 1},
		{"bad thread id", store.Space{Org: "org_local", Kind: store.Thread, ID: "a/b"}, "x", 1},
		{"negative length", space, "x", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.face.SignUpload(tc.sp, tc.path, "text/plain", tc.n); err == nil {
				t.Error("SignUpload accepted it")
			}
			if tc.n >= 0 {
				if _, err := e.face.SignDownload(tc.sp, tc.path); err == nil {
					t.Error("SignDownload accepted it")
				}
			}
		})
	}
}

func TestRoundTrip_U5_D3(t *testing.T) {
	e := newEnv(t, nil)
	data := []byte(`{"hello": "azure"}`)
	resp, body := e.put(e.signUpload("data/in.json", "application/json", int64(len(data))), data)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT status %d: %s", resp.StatusCode, body)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" || resp.Header.Get("Last-Modified") == "" || resp.Header.Get("x-ms-request-id") == "" || resp.Header.Get("x-ms-version") != Version {
		t.Errorf("PUT headers: %v", resp.Header)
	}

	down := e.signDownload("data/in.json")
	resp, body = do(t, "GET", down.URL, nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("GET status %d body %q", resp.StatusCode, body)
	}
	for k, v := range map[string]string{
		"Content-Type": "application/json", "Content-Length": strconv.Itoa(len(data)), "ETag": etag,
		"x-ms-blob-type": "BlockBlob", "Accept-Ranges": "bytes",
		"Last-Modified": testEpoch.Format(http.TimeFormat),
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("GET %s = %q, want %q", k, got, v)
		}
	}

	resp, body = do(t, "HEAD", down.URL, nil, nil)
	if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.ContentLength != int64(len(data)) ||
		resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("ETag") != etag {
		t.Errorf("HEAD status %d len %d headers %v", resp.StatusCode, resp.ContentLength, resp.Header)
	}

	// Conditional reads, as the SDK's retry reader sends them.
	resp, _ = do(t, "GET", down.URL, map[string]string{"If-None-Match": etag}, nil)
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", resp.StatusCode)
	}
	resp, body = do(t, "GET", down.URL, map[string]string{"If-Match": `"other"`}, nil)
	checkRefusal(t, resp, body, http.StatusPreconditionFailed, "ConditionNotMet", "")

	// A second upload replaces the first.
	e.clk.Advance(time.Minute)
	data2 := []byte("replaced")
	e.upload("data/in.json", "text/plain", data2)
	resp, body = do(t, "GET", e.signDownload("data/in.json").URL, nil, nil)
	if !bytes.Equal(body, data2) || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("after replace: %q %q", body, resp.Header.Get("Content-Type"))
	}

	// An empty file is a file.
	e.upload("empty", "application/octet-stream", []byte{})
	resp, body = do(t, "GET", e.signDownload("empty").URL, nil, nil)
	if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.Header.Get("Content-Length") != "0" {
		t.Errorf("empty: status %d body %q", resp.StatusCode, body)
	}
}

func TestRange_D3(t *testing.T) {
	e := newEnv(t, nil)
	data := []byte("0123456789")
	e.upload("r.bin", "application/octet-stream", data)
	u := e.signDownload("r.bin").URL
	tests := []struct {
		name   string
		hdr    map[string]string
		status int
		body   string
		crange string
	}{
		{"closed", map[string]string{"Range": "bytes=2-5"}, 206, "2345", "bytes 2-5/10"},
		{"open", map[string]string{"Range": "bytes=7-"}, 206, "789", "bytes 7-9/10"},
		{"suffix", map[string]string{"Range": "bytes=-3"}, 206, "789", "bytes 7-9/10"},
		{"end past size", map[string]string{"Range": "bytes=8-100"}, 206, "89", "bytes 8-9/10"},
		{"x-ms-range", map[string]string{"x-ms-range": "bytes=0-0"}, 206, "0", "bytes 0-0/10"},
		{"x-ms-range wins", map[string]string{"x-ms-range": "bytes=1-2", "Range": "bytes=5-6"}, 206, "12", "bytes 1-2/10"},
		{"malformed Range ignored", map[string]string{"Range": "bytes=5-2"}, 200, "0123456789", ""},
		{"multiple ranges ignored", map[string]string{"Range": "bytes=0-1,3-4"}, 200, "0123456789", ""},
		{"unsatisfiable", map[string]string{"Range": "bytes=10-"}, 416, "", "bytes */10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, "GET", u, tc.hdr, nil)
			if tc.status == 416 {
				checkRefusal(t, resp, body, 416, "InvalidRange", "")
			} else if resp.StatusCode != tc.status || string(body) != tc.body {
				t.Fatalf("status %d body %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
			if got := resp.Header.Get("Content-Range"); got != tc.crange {
				t.Errorf("Content-Range = %q, want %q", got, tc.crange)
			}
			if tc.status != 416 && resp.Header.Get("Content-Length") != strconv.Itoa(len(tc.body)) {
				t.Errorf("Content-Length = %q", resp.Header.Get("Content-Length"))
			}
		})
	}
	resp, body := do(t, "GET", u, map[string]string{"x-ms-range": "bytes=oops"}, nil)
	checkRefusal(t, resp, body, 400, "InvalidHeaderValue", "x-ms-range")
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		spec       string
		size       int64
		start, len int64
		res        rangeResult
	}{
		{"bytes=0-0", 1, 0, 1, rangeOK},
		{"bytes=0-", 0, 0, 0, rangeUnsatisfiable},
		{"bytes=-0", 5, 0, 0, rangeUnsatisfiable},
		{"bytes=-9", 5, 0, 5, rangeOK},
		{"bytes=3-1", 5, 0, 0, rangeMalformed},
		{"items=0-1", 5, 0, 0, rangeMalformed},
		{"bytes=a-1", 5, 0, 0, rangeMalformed},
		{"bytes=1", 5, 0, 0, rangeMalformed},
		{"bytes=-", 5, 0, 0, rangeMalformed},
		{"bytes=4-4", 5, 4, 1, rangeOK},
		{"bytes=5-5", 5, 0, 0, rangeUnsatisfiable},
	}
	for _, tc := range tests {
		s, n, res := parseRange(tc.spec, tc.size)
		if res != tc.res || res == rangeOK && (s != tc.start || n != tc.len) {
			t.Errorf("parseRange(%q, %d) = %d, %d, %d; want %d, %d, %d", tc.spec, tc.size, s, n, res, tc.start, tc.len, tc.res)
		}
	}
}

func TestRefusals_U5(t *testing.T) {
	e := newEnv(t, nil)
	data := []byte("hello")
	e.upload("exists.txt", "text/plain", data)
	e.upload("dir/f.txt", "text/plain", data)
	down := e.signDownload("exists.txt").URL
	up := e.signUpload("new.txt", "text/plain", 5)
	upHdr := up.Headers

	flipSig := func(u string) string {
		p, _ := url.Parse(u)
		sig := []byte(p.Query().Get("sig"))
		if sig[0] == 'A' {
			sig[0] = 'B'
		} else {
			sig[0] = 'A'
		}
		return facetest.SetQuery(t, u, "sig", string(sig))
	}
	otherPath := strings.Replace(down, "exists.txt", "other.txt", 1)

	tests := []struct {
		name   string
		method string
		url    string
		hdr    map[string]string
		body   []byte
		status int
		code   string
		detail string
	}{
		{"tampered signature", "GET", flipSig(down), nil, nil, 403, "AuthenticationFailed", "Signature did not match"},
		{"signature not base64", "GET", facetest.SetQuery(t, down, "sig", "%%%"), nil, nil, 403, "AuthenticationFailed", "Signature did not match"},
		{"extended expiry", "GET", facetest.SetQuery(t, down, "se", "2030-01-01T00:00:00Z"), nil, nil, 403, "AuthenticationFailed", "Signature did not match"},
		{"widened permission", "PUT", facetest.SetQuery(t, down, "sp", "rw"), upHdr, data, 403, "AuthenticationFailed", "Signature did not match"},
		{"changed blob", "GET", otherPath, nil, nil, 403, "AuthenticationFailed", "String to sign used was r\n"},
		{"changed account", "GET", strings.Replace(down, "/"+testAccount+"/", "/otheraccount/", 1), nil, nil, 403, "AuthenticationFailed", "account in the URL"},
		{"changed version", "GET", facetest.SetQuery(t, down, "sv", "2021-06-08"), nil, nil, 403, "AuthenticationFailed", "Signature did not match"},
		{"old version", "GET", facetest.SetQuery(t, down, "sv", "2017-07-29"), nil, nil, 403, "AuthenticationFailed", "older than 2018-11-09"},
		{"missing sig", "GET", facetest.SetQuery(t, down, "sig", ""), nil, nil, 403, "AuthenticationFailed", "sig is mandatory"},
		{"missing se", "GET", facetest.SetQuery(t, down, "se", ""), nil, nil, 403, "AuthenticationFailed", "se is mandatory"},
		{"missing sp", "GET", facetest.SetQuery(t, down, "sp", ""), nil, nil, 403, "AuthenticationFailed", "sp is mandatory"},
		{"malformed se", "GET", facetest.SetQuery(t, down, "se", "tomorrow"), nil, nil, 403, "AuthenticationFailed", "se=\"tomorrow\""},
		{"stored policy", "GET", facetest.SetQuery(t, down, "si", "policy1"), nil, nil, 403, "AuthenticationFailed", "stored access policy"},
		{"directory SAS", "GET", facetest.SetQuery(t, down, "sr", "d"), nil, nil, 403, "AuthenticationFailed", "sr=d"},
		{"anonymous", "GET", strings.SplitN(down, "?", 2)[0], nil, nil, 404, "ResourceNotFound", ""},
		{"shared key header", "GET", strings.SplitN(down, "?", 2)[0], map[string]string{"Authorization": "SharedKey a:b"}, nil, 403, "AuthenticationFailed", "SAS only"},
		{"PUT with read SAS", "PUT", down, upHdr, data, 403, "AuthorizationPermissionMismatch", ""},
		{"GET with write SAS", "GET", up.URL, nil, nil, 403, "AuthorizationPermissionMismatch", ""},
		{"HEAD with write SAS", "HEAD", up.URL, nil, nil, 403, "AuthorizationPermissionMismatch", ""},
		{"DELETE with read SAS", "DELETE", down, nil, nil, 403, "AuthorizationPermissionMismatch", ""},
		{"POST", "POST", down, nil, nil, 405, "UnsupportedHttpVerb", ""},
		{"no blob-type header", "PUT", up.URL, map[string]string{"Content-Type": "text/plain"}, data, 400, "MissingRequiredHeader", "x-ms-blob-type"},
		{"page blob", "PUT", up.URL, map[string]string{"Content-Type": "text/plain", "x-ms-blob-type": "PageBlob"}, data, 400, "InvalidHeaderValue", "x-ms-blob-type"},
		{"wrong length", "PUT", up.URL, upHdr, []byte("hello!"), 403, "AuthenticationFailed", "exactly 5 bytes"},
		{"wrong content type", "PUT", up.URL, map[string]string{"Content-Type": "text/html", "x-ms-blob-type": "BlockBlob"}, data, 403, "AuthenticationFailed", `content type "text/html"`},
		{"put block", "PUT", up.URL + "&comp=block&blockid=AAAA", upHdr, data, 400, "InvalidQueryParameterValue", ""},
		{"missing blob", "GET", e.signDownload("nope.txt").URL, nil, nil, 404, "BlobNotFound", ""},
		{"missing blob HEAD", "HEAD", e.signDownload("nope.txt").URL, nil, nil, 404, "BlobNotFound", ""},
		{"directory is not a blob", "GET", e.signDownload("dir").URL, nil, nil, 404, "BlobNotFound", ""},
		{"no blob in path", "GET", e.base + "/" + testAccount + "/" + face.Bucket, nil, nil, 400, "InvalidUri", ""},
		{"root", "GET", e.base + "/", nil, nil, 400, "InvalidUri", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, tc.method, tc.url, tc.hdr, tc.body)
			checkRefusal(t, resp, body, tc.status, tc.code, tc.detail)
		})
	}
	// None of the refused PUTs stored anything, and the read-only URL did
	// not overwrite exists.txt.
	if _, err := e.st.Stat(t.Context(), space, "new.txt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("new.txt after refused PUTs: %v", err)
	}
	resp, body := do(t, "GET", down, nil, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Errorf("exists.txt changed: %d %q", resp.StatusCode, body)
	}
	// The upload URL still works with the right request.
	if resp, body := e.put(up, data); resp.StatusCode != http.StatusCreated {
		t.Errorf("valid PUT after refusals: %d %s", resp.StatusCode, body)
	}
}

func TestExpiry_U2_U5(t *testing.T) {
	e := newEnv(t, nil)
	e.upload("a.txt", "text/plain", []byte("abc"))
	down := e.signDownload("a.txt")
	up := e.signUpload("b.txt", "text/plain", 3)

	// Valid up to and including se.
	e.clk.Advance(face.URLLifetime)
	if resp, body := do(t, "GET", down.URL, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("GET at expiry instant: %d %s", resp.StatusCode, body)
	}
	e.clk.Advance(time.Minute) // 16 minutes after issue
	resp, body := do(t, "GET", down.URL, nil, nil)
	checkRefusal(t, resp, body, 403, "AuthenticationFailed", "Signature not valid in the specified time frame")
	resp, body = e.put(up, []byte("abc"))
	checkRefusal(t, resp, body, 403, "AuthenticationFailed", "Current [Sat, 14 Mar 2026 15:25:26 GMT]")
	resp, body = do(t, "HEAD", down.URL, nil, nil)
	checkRefusal(t, resp, body, 403, "AuthenticationFailed", "")
	if _, err := e.st.Stat(t.Context(), space, "b.txt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired PUT stored something: %v", err)
	}

	// A URL is not valid before its start either (clock set backwards).
	e.clk.Set(testEpoch.Add(-time.Second))
	resp, body = do(t, "GET", down.URL, nil, nil)
	checkRefusal(t, resp, body, 403, "AuthenticationFailed", "Signature not valid in the specified time frame")
}

// Issue 8 defect 7: two upload URLs for one path issued in the same second
// with lengths 10 and 2000 were byte-identical, so the 10-byte URL accepted
// 2000 bytes; and after a restart a 10-byte URL accepted 5000 bytes of
// another type. The length and type are now in the signed identifier.
func TestSameInstantUploadsKeepTheirLengths_U5(t *testing.T) {
	e := newEnv(t, nil)
	a := e.signUpload("same.txt", "text/plain", 10)
	b := e.signUpload("same.txt", "text/plain", 2000)
	c := e.signUpload("same.txt", "text/csv", 10)
	if a.URL == b.URL || a.URL == c.URL {
		t.Fatalf("URLs for other lengths or types are identical:\n%s\n%s\n%s", a.URL, b.URL, c.URL)
	}
	resp, body := e.put(a, bytes.Repeat([]byte("x"), 2000))
	checkRefusal(t, resp, body, 403, "AuthenticationFailed", "Content-Length 2000")
	resp, body = e.put(withHeader(a, "Content-Type", "text/csv"), []byte("0123456789"))
	checkRefusal(t, resp, body, 403, "AuthenticationFailed", "content type")
	if resp, body := e.put(a, []byte("0123456789")); resp.StatusCode != http.StatusCreated {
		t.Errorf("PUT of the issued length: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.put(b, bytes.Repeat([]byte("y"), 2000)); resp.StatusCode != http.StatusCreated {
		t.Errorf("PUT of the other URL's length: %d %s", resp.StatusCode, body)
	}

	// Removing or changing the signed identifier breaks the signature.
	for _, u := range []string{facetest.SetQuery(t, a.URL, "si", ""), facetest.SetQuery(t, a.URL, "si", bindingPrefix+"2000."+typeHash("text/plain"))} {
		resp, body := e.put(face.Signed{URL: u, Method: "PUT", Headers: a.Headers}, bytes.Repeat([]byte("z"), 2000))
		checkRefusal(t, resp, body, 403, "AuthenticationFailed", "")
	}
}

// The binding needs no state: a face restarted with the same key (a new
// Face over the same store) still holds a URL to its length and type.
func TestUploadBindingSurvivesRestart_U5(t *testing.T) {
	e := newEnv(t, nil)
	a := e.signUpload("restart.txt", "text/plain", 10)
	f2, err := New(face.Config{Store: e.st, Clock: e.clk, BaseURL: e.base, KeyID: testAccount, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f2)
	defer srv.Close()
	moved := face.Signed{URL: srv.URL + strings.TrimPrefix(a.URL, e.base), Method: "PUT", Headers: a.Headers}
	resp, body := e.put(withHeader(moved, "Content-Type", "application/json"), bytes.Repeat([]byte("x"), 5000))
	checkRefusal(t, resp, body, 403, "AuthenticationFailed", "Content-Length 5000")
	if resp, body := e.put(moved, []byte("0123456789")); resp.StatusCode != http.StatusCreated {
		t.Errorf("restarted face refused the issued upload: %d %s", resp.StatusCode, body)
	}
}

func withHeader(s face.Signed, k, v string) face.Signed {
	h := map[string]string{}
	for a, b := range s.Headers {
		h[a] = b
	}
	h[k] = v
	s.Headers = h
	return s
}

// rawPut sends a PUT whose headers announce length bytes but whose body is
// body, then half-closes the connection, and returns the status line (or ""
// if the server closed without answering).
func rawPut(t *testing.T, base string, s face.Signed, length int64, body []byte) string {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", u.RequestURI(), u.Host, length)
	for k, v := range s.Headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	if _, err := conn.Write(append([]byte(b.String()), body...)); err != nil {
		t.Fatal(err)
	}
	_ = conn.(*net.TCPConn).CloseWrite()
	line, _ := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line)
}

func TestShortBodyStoresNothing_U6(t *testing.T) {
	e := newEnv(t, nil)
	e.upload("keep.txt", "text/plain", []byte("old content"))
	s := e.signUpload("keep.txt", "text/plain", 10)
	status := rawPut(t, e.base, s, 10, []byte("short"))
	if strings.Contains(status, " 201 ") {
		t.Fatalf("short body accepted: %q", status)
	}
	resp, body := do(t, "GET", e.signDownload("keep.txt").URL, nil, nil)
	if resp.StatusCode != 200 || string(body) != "old content" {
		t.Errorf("earlier file changed after a broken upload: %d %q", resp.StatusCode, body)
	}
	s = e.signUpload("fresh.txt", "text/plain", 10)
	rawPut(t, e.base, s, 10, []byte("short"))
	if _, err := e.st.Stat(t.Context(), space, "fresh.txt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("broken upload left a file: %v", err)
	}
}

func TestChunkedPutRefused(t *testing.T) {
	e := newEnv(t, nil)
	s := e.signUpload("c.txt", "text/plain", 3)
	req, err := http.NewRequest("PUT", s.URL, io.NopCloser(strings.NewReader("abc")))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1 // chunked
	for k, v := range s.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	checkRefusal(t, resp, body, http.StatusLengthRequired, "MissingContentLengthHeader", "")
}

func TestAccess(t *testing.T) {
	var mu sync.Mutex
	var verdict error
	e := newEnv(t, func(c *face.Config) {
		c.Access = func(sp store.Space, write bool) error {
			mu.Lock()
			defer mu.Unlock()
			if sp != space {
				return fmt.Errorf("unexpected space %v", sp)
			}
			if write && errors.Is(verdict, face.ErrReadOnly) || errors.Is(verdict, face.ErrNoSpace) {
				return fmt.Errorf("access: %w", verdict)
			}
			return nil
		}
	})
	set := func(err error) { mu.Lock(); verdict = err; mu.Unlock() }
	e.upload("f.txt", "text/plain", []byte("abc"))
	up := e.signUpload("f.txt", "text/plain", 3)
	down := e.signDownload("f.txt")

	set(face.ErrReadOnly)
	resp, body := e.put(up, []byte("xyz"))
	checkRefusal(t, resp, body, 403, "AuthorizationPermissionMismatch", "")
	if resp, body := do(t, "GET", down.URL, nil, nil); resp.StatusCode != 200 || string(body) != "abc" {
		t.Errorf("read of a read-only space: %d %q", resp.StatusCode, body)
	}

	set(face.ErrNoSpace)
	resp, body = do(t, "GET", down.URL, nil, nil)
	checkRefusal(t, resp, body, 404, "BlobNotFound", "")
	resp, body = e.put(up, []byte("xyz"))
	checkRefusal(t, resp, body, 404, "ContainerNotFound", "")
}

func TestStrictProviderLimits(t *testing.T) {
	e := newEnv(t, func(c *face.Config) { c.StrictProviderLimits = true })
	s := e.signUpload("huge.bin", "application/octet-stream", MaxPutBlobBytes+1)
	// Only the headers are sent: the refusal must come before the body.
	status := rawPut(t, e.base, s, MaxPutBlobBytes+1, nil)
	if !strings.HasPrefix(status, "HTTP/1.1 413 ") {
		t.Errorf("status line %q, want 413", status)
	}
}

func TestCreateOnlyAndConditionalPut(t *testing.T) {
	e := newEnv(t, nil)
	e.upload("x.txt", "text/plain", []byte("one"))
	up := e.signUpload("x.txt", "text/plain", 3)
	hdr := map[string]string{"Content-Type": "text/plain", "x-ms-blob-type": "BlockBlob", "If-None-Match": "*"}
	resp, body := do(t, "PUT", up.URL, hdr, []byte("two"))
	checkRefusal(t, resp, body, 409, "BlobAlreadyExists", "")
	hdr = map[string]string{"Content-Type": "text/plain", "x-ms-blob-type": "BlockBlob", "If-Match": `"stale"`}
	resp, body = do(t, "PUT", up.URL, hdr, []byte("two"))
	checkRefusal(t, resp, body, 412, "ConditionNotMet", "")
}

func TestStringToSignLayouts(t *testing.T) {
	p := sasParams{perms: "r", start: "s", expiry: "e", resource: "b", scope: "SCOPE", rsct: "CT"}
	p.version = "2019-12-12"
	if got, want := stringToSign(p, "/blob/a/c/b"), "r\ns\ne\n/blob/a/c/b\n\n\n\n2019-12-12\nb\n\n\n\n\n\nCT"; got != want {
		t.Errorf("2019-12-12 layout:\n%q\nwant\n%q", got, want)
	}
	p.version = "2020-12-06"
	if got, want := stringToSign(p, "/blob/a/c/b"), "r\ns\ne\n/blob/a/c/b\n\n\n\n2020-12-06\nb\n\nSCOPE\n\n\n\n\nCT"; got != want {
		t.Errorf("2020-12-06 layout:\n%q\nwant\n%q", got, want)
	}
}

func TestConcurrentUploadsAndDownloads(t *testing.T) {
	e := newEnv(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := fmt.Sprintf("c/%d.bin", i)
			data := bytes.Repeat([]byte{byte('a' + i)}, 64<<10+i)
			s, err := e.face.SignUpload(space, path, "application/octet-stream", int64(len(data)))
			if err != nil {
				errs <- err
				return
			}
			req, _ := http.NewRequest("PUT", s.URL, bytes.NewReader(data))
			for k, v := range s.Headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				errs <- fmt.Errorf("PUT %s: %d", path, resp.StatusCode)
				return
			}
			d, err := e.face.SignDownload(space, path)
			if err != nil {
				errs <- err
				return
			}
			resp, err = http.Get(d.URL)
			if err != nil {
				errs <- err
				return
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got, data) {
				errs <- fmt.Errorf("GET %s: %d bytes differ", path, len(got))
			}
		}()
	}
	// The clock moves while requests are in flight (DESIGN "Clock").
	for range 5 {
		_ = e.clk.Advance(time.Second)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
