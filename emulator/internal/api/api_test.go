package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/tenancy"
)

// panickyFace is a face whose data plane panics on /boom, to prove that a
// panic becomes a 500 envelope and the server keeps serving (SPEC E-2).
type panickyFace struct{}

func (panickyFace) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/boom" {
		panic("kaboom")
	}
	w.WriteHeader(http.StatusTeapot)
}
func (panickyFace) Name() string { return "test" }
func (panickyFace) SignUpload(store.Space, string, string, int64) (face.Signed, error) {
	return face.Signed{}, nil
}
func (panickyFace) SignDownload(store.Space, string) (face.Signed, error) { return face.Signed{}, nil }
func (f panickyFace) SignerAt(*url.URL) face.Signer                       { return f }

// testServer serves a control plane on the dev config, a store of its own,
// the real clock and panickyFace; edit, if not nil, completes the Server
// (an execution service, say) before it serves.
func testServer(t *testing.T, edit func(*Server)) (*httptest.Server, *Server) {
	t.Helper()
	reg, err := tenancy.NewRegistry(tenancy.DevConfig())
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewReal()
	st, err := store.Open(t.TempDir(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &Server{Tenants: reg, Store: st, Clock: clk, Face: panickyFace{}}
	if edit != nil {
		edit(s)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, s
}

// newTestServer is testServer with no execution service.
func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv, _ := testServer(t, nil)
	return srv
}

func TestPanicIsEnvelopedAndServerKeepsServing(t *testing.T) {
	srv := newTestServer(t)
	resp, err := http.Get(srv.URL + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var env envelope
	if resp.StatusCode != 500 || json.Unmarshal(body, &env) != nil || env.Error != CodeInternal || !strings.Contains(env.Message, "kaboom") {
		t.Fatalf("panic gave %d %s; want 500 internal_error envelope", resp.StatusCode, body)
	}
	resp, err = http.Get(srv.URL + "/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("after a panic the next request got %d", resp.StatusCode)
	}
}

func TestContentLength(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want int64
		err  string
	}{
		{"0", 0, ""},
		{"10737418240", 10737418240, ""},
		{"10737418241", 0, "content_length exceeds maximum of 10737418240 bytes (10 GiB)"},
		{"99999999999999999999999", 0, "10737418240"},
		{"-1", 0, "negative"},
		{"-99999999999999999999999", 0, "negative"},
		{"1.5", 0, "whole number"},
		{"1e3", 0, "whole number"},
		{`"12"`, 0, "integer"},
		{"true", 0, "integer"},
		{"", 0, "required"},
		{"null", 0, "required"},
	} {
		got, err := contentLength(json.RawMessage(tc.raw))
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("contentLength(%s) = %d, %v; want %d", tc.raw, got, err, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "content_length") {
			t.Errorf("contentLength(%s) error = %v; want one naming content_length and containing %q", tc.raw, err, tc.err)
		}
	}
}

func TestDecodeJSONNamesTheField(t *testing.T) {
	srv := newTestServer(t)
	for body, want := range map[string]string{
		`{"source": "thread", "id": 7}`:              "id must be a string",
		`{"source": "thread", "id": "t", "path": 1}`: "path must be a string",
		`{"source": [], "id": "t"}`:                  "source must be a string",
		`"just a string"`:                            "JSON object",
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/files/list", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tenancy.DevKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(data), want) || !strings.Contains(string(data), string(CodeValidation)) {
			t.Errorf("body %s → %d %s; want 400 validation_error containing %q", body, resp.StatusCode, data, want)
		}
	}
}

// TestErrorCarriesStatusAndHeaders checks the one writer: the status comes
// from the code and the error's headers reach the response.
func TestErrorCarriesStatusAndHeaders(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		header string
		value  string
	}{
		{errMethodNotAllowed("GET", "/files", "DELETE"), http.StatusMethodNotAllowed, "Allow", "DELETE"},
		{errRateLimited(3), http.StatusTooManyRequests, "Retry-After", "3"},
		{validationf("path is required"), http.StatusBadRequest, "", ""},
		{fmt.Errorf("wrapped: %w", notFoundf("gone")), http.StatusNotFound, "", ""},
		{errors.New("disk on fire"), http.StatusInternalServerError, "", ""},
	} {
		rec := httptest.NewRecorder()
		handlerFunc(func(http.ResponseWriter, *http.Request) error { return tc.err }).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		var env envelope
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("%v: body %q is not an envelope: %v", tc.err, rec.Body, err)
		}
		if rec.Code != tc.status || env.Error.Status() != tc.status || !strings.Contains(tc.err.Error(), env.Message) {
			t.Errorf("%v → %d %+v; want %d", tc.err, rec.Code, env, tc.status)
		}
		if tc.header != "" && rec.Header().Get(tc.header) != tc.value {
			t.Errorf("%v: %s = %q; want %q", tc.err, tc.header, rec.Header().Get(tc.header), tc.value)
		}
	}
}
