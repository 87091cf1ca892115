package emulator_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator"
)

// listing returns path → "size modified" of a space, through the API.
func listing(t *testing.T, emu *emulator.Emulator, key, source, id string) map[string]string {
	t.Helper()
	st, body, _, err := call(t, emu, "POST", "/v1/files/list", key, map[string]any{"source": source, "id": id})
	if err != nil || st != 200 {
		t.Fatalf("list %s %s: %d %v %v", source, id, st, body, err)
	}
	out := map[string]string{}
	for _, f := range body["files"].([]any) {
		m := f.(map[string]any)
		out[m["path"].(string)] = fmt.Sprint(m["size"], " ", m["modified"], " ", m["is_directory"])
	}
	return out
}

func download(t *testing.T, emu *emulator.Emulator, key, source, id, path string) ([]byte, string) {
	t.Helper()
	st, body, _, err := call(t, emu, "POST", "/v1/files/download_url", key, map[string]any{"source": source, "id": id, "path": path})
	if err != nil || st != 200 {
		t.Fatalf("download_url %s: %d %v %v", path, st, body, err)
	}
	r := doTransfer("GET", body["url"].(string), nil, nil)
	if r.err != nil || r.status != 200 {
		t.Fatalf("GET %s: %d %v", path, r.status, r.err)
	}
	return r.body, r.header.Get("Content-Type")
}

// A snapshot taken, a new emulator started from it, every file compared
// byte for byte (with content type and modified time), and the orgs, keys,
// volumes and clock it carries.
func TestSnapshotRoundTrip(t *testing.T) {
	start := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	emu := emulator.RunT(t, emulator.Options{Clock: emulator.NewFrozenClock(start)})
	files := map[string][]byte{
		"a.txt":             []byte("hello"),
		"deep/er/b.json":    []byte(`{"x": 1}`),
		"empty":             {},
		"big.bin":           randomBytes(3<<20 + 17),
		"naïve name (1).md": []byte("# unicode"),
	}
	types := map[string]string{"a.txt": "text/plain", "deep/er/b.json": "application/json", "empty": "application/x-empty",
		"big.bin": "application/octet-stream", "naïve name (1).md": "text/markdown; charset=utf-8"}
	for p, data := range files {
		emu.Clock().Advance(time.Minute) // distinct modified times
		if err := emu.WriteFileType(emulator.Thread("t1"), p, types[p], data); err != nil {
			t.Fatal(err)
		}
	}
	emu.WriteFile(emulator.Volume(emulator.DevRWVolume), "shared.csv", []byte("a,b\n"))
	// Run-time state: a key of a new org, a volume, a file there.
	st, _, _, _ := call(t, emu, "POST", "/_emulator/keys", "", map[string]any{"org": "org_new", "key": "sk-us-bmV3LW9yZy1rZXk"})
	if st != 201 {
		t.Fatalf("create key: %d", st)
	}
	if st, _, _, _ := call(t, emu, "POST", "/_emulator/volumes", "", map[string]any{"org": "org_new", "slug": "vol", "read_only": true, "files": map[string]string{"r.txt": "ro"}}); st != 201 {
		t.Fatalf("create volume: %d", st)
	}
	emu.WriteFile(emulator.Thread("t2").InOrg("org_new"), "n.txt", []byte("new org"))
	emu.Clock().Advance(time.Hour)

	resp, err := http.Get(emu.URL() + "/_emulator/snapshot")
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-tar" {
		t.Fatalf("GET snapshot: %v %v", err, resp)
	}
	path := filepath.Join(t.TempDir(), "snap.tar")
	f, _ := os.Create(path)
	io.Copy(f, resp.Body)
	resp.Body.Close()
	f.Close()

	emu2 := emulator.RunT(t, emulator.Options{Snapshot: path, Clock: emulator.NewFrozenClock(start.Add(-time.Hour))})
	if got, want := emu2.Clock().Now(), emu.Clock().Now(); !got.Equal(want) {
		t.Errorf("clock %v, want %v", got, want)
	}
	if a, b := listing(t, emu, emu.APIKey(), "thread", "t1"), listing(t, emu2, emu2.APIKey(), "thread", "t1"); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("listing differs:\n%v\n%v", a, b)
	}
	for p, data := range files {
		got, ct := download(t, emu2, emu2.APIKey(), "thread", "t1", p)
		if !bytes.Equal(got, data) {
			t.Errorf("%s: %d bytes differ from the %d written", p, len(got), len(data))
		}
		if ct != types[p] {
			t.Errorf("%s: content type %q, want %q", p, ct, types[p])
		}
	}
	if got, _ := emu2.ReadFile(emulator.Volume(emulator.DevRWVolume), "shared.csv"); string(got) != "a,b\n" {
		t.Errorf("volume file %q", got)
	}
	newKey := "sk-us-bmV3LW9yZy1rZXk"
	if got, _ := download(t, emu2, newKey, "thread", "t2", "n.txt"); string(got) != "new org" {
		t.Errorf("new org's file %q", got)
	}
	if got, _ := download(t, emu2, newKey, "volume", "vol", "r.txt"); string(got) != "ro" {
		t.Errorf("run-time volume's file %q", got)
	}
	if st, _, _, _ := call(t, emu2, "POST", "/v1/files/upload_url", newKey, map[string]any{"source": "volume", "id": "vol", "path": "x", "content_length": 1}); st != 403 {
		t.Errorf("read-only run-time volume took an upload URL: %d", st)
	}
}

