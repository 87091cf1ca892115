package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while run writes to it.
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

func TestServePrintsBannerAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, &stdout, &stderr) }()

	var base string
	deadline := time.Now().Add(10 * time.Second)
	for base == "" && time.Now().Before(deadline) {
		if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	if base == "" {
		t.Fatalf("no banner; stdout %q stderr %q", stdout.String(), stderr.String())
	}
	for _, want := range []string{"sk-us-bG9jYWwtZGV2LWtleQ", "sk-us-b3RoZXItZGV2LWtleQ", "shared-data", "reference-data (read-only)", "curl -X POST " + base + "/v1/files/list", "signing key id     localbaponi"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, stdout.String())
		}
	}
	resp, err := http.Get(base + "/_emulator/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health = %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit code %d; stderr %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not shut down")
	}
	if _, err := http.Get(base + "/_emulator/health"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestBadFlagsAndConfig(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("orgs:\n  - id: a\n    keys: [{key: nope}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--nope"}, 2, "flag provided but not defined"},
		{[]string{"--config", bad}, 2, "sk-<region>-<token>"},
		{[]string{"--config", "/does/not/exist.yaml"}, 2, "no such file"},
		{[]string{"--addr", "127.0.0.1:0", "--backend", "ftp"}, 1, `backend "ftp" is not available`},
		{[]string{"--log-level", "loud"}, 2, "log-level"},
		{[]string{"extra"}, 2, "unexpected argument"},
	} {
		var stdout, stderr syncBuffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("run(%v) = %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}
