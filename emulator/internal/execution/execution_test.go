package execution

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/sandbox"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

type fixture struct {
	svc *Service
	st  *store.Store
	clk *clock.Clock
}

func newFixture(t *testing.T, cfg Config) fixture {
	t.Helper()
	r, err := sandbox.NewRunner(sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	clk := clock.NewFrozen(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	st, err := store.Open(t.TempDir(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if uid, gid, ok := r.FileOwner(); ok {
		st.SetFileOwner(uid, gid)
	}
	cfg.Runner, cfg.Store, cfg.Clock = r, st, clk
	svc := New(cfg)
	t.Cleanup(func() { svc.Close() })
	return fixture{svc: svc, st: st, clk: clk}
}

func (f fixture) run(t *testing.T, req Request) Response {
	t.Helper()
	e, err := f.svc.Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("execution did not finish")
	}
	return e.Response()
}

func TestR3_ThreadFilesPersistAndGetEmulatorTimes(t *testing.T) {
	f := newFixture(t, Config{})
	sp := store.Space{Org: "org_local", Kind: store.Thread, ID: "t1"}
	if _, err := f.st.Put(context.Background(), sp, "input.json", "application/json", 5, strings.NewReader("[1,2]")); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Hour)
	resp := f.run(t, Request{Org: "org_local", ThreadID: "t1", Language: "python", Mode: ModeSync, Timeout: 20 * time.Second,
		Code: []byte("import json\nv = json.load(open('/home/baponi/input.json'))\nopen('/home/baponi/out.txt', 'w').write(str(sum(v)))\nprint('ok')")})
	if !resp.Success || resp.Stdout != "ok\n" || resp.Error != nil || !strings.HasPrefix(resp.TraceID, "exec_") {
		t.Fatalf("%+v", resp)
	}
	ents, err := f.st.List(context.Background(), sp, "")
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range ents {
		switch e.Path {
		case "out.txt":
			found = true
			if !e.Modified.Equal(f.clk.Now()) {
				t.Fatalf("out.txt modified %s, want the emulator's %s", e.Modified, f.clk.Now())
			}
		case "input.json":
			// Untouched by the code: it keeps its upload time (the
			// sandbox's preparation must not count as a change).
			if want := f.clk.Now().Add(-time.Hour); !e.Modified.Equal(want) {
				t.Fatalf("input.json modified %s, want its upload time %s", e.Modified, want)
			}
		}
	}
	if obj, err := f.st.Stat(context.Background(), sp, "input.json"); err != nil || obj.ContentType != "application/json" {
		t.Fatalf("input.json after a run: %+v, %v; want its content type kept", obj, err)
	}
	if !found {
		t.Fatalf("out.txt not listed: %+v", ents)
	}
	rd, err := f.st.Open(context.Background(), sp, "out.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rd)
	rd.Close()
	if string(b) != "3" {
		t.Fatalf("out.txt = %q", b)
	}
}

func TestR3_SymlinkLeftByCodeCannotBeRead(t *testing.T) {
	f := newFixture(t, Config{})
	resp := f.run(t, Request{Org: "o", ThreadID: "t1", Language: "bash", Mode: ModeSync, Timeout: 20 * time.Second,
		Code: []byte("ln -s /etc/shadow shadow && ln -s ../../t2 other && echo done")})
	if !resp.Success {
		t.Fatalf("%+v", resp)
	}
	sp := store.Space{Org: "o", Kind: store.Thread, ID: "t1"}
	for _, p := range []string{"shadow", "other/x"} {
		if rd, err := f.st.Open(context.Background(), sp, p); err == nil {
			rd.Close()
			t.Fatalf("store opened %s through a symlink", p)
		} else if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("open %s: %v, want ErrNotFound", p, err)
		}
	}
}

func TestR4_BusyThreadIsAConflict(t *testing.T) {
	f := newFixture(t, Config{})
	e, err := f.svc.Start(context.Background(), Request{Org: "o", ThreadID: "t1", Language: "bash", Mode: ModeSync, Timeout: 20 * time.Second, Code: []byte("sleep 1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Start(context.Background(), Request{Org: "o", ThreadID: "t1", Language: "bash", Code: []byte("true"), Timeout: time.Second}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second start: %v, want ErrBusy", err)
	}
	// Another thread, and the same thread ID in another org, are free.
	for _, req := range []Request{{Org: "o", ThreadID: "t2"}, {Org: "p", ThreadID: "t1"}} {
		req.Language, req.Code, req.Timeout = "bash", []byte("true"), 20*time.Second
		if _, err := f.svc.Start(context.Background(), req); err != nil {
			t.Fatalf("%+v: %v", req, err)
		}
	}
	<-e.Done()
	if _, err := f.svc.Start(context.Background(), Request{Org: "o", ThreadID: "t1", Language: "bash", Code: []byte("true"), Timeout: 20 * time.Second}); err != nil {
		t.Fatalf("after the first finished: %v", err)
	}
}

func TestR8_RecordsAreOrgScopedAndComplete(t *testing.T) {
	f := newFixture(t, Config{})
	e, err := f.svc.Start(context.Background(), Request{Org: "o", Language: "bash", Mode: ModeAsync, Timeout: 20 * time.Second, Code: []byte("sleep 0.3; echo hi; exit 2")})
	if err != nil {
		t.Fatal(err)
	}
	rec := e.Record()
	if rec.Status != StatusRunning || rec.ExitCode != nil || rec.CompletedAt != nil || rec.DeliveryMode != ModeAsync || rec.CreatedAt != "2030-01-02T03:04:05.000Z" {
		t.Fatalf("running record %+v", rec)
	}
	if _, ok := f.svc.Get("other", e.TraceID()); ok {
		t.Fatal("another org sees the execution")
	}
	got, ok := f.svc.Get("o", e.TraceID())
	if !ok {
		t.Fatal("not found")
	}
	<-got.Done()
	rec = got.Record()
	if rec.Status != sandbox.StatusFailed || *rec.ExitCode != 2 || rec.Stdout != "hi\n" || rec.Error != nil || rec.CompletedAt == nil || *rec.DurationMS < 300 {
		t.Fatalf("finished record %+v", rec)
	}
}

func TestR8_FollowReplaysThenFollows(t *testing.T) {
	f := newFixture(t, Config{})
	e, err := f.svc.Start(context.Background(), Request{Org: "o", Language: "python", Mode: ModeStream, Timeout: 20 * time.Second,
		Code: []byte("import time, sys\nprint('one')\ntime.sleep(0.5)\nprint('two', file=sys.stderr)\nprint('é' * 3)")})
	if err != nil {
		t.Fatal(err)
	}
	collect := func() []map[string]any {
		var evs []map[string]any
		err := e.Follow(context.Background(), func(b []byte) error {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			evs = append(evs, m)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	live := collect()
	replay := collect()
	for _, evs := range [][]map[string]any{live, replay} {
		if len(evs) < 3 || evs[0]["event"] != "status" || evs[0]["trace_id"] != e.TraceID() || evs[len(evs)-1]["event"] != "result" {
			t.Fatalf("events %v", evs)
		}
		var out, errs strings.Builder
		for _, ev := range evs {
			switch ev["event"] {
			case "stdout":
				out.WriteString(ev["data"].(string))
			case "stderr":
				errs.WriteString(ev["data"].(string))
			}
		}
		if out.String() != "one\nééé\n" || errs.String() != "two\n" {
			t.Fatalf("stdout %q stderr %q", out.String(), errs.String())
		}
		last := evs[len(evs)-1]
		if last["success"] != true || last["stdout"] != "one\nééé\n" {
			t.Fatalf("result %v", last)
		}
	}
	if len(live) != len(replay) {
		t.Fatalf("live %d events, replay %d", len(live), len(replay))
	}
}

func TestR8_WebhookIsRetriedThenDelivered(t *testing.T) {
	var mu sync.Mutex
	var calls int
	got := make(chan map[string]any, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		got <- m
	}))
	defer hook.Close()
	f := newFixture(t, Config{WebhookBackoff: 10 * time.Millisecond})
	e, err := f.svc.Start(context.Background(), Request{Org: "o", Language: "bash", Mode: ModeAsync, Timeout: 20 * time.Second,
		Code: []byte("echo async"), WebhookURL: hook.URL})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m["trace_id"] != e.TraceID() || m["stdout"] != "async\n" || m["status"] != "success" || m["success"] != true {
			t.Fatalf("webhook body %v", m)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("webhook not delivered")
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Fatalf("%d calls, want 2 (one refused, one accepted)", calls)
	}
}

func TestR8_CancelledWhenTheClientGoesAway(t *testing.T) {
	f := newFixture(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	e, err := f.svc.Start(ctx, Request{Org: "o", Language: "bash", Mode: ModeSync, Timeout: 20 * time.Second, Code: []byte("sleep 20")})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-e.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not cancelled")
	}
	if s := e.Record().Status; s != sandbox.StatusCancelled {
		t.Fatalf("status %s", s)
	}
}

func TestRecordsAreBounded(t *testing.T) {
	f := newFixture(t, Config{MaxRecords: 3})
	var ids []string
	for i := 0; i < 5; i++ {
		e, err := f.svc.Start(context.Background(), Request{Org: "o", Language: "bash", Timeout: 20 * time.Second, Code: []byte("true")})
		if err != nil {
			t.Fatal(err)
		}
		<-e.Done()
		ids = append(ids, e.TraceID())
	}
	for i, id := range ids {
		_, ok := f.svc.Get("o", id)
		if ok != (i >= 2) {
			t.Fatalf("record %d kept=%v", i, ok)
		}
	}
}

func TestVolumesAreMounted(t *testing.T) {
	f := newFixture(t, Config{})
	ro := store.Space{Org: "o", Kind: store.Volume, ID: "reference-data"}
	if _, err := f.st.Put(context.Background(), ro, "ref.txt", "text/plain", 3, strings.NewReader("ref")); err != nil {
		t.Fatal(err)
	}
	resp := f.run(t, Request{Org: "o", Language: "bash", Timeout: 20 * time.Second,
		Volumes: []Volume{{Slug: "reference-data", ReadOnly: true}, {Slug: "shared-data"}},
		Code:    []byte("cat /volumes/reference-data/ref.txt; echo x > /volumes/reference-data/y 2>/dev/null || echo ' refused'; echo s > /volumes/shared-data/s.txt")})
	if resp.Stdout != "ref refused\n" || !resp.Success {
		t.Fatalf("%+v", resp)
	}
	if _, err := os.Stat(filepath.Join(f.st.SpaceDir(store.Space{Org: "o", Kind: store.Volume, ID: "shared-data"}), "s.txt")); err != nil {
		t.Fatal(err)
	}
}

// A client that starts its next execution on a thread as soon as it has the
// result of the previous one must never find the thread busy (SPEC R-4 is
// for overlapping executions only).
func TestR4_ThreadIsFreeOnceTheResultIsOut(t *testing.T) {
	f := newFixture(t, Config{})
	for i := 0; i < 15; i++ {
		e, err := f.svc.Start(context.Background(), Request{Org: "org_local", ThreadID: "seq", Language: "bash",
			Mode: ModeSync, Timeout: 20 * time.Second, Code: []byte("true")})
		if err != nil {
			t.Fatalf("execution %d: %v", i, err)
		}
		<-e.Done()
	}
}

// The store's listing index must see what code wrote and removed: a space
// listed before the run lists the code's changes after it, in the thread and
// in a writable volume.
func TestListAfterRunShowsWhatCodeChanged(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	th := store.Space{Org: "o", Kind: store.Thread, ID: "idx"}
	vol := store.Space{Org: "o", Kind: store.Volume, ID: "shared-data"}
	for _, sp := range []store.Space{th, vol} {
		if _, err := f.st.Put(ctx, sp, "old.txt", "", 3, strings.NewReader("old")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.List(ctx, sp, ""); err != nil { // indexes it
			t.Fatal(err)
		}
	}
	resp := f.run(t, Request{Org: "o", ThreadID: "idx", Language: "bash", Mode: ModeSync, Timeout: 20 * time.Second,
		Volumes: []Volume{{Slug: "shared-data"}},
		Code:    []byte("rm old.txt /volumes/shared-data/old.txt && mkdir -p out && echo new > out/new.txt && echo v > /volumes/shared-data/v.txt")})
	if !resp.Success {
		t.Fatalf("%+v", resp)
	}
	for sp, want := range map[store.Space][]string{th: {"out", "out/new.txt"}, vol: {"v.txt"}} {
		es, err := f.st.List(ctx, sp, "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Path)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s after the run lists %v, want %v", sp.Key(), got, want)
		}
	}
}

// Issue 8 defect 9: the host data-dir path showed in execution error strings.
func TestHideHostPaths(t *testing.T) {
	spec := sandbox.Spec{
		HomeDir: "/srv/data/orgs/o/threads/t",
		Volumes: []sandbox.Mount{{HostDir: "/srv/data/orgs/o/volumes/v", Slug: "v"}},
	}
	for in, want := range map[string]string{
		"internal error: chown /srv/data/orgs/o/threads/t/a/b: file name too long": "internal error: chown /home/baponi/a/b: file name too long",
		"bind /srv/data/orgs/o/volumes/v on /volumes/v: EPERM":                     "bind /volumes/v on /volumes/v: EPERM",
		"open /srv/data/.tmp/x: ENOSPC":                                            "open <data-dir>/.tmp/x: ENOSPC",
		"nothing to hide":                                                          "nothing to hide",
		"mount root tmpfs on " + os.TempDir() + "/localbaponi-sandbox-1: ENOENT":   "mount root tmpfs on <tmp>/localbaponi-sandbox-1: ENOENT",
		"": "",
	} {
		if got := hideHostPaths(in, spec, "/srv/data"); got != want {
			t.Errorf("hideHostPaths(%q) = %q, want %q", in, got, want)
		}
	}
}