// A snapshot of another format version, a truncated one, or one with a bad
// entry is refused with a clear error and changes nothing.
func TestSnapshotRefusedChangesNothing(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		emu := emulator.RunT(t)
		testSnapshotRefused(t, emu, func() []string {
			stage, _ := filepath.Glob(filepath.Join(emu.DataDir(), ".stage-*"))
			return stage
		})
	})
	for name, fake := range map[string]func(testingT) *fakeS3{"s3": newFakeS3, "gcs": newFakeGCS} {
		t.Run(name, func(t *testing.T) {
			f := fake(t)
			testSnapshotRefused(t, emulator.RunT(t, emulator.Options{Store: f.url}), func() []string { return f.keys(t, ".staging") })
		})
	}
}

// testSnapshotRefused is TestSnapshotRefusedChangesNothing on one store;
// staged lists what is left of staging areas.
func testSnapshotRefused(t *testing.T, emu *emulator.Emulator, staged func() []string) {
	emu.WriteFile(emulator.Thread("keep"), "k.txt", []byte("kept"))
	var buf bytes.Buffer
	if err := emu.WriteSnapshot(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	emu.WriteFile(emulator.Thread("after"), "a.txt", []byte("after the snapshot"))

	// Version 2: the manifest rewritten.
	var v2 bytes.Buffer
	tr, tw := tar.NewReader(bytes.NewReader(good)), tar.NewWriter(&v2)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		data, _ := io.ReadAll(tr)
		if h.Name == "manifest.json" {
			data = bytes.Replace(data, []byte(`"version": 1`), []byte(`"version": 2`), 1)
			h.Size = int64(len(data))
		}
		tw.WriteHeader(h)
		tw.Write(data)
	}
	tw.Close()
	for name, c := range map[string]struct {
		body []byte
		want string
	}{
		"version 2":   {v2.Bytes(), "format version 2"},
		"truncated":   {good[:len(good)-1500], "archive"},
		"not a tar":   {[]byte("hello"), "not a tar"},
		"no manifest": {tarOf(t, "files/orgs/org_local/threads/x/y", "z"), "first entry"},
	} {
		resp, err := http.Post(emu.URL()+"/_emulator/snapshot", "application/x-tar", bytes.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		var env map[string]string
		json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(env["message"], c.want) || !strings.Contains(env["message"], "nothing changed") {
			t.Errorf("%s: %d %v, want 400 saying %q", name, resp.StatusCode, env, c.want)
		}
		if got, err := emu.ReadFile(emulator.Thread("after"), "a.txt"); err != nil || string(got) != "after the snapshot" {
			t.Errorf("%s: the state changed (%q, %v)", name, got, err)
		}
	}
	if stage := staged(); len(stage) != 0 {
		t.Errorf("staging left behind: %v", stage)
	}
	// The good one loads: "after" is gone, "keep" is there.
	if err := emu.LoadSnapshot(context.Background(), bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.ReadFile(emulator.Thread("after"), "a.txt"); err == nil {
		t.Error("a file written after the snapshot survived loading it")
	}
	if got, _ := emu.ReadFile(emulator.Thread("keep"), "k.txt"); string(got) != "kept" {
		t.Errorf("kept file %q", got)
	}
}

func tarOf(t *testing.T, name, content string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: name, Size: int64(len(content)), Mode: 0o644})
	tw.Write([]byte(content))
	tw.Close()
	return b.Bytes()
}

