package mirror

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"

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
