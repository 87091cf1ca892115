package mirror

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// fileRemote stands for a remote store: a second file store, whose
// versions are its ETags; it counts the files opened (downloads).
type fileRemote struct {
	*store.Store
	opens atomic.Int64
}

func (f *fileRemote) Versions(ctx context.Context, sp store.Space) (map[string]string, error) {
	entries, err := f.List(ctx, sp, "")
	if errors.Is(err, store.ErrNotFound) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		if !e.IsDir {
			o, err := f.Stat(ctx, sp, e.Path)
			if err != nil {
				return nil, err
			}
			out[e.Path] = o.ETag
		}
	}
	return out, nil
}

func (f *fileRemote) Open(ctx context.Context, sp store.Space, p string) (*store.Reader, error) {
	f.opens.Add(1)
	return f.Store.Open(ctx, sp, p)
}

func open(t *testing.T) *store.Store {
	st, err := store.Open(t.TempDir(), clock.NewReal(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestFetchOnlyWhatChangedAndPushChanges(t *testing.T) {
	ctx := context.Background()
	sp := store.Space{Org: "o", Kind: store.Thread, ID: "t"}
	remote := &fileRemote{Store: open(t)}
	local := open(t)
	m := New(remote, local)
	put := func(st store.Backend, p, body string) {
		t.Helper()
		if _, err := st.Put(ctx, sp, p, "", int64(len(body)), bytes.NewReader([]byte(body))); err != nil {
			t.Fatal(err)
		}
	}
	read := func(st store.Backend, p string) string {
		t.Helper()
		rd, err := st.Open(ctx, sp, p)
		if err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		defer rd.Close()
		b, _ := io.ReadAll(rd)
		return string(b)
	}
	put(remote, "a.txt", "a1")
	put(remote, "d/b.txt", "b1")
	if err := m.Fetch(ctx, sp); err != nil {
		t.Fatal(err)
	}
	if n := remote.opens.Load(); n != 2 {
		t.Fatalf("first fetch downloaded %d files, want 2", n)
	}
	if read(local, "d/b.txt") != "b1" {
		t.Fatal("local copy lacks d/b.txt")
	}
	// Nothing changed: nothing is downloaded.
	if err := m.Fetch(ctx, sp); err != nil {
		t.Fatal(err)
	}
	if n := remote.opens.Load(); n != 2 {
		t.Fatalf("a fetch with nothing changed downloaded %d files", n-2)
	}
	// Another replica changed a.txt and deleted d/b.txt: one download, one removal.
	put(remote, "a.txt", "a2, longer")
	if err := remote.Delete(ctx, sp, "d/b.txt"); err != nil {
		t.Fatal(err)
	}
	if err := m.Fetch(ctx, sp); err != nil {
		t.Fatal(err)
	}
	if n := remote.opens.Load(); n != 3 {
		t.Fatalf("fetch after one change downloaded %d files, want 1", n-2)
	}
	if read(local, "a.txt") != "a2, longer" {
		t.Fatal("local a.txt not updated")
	}
	if _, err := local.Stat(ctx, sp, "d/b.txt"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("local d/b.txt after the remote deleted it: %v", err)
	}
	// Code writes a new file, changes one and removes none; then removes a.txt.
	put(local, "new.txt", "n")
	if err := m.Push(ctx, sp); err != nil {
		t.Fatal(err)
	}
	if read(remote, "new.txt") != "n" || read(remote, "a.txt") != "a2, longer" {
		t.Fatal("push did not upload new.txt or changed a.txt")
	}
	if err := local.Delete(ctx, sp, "a.txt"); err != nil {
		t.Fatal(err)
	}
	if err := m.Push(ctx, sp); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Stat(ctx, sp, "a.txt"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("remote a.txt after the code removed it: %v", err)
	}
	opens := remote.opens.Load()
	if err := m.Fetch(ctx, sp); err != nil {
		t.Fatal(err)
	}
	if n := remote.opens.Load() - opens; n != 0 {
		t.Fatalf("fetch right after a push downloaded %d files, want 0", n)
	}
}

// blockingRemote holds the download of one path until released.
type blockingRemote struct {
	*fileRemote
	path    string
	opened  chan struct{}
	release chan struct{}
}

func (b *blockingRemote) Open(ctx context.Context, sp store.Space, p string) (*store.Reader, error) {
	if p == b.path {
		close(b.opened)
		<-b.release
	}
	return b.fileRemote.Open(ctx, sp, p)
}

// A volume's local copy is shared by every run that mounts it: a Push of
// one run waits for a Fetch of another to finish, so it never takes a file
// that Fetch is bringing in for one the code wrote (and never uploads it
// back over a delete made through the API in the meantime).
func TestPushWaitsForAFetchOfTheSameSpace(t *testing.T) {
	ctx := context.Background()
	vol := store.Space{Org: "o", Kind: store.Volume, ID: "shared"}
	other := store.Space{Org: "o", Kind: store.Volume, ID: "other"}
	fr := &fileRemote{Store: open(t)}
	remote := &blockingRemote{fileRemote: fr, path: "report.txt", opened: make(chan struct{}), release: make(chan struct{})}
	if _, err := fr.Put(ctx, vol, "report.txt", "", 2, bytes.NewReader([]byte("v1"))); err != nil {
		t.Fatal(err)
	}
	m := New(remote, open(t))
	fetched := make(chan error, 1)
	go func() { fetched <- m.Fetch(ctx, vol) }()
	<-remote.opened // the Fetch is downloading report.txt

	pushed := make(chan error, 1)
	go func() { pushed <- m.Push(ctx, vol) }()
	// Another space is not held up.
	if err := m.Push(ctx, other); err != nil {
		t.Fatalf("push of another space: %v", err)
	}
	select {
	case err := <-pushed:
		t.Fatalf("Push of the space returned (%v) while a Fetch of it was still running", err)
	case <-time.After(200 * time.Millisecond):
	}
	// The file is deleted through the API while the Fetch is under way.
	if err := fr.Delete(ctx, vol, "report.txt"); err != nil {
		t.Fatal(err)
	}
	close(remote.release)
	if err := <-fetched; err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if err := <-pushed; err != nil {
		t.Fatalf("push: %v", err)
	}
	if err := m.Push(ctx, vol); err != nil {
		t.Fatal(err)
	}
	if _, err := fr.Stat(ctx, vol, "report.txt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("report.txt deleted through the API came back after the runs' pushes: %v", err)
	}
}

// Two runs share a volume's local copy: what the first run's code wrote and
// has not pushed yet survives the second run's Fetch (which must neither
// delete it as "gone from the remote" nor overwrite it with the remote's
// older bytes), and the next Push sends it.
func TestFetchKeepsWritesNotPushedYet(t *testing.T) {
	ctx := context.Background()
	vol := store.Space{Org: "o", Kind: store.Volume, ID: "shared"}
	remote := &fileRemote{Store: open(t)}
	local := open(t)
	m := New(remote, local)
	put := func(st store.Backend, p, body string) {
		t.Helper()
		if _, err := st.Put(ctx, vol, p, "", int64(len(body)), bytes.NewReader([]byte(body))); err != nil {
			t.Fatal(err)
		}
	}
	read := func(st store.Backend, p string) string {
		t.Helper()
		rd, err := st.Open(ctx, vol, p)
		if err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		defer rd.Close()
		b, _ := io.ReadAll(rd)
		return string(b)
	}
	put(remote, "old.txt", "remote 1")
	put(remote, "gone.txt", "x")
	if err := m.Fetch(ctx, vol); err != nil { // run A starts
		t.Fatal(err)
	}
	put(local, "new.txt", "written by A") // A's code writes
	put(local, "old.txt", "changed by A") // and changes a file
	put(remote, "old.txt", "remote 2")    // meanwhile through the API
	if err := remote.Delete(ctx, vol, "gone.txt"); err != nil {
		t.Fatal(err)
	}
	if err := m.Fetch(ctx, vol); err != nil { // run B starts before A pushed
		t.Fatal(err)
	}
	if got := read(local, "new.txt"); got != "written by A" {
		t.Errorf("new.txt in the local copy after B's fetch: %q", got)
	}
	if got := read(local, "old.txt"); got != "changed by A" {
		t.Errorf("old.txt in the local copy after B's fetch: %q", got)
	}
	if _, err := local.Stat(ctx, vol, "gone.txt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("gone.txt (deleted remotely, unchanged locally) still in the local copy: %v", err)
	}
	if err := m.Push(ctx, vol); err != nil {
		t.Fatal(err)
	}
	if got := read(remote, "new.txt"); got != "written by A" {
		t.Errorf("new.txt on the remote after the push: %q", got)
	}
	if got := read(remote, "old.txt"); got != "changed by A" {
		t.Errorf("old.txt on the remote after the push: %q (the last writer, A's code, wins)", got)
	}
}