func TestReset(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	emu := emulator.RunT(t, emulator.Options{Clock: emulator.NewFrozenClock(start)})
	emu.WriteFile(emulator.Thread("t1"), "a", []byte("a"))
	emu.WriteFile(emulator.Thread("t2"), "b", []byte("b"))
	emu.WriteFile(emulator.Volume(emulator.DevRWVolume), "v", []byte("v"))
	emu.WriteFile(emulator.Thread("o1").InOrg(emulator.DevOtherOrg), "o", []byte("o"))
	call(t, emu, "POST", "/_emulator/keys", "", map[string]any{"org": emulator.DevOrg, "key": "sk-us-cnVudGltZS1rZXk"})
	emu.Clock().Advance(time.Hour)
	emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Org: emulator.DevOrg, ThreadID: "t1"}, Action: emulator.FaultAction{Latency: &emulator.FaultLatency{}}})
	emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Route: "files.delete"}, Action: emulator.FaultAction{Network: "close"}})
	listing(t, emu, emu.APIKey(), "thread", "t1")

	// One thread.
	st, body, _, _ := call(t, emu, "POST", "/_emulator/reset", "", map[string]any{"org": emulator.DevOrg, "thread_id": "t1"})
	if st != 200 || body["reset"] != "thread" {
		t.Fatalf("reset thread: %d %v", st, body)
	}
	if _, err := emu.ReadFile(emulator.Thread("t1"), "a"); err == nil {
		t.Error("thread t1 survived its reset")
	}
	if _, err := emu.ReadFile(emulator.Thread("t2"), "b"); err != nil {
		t.Error("thread t2 went with t1")
	}
	if n := len(emu.Faults()); n != 1 {
		t.Errorf("%d rules after the thread reset, want the one not naming t1", n)
	}
	if n := len(emu.Requests(emulator.RequestFilter{ThreadID: "t1"})); n != 0 {
		t.Errorf("%d journal entries of t1 after its reset", n)
	}
	// One org.
	if st, _, _, _ := call(t, emu, "POST", "/_emulator/reset", "", map[string]any{"org": emulator.DevOrg}); st != 200 {
		t.Fatalf("reset org: %d", st)
	}
	if _, err := emu.ReadFile(emulator.Thread("t2"), "b"); err == nil {
		t.Error("org_local's thread survived its org's reset")
	}
	if _, err := emu.ReadFile(emulator.Thread("o1").InOrg(emulator.DevOtherOrg), "o"); err != nil {
		t.Error("org_other's file went with org_local")
	}
	if st, _, _, _ := call(t, emu, "POST", "/v1/files/list", "sk-us-cnVudGltZS1rZXk", map[string]any{"source": "volume", "id": emulator.DevRWVolume}); st != 401 {
		t.Errorf("a run-time key of the reset org still works: %d", st)
	}
	if got, _ := emu.ReadFile(emulator.Volume(emulator.DevROVolume), "README.md"); len(got) == 0 {
		// The dev read-only volume is seeded with a small file.
		if l := listing(t, emu, emu.APIKey(), "volume", emulator.DevROVolume); len(l) == 0 {
			t.Error("the seeded read-only volume is empty after the org reset")
		}
	}
	// Everything.
	if st, _, _, _ := call(t, emu, "POST", "/_emulator/reset", "", nil); st != 200 {
		t.Fatalf("reset: %d", st)
	}
	if _, err := emu.ReadFile(emulator.Thread("o1").InOrg(emulator.DevOtherOrg), "o"); err == nil {
		t.Error("a file survived the reset")
	}
	if !emu.Clock().Now().Equal(start) {
		t.Errorf("clock %v after reset, want %v", emu.Clock().Now(), start)
	}
	if len(emu.Faults()) != 0 || len(emu.Requests()) != 0 {
		t.Errorf("rules %d, journal %d after reset", len(emu.Faults()), len(emu.Requests()))
	}
	if l := listing(t, emu, emu.APIKey(), "volume", emulator.DevROVolume); len(l) == 0 {
		t.Error("the seeded read-only volume is empty after the reset")
	}
	for body, code := range map[string]int{`{"thread_id": "x"}`: 400, `{"org": "nope"}`: 404, `{"orgg": "x"}`: 400} {
		resp, _ := http.Post(emu.URL()+"/_emulator/reset", "application/json", strings.NewReader(body))
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("reset %s: %d, want %d", body, resp.StatusCode, code)
		}
	}
}

