// Package facetest holds what the storage faces' tests share: the
// environment a face is served in (a store, a clock and a loopback server),
// sending a request to a signed URL and bending one of its query parameters.
package facetest

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// Epoch is when the frozen clock of NewEnv stands unless told otherwise.
var Epoch = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// Env is where a face under test is served: a store of its own on a clock,
// and a loopback server whose URL is known before the face is built (the
// face signs URLs with it).
type Env struct {
	Store  *store.Store
	Clock  *clock.Clock
	Server *httptest.Server // started by Serve
	URL    string           // the server's base URL, "http://127.0.0.1:port"
}

// NewEnv opens a store in a temporary directory on clk (a clock frozen at
// Epoch if nil), logging to log (nowhere if nil), and reserves the server's
// address. Everything is closed when the test ends.
func NewEnv(t testing.TB, clk *clock.Clock, log *slog.Logger) *Env {
	t.Helper()
	if clk == nil {
		clk = clock.NewFrozen(Epoch)
	}
	st, err := store.Open(t.TempDir(), clk, log)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	return &Env{Store: st, Clock: clk, Server: srv, URL: "http://" + srv.Listener.Addr().String()}
}

// Config is the face.Config of a face served by e, signing as keyID with
// secret, asking access (nil allows everything).
func (e *Env) Config(keyID, secret string, access func(store.Space, bool) error, log *slog.Logger) face.Config {
	return face.Config{Store: e.Store, Clock: e.Clock, BaseURL: e.URL, KeyID: keyID, Secret: secret, Access: access, Logger: log}
}

// Serve starts the server with h (the face, or a handler around it).
func (e *Env) Serve(h http.Handler) {
	e.Server.Config.Handler = h
	e.Server.Start()
}

// Access is a face.Config.Access that knows no space missing (ErrNoSpace)
// and refuses writes to readOnly (ErrReadOnly); it allows everything else.
func Access(missing, readOnly store.Space) func(store.Space, bool) error {
	return func(sp store.Space, write bool) error {
		switch {
		case sp == missing:
			return face.ErrNoSpace
		case sp == readOnly && write:
			return face.ErrReadOnly
		}
		return nil
	}
}

// Do sends method to u with the given headers and body (nil for none) and
// returns the response with its body read and closed.
func Do(t testing.TB, method, u string, headers map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	return DoRequest(t, NewRequest(t, method, u, headers, body))
}

// NewRequest builds a request of method to u with the given headers and
// body (nil for none).
func NewRequest(t testing.TB, method, u string, headers map[string]string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

// DoRequest sends req and returns the response with its body read and closed.
func DoRequest(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, b
}

// SetQuery returns u with query parameter k set to v ("" deletes it).
func SetQuery(t testing.TB, u, k, v string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	if v == "" {
		q.Del(k)
	} else {
		q.Set(k, v)
	}
	pu.RawQuery = q.Encode()
	return pu.String()
}
