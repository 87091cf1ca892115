package api

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// idleServer answers with what reading the whole body gave: the byte count
// or the error.
func idleServer(t *testing.T, idle time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(IdleBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		var ie *BodyIdleError
		switch {
		case errors.As(err, &ie) && errors.Is(err, os.ErrDeadlineExceeded):
			w.WriteHeader(http.StatusRequestTimeout)
		case err != nil:
			w.WriteHeader(http.StatusInternalServerError)
		}
		fmt.Fprint(w, n)
	}), idle))
	t.Cleanup(srv.Close)
	return srv
}

// A body that stalls fails with a *BodyIdleError and the connection is
// closed; a slow body that never pauses for the idle timeout is read whole,
// however long it takes in total.
func TestIdleBodies(t *testing.T) {
	const idle = time.Second
	srv := idleServer(t, idle)

	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	data, err := io.ReadAll(conn) // the answer, then EOF: the server closed it
	if err != nil {
		t.Fatalf("stalled body: %v (the connection stayed open)", err)
	}
	if !strings.HasPrefix(string(data), "HTTP/1.1 408") || !strings.HasSuffix(string(data), "3") {
		t.Errorf("stalled body answered %q", data)
	}

	// 40 chunks 50 ms apart: 2 s in all, twice the idle timeout.
	pr, pw := io.Pipe()
	go func() {
		for range 40 {
			time.Sleep(50 * time.Millisecond)
			pw.Write([]byte("0123456789"))
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPut, srv.URL, pr)
	req.ContentLength = 400
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "400" {
		t.Errorf("slow steady body: %d %s", resp.StatusCode, body)
	}

	// Off when idle <= 0.
	if h := http.NotFoundHandler(); fmt.Sprint(IdleBodies(h, 0)) != fmt.Sprint(h) {
		t.Error("IdleBodies(h, 0) wraps h")
	}
}

func TestCleanPathAndFacePath(t *testing.T) {
	for p, want := range map[string]bool{
		"/": true, "/v1/files/list": true, "/v1/": true, "/_emulator/health": true,
		"/v1//files/list": false, "/v1/files/../files/list": false, "/v1/./x": false, "/v1/x/..": false,
		"//": false, "/a/.": false, "": false, "v1": false,
	} {
		if got := cleanPath(p); got != want {
			t.Errorf("cleanPath(%q) = %v, want %v", p, got, want)
		}
	}
	for _, tc := range []struct {
		face, path string
		want       bool
	}{
		{"gcs", "/baponi-local-storage/orgs/o/threads/t/f", true},
		{"s3", "/baponi-local-storage", true},
		{"gcs", "/other/baponi-local-storage/x", false},
		{"gcs", "/", false},
		{"azure", "/acct/baponi-local-storage/orgs/o/threads/t/f", true},
		{"azure", "/baponi-local-storage/orgs/o/threads/t/f", false},
		{"azure", "//baponi-local-storage/x", false},
		{"test", "/anything", true},
	} {
		s := &Server{Face: namedFace{panickyFace{}, tc.face}}
		if got := s.facePath(tc.path); got != tc.want {
			t.Errorf("%s facePath(%q) = %v, want %v", tc.face, tc.path, got, tc.want)
		}
	}
}

type namedFace struct {
	panickyFace
	name string
}

func (f namedFace) Name() string { return f.name }
