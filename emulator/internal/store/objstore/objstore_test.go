package objstore

import (
	"context"
	"crypto/md5"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/store/storetest"
)

// opener opens stores over one memBucket per test (two calls in one test
// are two replicas on one bucket).
func opener(listsMeta bool) storetest.Opener {
	bucket := storetest.PerTest(func(*testing.T) *memBucket { return newMemBucket(listsMeta) })
	return func(t *testing.T, clk *clock.Clock) store.Backend {
		return New(bucket(t), Options{Name: "mem store", Scheme: "mem", Bucket: "b", Prefix: "pre/fix", CacheModified: !listsMeta, Clock: clk})
	}
}

// TestContract runs the shared store suite over both kinds of bucket: one
// whose listing carries metadata (as GCS's does) and one whose listing
// does not (as S3's does not), so the Head-and-remember path is proved.
func TestContract(t *testing.T) {
	for _, listsMeta := range []bool{true, false} {
		name := "ListingWithMetadata"
		if !listsMeta {
			name = "ListingWithoutMetadata"
		}
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, opener(listsMeta), storetest.Options{Replicas: true})
		})
	}
}

var (
	ctx    = context.Background()
	thread = store.Space{Org: "o", Kind: store.Thread, ID: "t"}
	t0     = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

func newStore(t *testing.T, b *memBucket) (*Store, *clock.Clock) {
	t.Helper()
	clk := clock.NewFrozen(t0)
	return New(b, Options{Name: "mem store", Scheme: "mem", Bucket: "b", CacheModified: !b.listsMeta, Clock: clk}), clk
}

func put(t *testing.T, s *Store, p, body string) store.Object {
	t.Helper()
	o, err := s.Put(ctx, thread, p, "", int64(len(body)), strings.NewReader(body))
	if err != nil {
		t.Fatalf("put %s: %v", p, err)
	}
	return o
}

// TestReaderKeepsItsVersion: a reader reads the version it opened after a
// replacement; a Seek that must fetch again finds that version gone and
// fails with ErrNotFound instead of reading the new bytes.
func TestReaderKeepsItsVersion(t *testing.T) {
	s, _ := newStore(t, newMemBucket(true))
	put(t, s, "f.txt", "first")
	rd, err := s.Open(ctx, thread, "f.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	seeker, err := s.Open(ctx, thread, "f.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer seeker.Close()
	put(t, s, "f.txt", "second")
	if got, err := io.ReadAll(rd); err != nil || string(got) != "first" {
		t.Fatalf("reader of the first version read %q, %v", got, err)
	}
	if _, err := seeker.Seek(2, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(seeker); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "mem store: get") {
		t.Fatalf("ranged read of a replaced version: %q, %v; want a mem store error wrapping ErrNotFound", got, err)
	}
}

// TestReaderSeeks: Seek from each whence, a Seek back re-fetches the
// range, past the end reads EOF, and bad seeks fail.
func TestReaderSeeks(t *testing.T) {
	s, _ := newStore(t, newMemBucket(true))
	put(t, s, "f.txt", "0123456789")
	rd, err := s.Open(ctx, thread, "f.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	read := func(n int) string {
		b := make([]byte, n)
		k, err := io.ReadFull(rd, b)
		if err != nil {
			t.Fatalf("read %d: %v", n, err)
		}
		return string(b[:k])
	}
	if got := read(3); got != "012" {
		t.Fatalf("first read %q", got)
	}
	for _, c := range []struct {
		off    int64
		whence int
		want   int64
		read   string
	}{
		{2, io.SeekCurrent, 5, "56"},
		{-3, io.SeekEnd, 7, "78"},
		{1, io.SeekStart, 1, "12"},
	} {
		at, err := rd.Seek(c.off, c.whence)
		if err != nil || at != c.want {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d", c.off, c.whence, at, err, c.want)
		}
		if got := read(len(c.read)); got != c.read {
			t.Fatalf("after Seek(%d, %d) read %q, want %q", c.off, c.whence, got, c.read)
		}
	}
	if _, err := rd.Seek(20, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if n, err := rd.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("read past the end: %d, %v; want 0, EOF", n, err)
	}
	if _, err := rd.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("Seek to a negative offset succeeded")
	}
	if _, err := rd.Seek(0, 42); err == nil {
		t.Fatal("Seek with a bad whence succeeded")
	}
}

// TestMissingTellsDirFromNothing: Stat, Open and Delete of a directory
// give ErrIsDir, of nothing ErrNotFound, and Delete of a directory
// removes nothing.
func TestMissingTellsDirFromNothing(t *testing.T) {
	s, _ := newStore(t, newMemBucket(false))
	put(t, s, "d/f.txt", "x")
	for _, c := range []struct {
		p    string
		want error
	}{{"d", store.ErrIsDir}, {"nothing", store.ErrNotFound}, {"d/f", store.ErrNotFound}} {
		if _, err := s.Stat(ctx, thread, c.p); !errors.Is(err, c.want) {
			t.Errorf("stat %s: %v, want %v", c.p, err, c.want)
		}
		if _, err := s.Open(ctx, thread, c.p); !errors.Is(err, c.want) {
			t.Errorf("open %s: %v, want %v", c.p, err, c.want)
		}
		if err := s.Delete(ctx, thread, c.p); !errors.Is(err, c.want) {
			t.Errorf("delete %s: %v, want %v", c.p, err, c.want)
		}
	}
	if _, err := s.Stat(ctx, thread, "d/f.txt"); err != nil {
		t.Fatalf("d/f.txt after the failed deletes: %v", err)
	}
	if err := s.Delete(ctx, thread, "../x"); !errors.Is(err, store.ErrInvalidPath) {
		t.Errorf("delete ../x: %v, want ErrInvalidPath", err)
	}
}

// TestListHeadsOnlyWhatItHasNotSeen: over a listing without metadata, a
// file this store wrote needs no Head, one another replica wrote costs one
// Head (then none), and one deleted between the listing and its Head keeps
// the listing's time. Over a listing with metadata, no Head at all.
func TestListHeadsOnlyWhatItHasNotSeen(t *testing.T) {
	b := newMemBucket(false)
	a, clk := newStore(t, b)
	other := New(b, Options{Name: "mem store", CacheModified: true, Clock: clk})
	put(t, a, "mine.txt", "1")
	clk.Set(t0.Add(time.Hour))
	if _, err := other.Put(ctx, thread, "theirs.txt", "", 1, strings.NewReader("2")); err != nil {
		t.Fatal(err)
	}
	before := b.headCount()
	list := func() map[string]time.Time {
		t.Helper()
		es, err := a.List(ctx, thread, "")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]time.Time{}
		for _, e := range es {
			out[e.Path] = e.Modified
		}
		return out
	}
	got := list()
	if n := b.headCount() - before; n != 1 {
		t.Errorf("first listing sent %d Heads, want 1 (for theirs.txt)", n)
	}
	if !got["mine.txt"].Equal(t0) || !got["theirs.txt"].Equal(t0.Add(time.Hour)) {
		t.Errorf("modified times %v; want mine.txt at %v, theirs.txt an hour later", got, t0)
	}
	before = b.headCount()
	list()
	if n := b.headCount() - before; n != 0 {
		t.Errorf("second listing sent %d Heads, want 0", n)
	}

	// Replaced by the other replica: a new ETag, so one Head again; this
	// time the object goes before the Head arrives.
	if _, err := other.Put(ctx, thread, "theirs.txt", "", 1, strings.NewReader("3")); err != nil {
		t.Fatal(err)
	}
	b.beforeHead = func(key string) { b.Delete(ctx, key) }
	got = list()
	b.beforeHead = nil
	if !got["theirs.txt"].Equal(b.updated) {
		t.Errorf("theirs.txt deleted before its Head: modified %v, want the listing's %v", got["theirs.txt"], b.updated)
	}

	g := newMemBucket(true)
	s, _ := newStore(t, g)
	o := New(g, Options{Name: "mem store"})
	if _, err := o.Put(ctx, thread, "f", "", 1, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	before = g.headCount()
	if _, err := s.List(ctx, thread, ""); err != nil {
		t.Fatal(err)
	}
	if n := g.headCount() - before; n != 0 {
		t.Errorf("a listing with metadata sent %d Heads, want 0", n)
	}
}

// TestListDerivesDirectories: directories come from the keys, with the
// newest modified time under them, in byte order, filtered by prefix as a
// plain string; keys the Files API cannot address are left out.
func TestListDerivesDirectories(t *testing.T) {
	b := newMemBucket(true)
	s, clk := newStore(t, b)
	put(t, s, "a/b/c.txt", "1")
	clk.Set(t0.Add(time.Minute))
	put(t, s, "a/d.txt", "22")
	put(t, s, "a-b", "333")
	// Written straight into the bucket: not addressable.
	b.Write(ctx, Upload{Key: s.Key(thread, "x") + "//y", Size: 0, Body: strings.NewReader(""), Now: clk.Now})
	es, err := s.List(ctx, thread, "a")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range es {
		paths = append(paths, e.Path)
		if e.Path == "a" && (!e.IsDir || !e.Modified.Equal(t0.Add(time.Minute))) {
			t.Errorf("dir a: %+v, want a directory modified at its newest file's time", e)
		}
		if e.Path == "a/b" && !e.Modified.Equal(t0) {
			t.Errorf("dir a/b: %+v, want modified %v", e, t0)
		}
	}
	if want := "a a-b a/b a/b/c.txt a/d.txt"; strings.Join(paths, " ") != want {
		t.Errorf("paths %q, want %q", strings.Join(paths, " "), want)
	}
	es, err = s.List(ctx, thread, "a/b/")
	if err != nil || len(es) != 1 || es[0].Path != "a/b/c.txt" {
		t.Errorf("list a/b/: %+v, %v; want only a/b/c.txt", es, err)
	}
	if _, err := s.List(ctx, store.Space{Org: "o", Kind: store.Thread, ID: "none"}, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("list of a space that does not exist: %v, want ErrNotFound", err)
	}
}

// TestSpacesAndMarkers: a marker is written once per store, markers of
// other shapes are ignored, and removing t1 keeps t10 (whose marker key
// t1's prefixes).
func TestSpacesAndMarkers(t *testing.T) {
	b := newMemBucket(true)
	s, _ := newStore(t, b)
	t1 := store.Space{Org: "o", Kind: store.Thread, ID: "t1"}
	t10 := store.Space{Org: "o", Kind: store.Thread, ID: "t10"}
	v := store.Space{Org: "p", Kind: store.Volume, ID: "v"}
	for _, sp := range []store.Space{t10, t1, v} {
		if err := s.Create(sp); err != nil {
			t.Fatal(err)
		}
	}
	for _, junk := range []string{".spaces/orgs/o/other/x", ".spaces/orgs/o/threads/t/extra", ".spaces/orgs/o/threads"} {
		b.CreateMarker(ctx, junk)
	}
	spaces := func(org string) string {
		sps, err := s.Spaces(org)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, sp := range sps {
			keys = append(keys, sp.Key())
		}
		return strings.Join(keys, " ")
	}
	if got, want := spaces(""), t1.Key()+" "+t10.Key()+" "+v.Key(); got != want {
		t.Errorf("spaces: %q, want %q", got, want)
	}
	if got := spaces("p"); got != v.Key() {
		t.Errorf("spaces of p: %q", got)
	}
	if _, err := s.Put(ctx, t1, "f", "", 1, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveSpace(t1); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Exists(t10); err != nil || !ok {
		t.Errorf("t10 exists: %v, %v after removing t1", ok, err)
	}
	if ok, err := s.Exists(t1); err != nil || ok {
		t.Errorf("t1 exists: %v, %v after removing it", ok, err)
	}
	// The store forgot t1's marker: a new upload writes it again.
	if _, err := s.Put(ctx, t1, "g", "", 1, strings.NewReader("y")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Head(ctx, s.MarkerKey(t1)); err != nil {
		t.Errorf("t1's marker after an upload into the removed space: %v", err)
	}
	if err := s.RemoveOrg("o"); err != nil {
		t.Fatal(err)
	}
	if got := spaces(""); got != v.Key() {
		t.Errorf("spaces after removing org o: %q, want only %q", got, v.Key())
	}
	if err := s.RemoveOrg("../x"); !errors.Is(err, store.ErrInvalidPath) && err == nil {
		t.Errorf("RemoveOrg(../x): %v, want an error", err)
	}
}

// TestUploadChecks: the checks every Bucket's Write shares.
func TestUploadChecks(t *testing.T) {
	s, _ := newStore(t, newMemBucket(true))
	cut := errors.New("connection reset (test)")
	for _, c := range []struct {
		name string
		size int64
		body io.Reader
		want error
	}{
		{"short", 5, strings.NewReader("abc"), store.ErrSizeMismatch},
		{"long", 2, strings.NewReader("abc"), store.ErrSizeMismatch},
		{"negative", -1, strings.NewReader(""), store.ErrSizeMismatch},
		{"cut", 5, io.MultiReader(strings.NewReader("ab"), errReader{cut}), cut},
	} {
		if _, err := s.Put(ctx, thread, c.name, "", c.size, c.body); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if _, err := s.Stat(ctx, thread, c.name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s after a failed upload: %v, want not found", c.name, err)
		}
	}
	sum := md5.Sum([]byte("abc"))
	if _, err := s.PutMD5(ctx, thread, "bad", "", 3, strings.NewReader("abd"), sum[:]); !errors.Is(err, store.ErrBadDigest) {
		t.Errorf("wrong MD5: %v, want ErrBadDigest", err)
	}
	o, err := s.PutMD5(ctx, thread, "good.txt", "", 3, strings.NewReader("abc"), sum[:])
	if err != nil || o.MD5 != "900150983cd24fb0d6963f7d28e17f72" || o.ContentType != store.GuessType("good.txt") || !o.Modified.Equal(t0) {
		t.Errorf("PutMD5: %+v, %v", o, err)
	}
	if err := ReadFull(strings.NewReader("ab"), make([]byte, 3), 10, 13); !errors.Is(err, store.ErrSizeMismatch) || !strings.Contains(err.Error(), "after 12 of 13") {
		t.Errorf("ReadFull of a short body: %v", err)
	}
	if err := Copied(3, 3, nil); err != nil {
		t.Errorf("Copied of every byte: %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestStagingSwitchesIn: what is written to a staging area is invisible
// until Commit, then it is the store's content (with the staging clock's
// times), and the staging keys are gone.
func TestStagingSwitchesIn(t *testing.T) {
	b := newMemBucket(false)
	s, _ := newStore(t, b)
	put(t, s, "old.txt", "old")
	t1 := t0.Add(24 * time.Hour)
	st, err := s.NewStaging(ctx, clock.NewFrozen(t1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store().Put(ctx, thread, "new.txt", "", 3, strings.NewReader("new")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, thread, "new.txt"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("staged file visible before Commit: %v", err)
	}
	if err := st.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, thread, "old.txt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old.txt after the commit: %v, want gone", err)
	}
	es, err := s.List(ctx, thread, "")
	if err != nil || len(es) != 1 || es[0].Path != "new.txt" || !es[0].Modified.Equal(t1) {
		t.Errorf("listing after the commit: %+v, %v; want new.txt at %v", es, err, t1)
	}
	if keys := b.keys(stagingDir); len(keys) != 0 {
		t.Errorf("staging keys left: %v", keys)
	}
	if got := s.Describe(); got != "mem://b/" {
		t.Errorf("Describe: %q", got)
	}
}
