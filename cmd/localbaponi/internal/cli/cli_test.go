package cli

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeDeployment answers upload_url and download_url with URLs of its own
// storage, whose first PUT and first GET fail halfway.
type fakeDeployment struct {
	signs, puts, gets atomic.Int32
	stored            []byte
}

func (f *fakeDeployment) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	sign := func(w http.ResponseWriter, r *http.Request) {
		f.signs.Add(1)
		var in map[string]any
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Error(err)
		}
		json.NewEncoder(w).Encode(map[string]any{"url": "http://" + r.Host + "/storage/" + in["path"].(string), "method": "PUT", "headers": map[string]string{"Content-Type": "text/plain"}})
	}
	mux.HandleFunc("POST /v1/files/upload_url", sign)
	mux.HandleFunc("POST /v1/files/download_url", sign)
	mux.HandleFunc("PUT /storage/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if f.puts.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "<Error><Code>SlowDown</Code></Error>")
			return
		}
		f.stored = body
	})
	mux.HandleFunc("GET /storage/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		if f.gets.Add(1) == 1 {
			w.Write(f.stored[:3]) // then the connection drops short
			return
		}
		w.Header().Set("Content-Length", "")
		w.Write(f.stored)
	})
	return mux
}

func TestTransferRetriesOnceWithAFreshURL(t *testing.T) {
	var fake fakeDeployment
	srv := httptest.NewServer(fake.handler(t))
	defer srv.Close()
	var logs strings.Builder
	tr := &Transfers{Client: &Client{BaseURL: srv.URL, APIKey: "k"}, Progress: io.Discard, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	dir := t.TempDir()
	src := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(src, []byte("hello, retried world"), 0o644); err != nil {
		t.Fatal(err)
	}
	loc := Location{Source: "thread", ID: "t", Path: "in.txt"}
	ctx := context.Background()
	if err := uploadFile(ctx, tr, src, loc); err != nil {
		t.Fatal(err)
	}
	if string(fake.stored) != "hello, retried world" || fake.puts.Load() != 2 || fake.signs.Load() != 2 {
		t.Fatalf("stored %q after %d PUTs and %d signed URLs; want the bytes after 2 and 2", fake.stored, fake.puts.Load(), fake.signs.Load())
	}
	out := filepath.Join(dir, "out.txt")
	if err := downloadFile(ctx, tr, loc, out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); string(got) != "hello, retried world" || fake.gets.Load() != 2 {
		t.Fatalf("downloaded %q after %d GETs", got, fake.gets.Load())
	}
	if !strings.Contains(logs.String(), "retrying once with a fresh URL") {
		t.Errorf("no retry logged: %s", logs.String())
	}
	// A second failure is the end: no third try, and nothing left behind.
	fake.puts.Store(0)
	fake.gets.Store(0)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			fake.handler(t).ServeHTTP(w, r)
			return
		}
		fake.gets.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	})
	err := downloadFile(ctx, tr, loc, filepath.Join(dir, "never.txt"))
	if err == nil || !strings.Contains(err.Error(), "HTTP 500") || fake.gets.Load() != 2 {
		t.Fatalf("err %v after %d GETs; want HTTP 500 after 2", err, fake.gets.Load())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestParseLocationAndFlags(t *testing.T) {
	for in, want := range map[string]Location{
		"thread:t1/a/b.txt":  {"thread", "t1", "a/b.txt"},
		"volume:shared-data": {"volume", "shared-data", ""},
		"thread:t1/":         {"thread", "t1", ""},
	} {
		got, err := ParseLocation(in)
		if err != nil || got != want {
			t.Errorf("ParseLocation(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"bucket:x/y", "thread:/a", "thread"} {
		if _, err := ParseLocation(bad); err == nil {
			t.Errorf("ParseLocation(%q) accepted", bad)
		}
	}
	if HumanSize(1536) != "1.5 KiB" || HumanSize(3<<30) != "3.0 GiB" || HumanSize(12) != "12 B" {
		t.Errorf("HumanSize: %s %s %s", HumanSize(1536), HumanSize(3<<30), HumanSize(12))
	}
}