// A reset while an upload is in flight fails the upload cleanly and leaves
// nothing of it behind.
func TestResetMidTransfer(t *testing.T) {
	for _, backend := range emulator.Backends() {
		t.Run(backend, func(t *testing.T) {
			emu := emulator.RunT(t, emulator.Options{Backend: backend})
			data := randomBytes(1 << 20)
			u, h := signedURL(t, emu, "mid", "half.bin", data)
			pr, pw := io.Pipe()
			done := make(chan transferResult, 1)
			go func() {
				req, _ := http.NewRequest("PUT", u, pr)
				req.ContentLength = int64(len(data))
				for k, v := range h {
					req.Header.Set(k, v)
				}
				// The client sends the body only once the server's handler
				// reads it (100 Continue): the upload is in flight then.
				req.Header.Set("Expect", "100-continue")
				resp, err := (&http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}).Do(req)
				if err != nil {
					done <- transferResult{err: err}
					return
				}
				resp.Body.Close()
				done <- transferResult{status: resp.StatusCode}
			}()
			// Half the body, then the client waits. The write returns once the
			// client sends the body, after the handler began reading it.
			wrote := make(chan struct{})
			go func() { pw.Write(data[:len(data)/2]); close(wrote) }()
			select {
			case <-wrote:
			case r := <-done:
				t.Fatalf("the upload ended before the server read its body: %+v", r)
			case <-time.After(30 * time.Second):
				t.Fatal("the server never read the upload's body")
			}
			if err := emu.Reset(); err != nil {
				t.Fatal(err)
			}
			go func() { pw.Write(data[len(data)/2:]); pw.Close() }()
			select {
			case r := <-done:
				if r.err == nil && r.status/100 == 2 {
					t.Errorf("the upload succeeded across a reset: %d", r.status)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the upload hung after the reset")
			}
			if _, err := emu.ReadFile(emulator.Thread("mid"), "half.bin"); err == nil {
				t.Error("the interrupted upload left a file")
			}
			if tmp, _ := os.ReadDir(filepath.Join(emu.DataDir(), ".tmp")); len(tmp) != 0 {
				t.Errorf("temp files left: %v", tmp)
			}
			// The emulator serves on.
			emu.WriteFile(emulator.Thread("t"), "x", []byte("x"))
			if l := listing(t, emu, emu.APIKey(), "thread", "t"); len(l) != 1 {
				t.Errorf("after the reset: %v", l)
			}
		})
	}
}

// A data dir of a newer layout is refused with what to do.
func TestDataDirFormatMarker(t *testing.T) {
	dir := t.TempDir()
	emu, err := emulator.Start(emulator.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	emu.Close()
	marker := filepath.Join(dir, ".localbaponi-format")
	if got, _ := os.ReadFile(marker); strings.TrimSpace(string(got)) != "localbaponi-data 1" {
		t.Fatalf("marker %q", got)
	}
	for content, want := range map[string]string{"localbaponi-data 2\n": "newer localbaponi", "something else": "does not know"} {
		os.WriteFile(marker, []byte(content), 0o644)
		emu, err := emulator.Start(emulator.Options{DataDir: dir})
		if err == nil {
			emu.Close()
			t.Fatalf("started on a data dir marked %q", content)
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--data-dir") {
			t.Errorf("marker %q: %v", content, err)
		}
	}
}
