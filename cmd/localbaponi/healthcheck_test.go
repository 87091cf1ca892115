package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// freeAddr returns a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func healthcheckCode(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr syncBuffer
	code := run(context.Background(), append([]string{"healthcheck"}, args...), &stdout, &stderr)
	return code, stdout.String() + stderr.String()
}

// TestHealthcheck: 1 before the server is up, 0 once it answers, also from
// LOCALBAPONI_ADDR alone with a wildcard host, and 1 when health is not 200.
func TestHealthcheck(t *testing.T) {
	addr := freeAddr(t)
	if code, out := healthcheckCode(t, "--url", "http://"+addr, "--timeout", "1s"); code != 1 {
		t.Fatalf("before the server is up: exit %d (%s), want 1", code, out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"--addr", addr}, &stdout, &stderr) }()
	defer func() {
		cancel()
		<-done
	}()
	// --wait keeps trying until the server is up.
	if code, out := healthcheckCode(t, "--url", "http://"+addr+"/", "--wait", "20s"); code != 0 {
		t.Fatalf("after the server is up: exit %d (%s); server stderr %s", code, out, stderr.String())
	}
	_, port, _ := net.SplitHostPort(addr)
	t.Setenv("LOCALBAPONI_ADDR", "0.0.0.0:"+port)
	if code, out := healthcheckCode(t); code != 0 {
		t.Errorf("with LOCALBAPONI_ADDR=0.0.0.0:%s and no --url: exit %d (%s), want 0", port, code, out)
	}
	t.Setenv("LOCALBAPONI_HEALTHCHECK_URL", "http://"+freeAddr(t))
	if code, out := healthcheckCode(t); code != 1 {
		t.Errorf("LOCALBAPONI_HEALTHCHECK_URL at a closed port: exit %d (%s), want 1", code, out)
	}
	if code, out := healthcheckCode(t, "--url", "http://"+addr); code != 0 {
		t.Errorf("--url must win over LOCALBAPONI_HEALTHCHECK_URL: exit %d (%s)", code, out)
	}

	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	if code, out := healthcheckCode(t, "--url", sick.URL); code != 1 || !strings.Contains(out, "503") {
		t.Errorf("health answering 503: exit %d (%s), want 1 naming the status", code, out)
	}
	if code, _ := healthcheckCode(t, "--nope"); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
	began := time.Now()
	if code, _ := healthcheckCode(t, "--url", "http://"+freeAddr(t), "--wait", "600ms"); code != 1 {
		t.Errorf("--wait at a closed port: exit %d, want 1", code)
	}
	if d := time.Since(began); d < 600*time.Millisecond {
		t.Errorf("--wait 600ms gave up after %v", d)
	}
}

func TestLoopbackFor(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0:8080":   "127.0.0.1:8080",
		":8080":          "127.0.0.1:8080",
		"[::]:8080":      "[::1]:8080",
		"127.0.0.1:9":    "127.0.0.1:9",
		"localhost:8080": "localhost:8080",
	} {
		if got := loopbackFor(in); got != want {
			t.Errorf("loopbackFor(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConnectURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://[::]:8080":       "http://[::1]:8080",
		"http://0.0.0.0:8080":    "http://127.0.0.1:8080",
		"http://127.0.0.1:41234": "http://127.0.0.1:41234",
	} {
		if got := connectURL(in); got != want {
			t.Errorf("connectURL(%q) = %q, want %q", in, got, want)
		}
	}
}
