package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
)

var t0 = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// newStore opens a temporary store on a frozen clock; Close runs at cleanup.
func newStore(t testing.TB) (*Store, *clock.Clock) {
	t.Helper()
	clk := clock.NewFrozen(t0)
	s, err := Open("", clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, clk
}

func thread(id string) Space { return Space{Org: "org1", Kind: Thread, ID: id} }

func put(t *testing.T, s *Store, sp Space, p, content string) Object {
	t.Helper()
	obj, err := s.Put(context.Background(), sp, p, "", int64(len(content)), strings.NewReader(content))
	if err != nil {
		t.Fatalf("Put %s: %v", p, err)
	}
	return obj
}

func read(t *testing.T, s *Store, sp Space, p string) string {
	t.Helper()
	r, err := s.Open(context.Background(), sp, p)
	if err != nil {
		t.Fatalf("Open %s: %v", p, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(b)
}

func paths(es []Entry) []string {
	out := []string{}
	for _, e := range es {
		if e.IsDir {
			out = append(out, e.Path+"/")
		} else {
			out = append(out, e.Path)
		}
	}
	return out
}

func list(t *testing.T, s *Store, sp Space, prefix string) []Entry {
	t.Helper()
	es, err := s.List(context.Background(), sp, prefix)
	if err != nil {
		t.Fatalf("List %q: %v", prefix, err)
	}
	return es
}

// assertTmpEmpty checks that no upload left a temp file behind.
func assertTmpEmpty(t *testing.T, s *Store) {
	t.Helper()
	names, err := os.ReadDir(filepath.Join(s.Dir(), tmpDirName))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 0 {
		t.Errorf("temp files left behind: %v", names)
	}
}

func TestOpenTemporaryRemovedOnClose(t *testing.T) {
	s, err := Open("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := s.Dir()
	if !filepath.IsAbs(dir) {
		t.Errorf("Dir %q is not absolute", dir)
	}
	put(t, s, thread("t"), "a/b.txt", "x")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary dir %s still there after Close: %v", dir, err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenDirKeptAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := Open(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, thread("t"), "keep.txt", "kept")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := read(t, s2, thread("t"), "keep.txt"); got != "kept" {
		t.Errorf("after reopen read %q", got)
	}
	if want := filepath.Join(dir, "orgs", "org1", "threads", "t"); s2.SpaceDir(thread("t")) != want {
		t.Errorf("SpaceDir = %q, want %q", s2.SpaceDir(thread("t")), want)
	}
}

func TestExistsCreate_S4(t *testing.T) {
	s, _ := newStore(t)
	sp := thread("t")
	if ok, err := s.Exists(sp); ok || err != nil {
		t.Fatalf("Exists before = %v, %v", ok, err)
	}
	if err := s.Create(sp); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Exists(sp); !ok || err != nil {
		t.Fatalf("Exists after Create = %v, %v", ok, err)
	}
	if err := s.Create(sp); err != nil {
		t.Errorf("second Create: %v", err)
	}
	if es := list(t, s, sp, ""); es == nil || len(es) != 0 {
		t.Errorf("empty space lists %#v, want non-nil empty", es)
	}
	// An upload creates a thread that does not exist yet (S-4).
	sp2 := thread("new")
	put(t, s, sp2, "f", "1")
	if ok, _ := s.Exists(sp2); !ok {
		t.Error("Put did not create the thread")
	}
	for _, bad := range []Space{{Org: "..", Kind: Thread, ID: "t"}, {Org: "o", Kind: Thread, ID: "a/b"}, {Org: "o", Kind: "bucket", ID: "t"}} {
		if _, err := s.Exists(bad); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("Exists(%v) = %v, want ErrInvalidPath", bad, err)
		}
		if err := s.Create(bad); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("Create(%v) = %v, want ErrInvalidPath", bad, err)
		}
		if _, err := s.Put(context.Background(), bad, "x", "", 0, strings.NewReader("")); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("Put(%v) = %v, want ErrInvalidPath", bad, err)
		}
	}
}

func TestRoundTrip_L1_D3_X1(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	sp := thread("my-thread-123")
	content := "a,b\n1,2\n"
	obj, err := s.Put(ctx, sp, "data/output.csv", "text/csv", int64(len(content)), strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if obj.Path != "data/output.csv" || obj.Size != int64(len(content)) || obj.ContentType != "text/csv" || !obj.Modified.Equal(t0) {
		t.Errorf("Put object = %+v", obj)
	}
	if len(obj.ETag) < 3 || obj.ETag[0] != '"' || obj.ETag[len(obj.ETag)-1] != '"' {
		t.Errorf("ETag %q is not quoted", obj.ETag)
	}
	st, err := s.Stat(ctx, sp, "data/output.csv")
	if err != nil || st != obj {
		t.Errorf("Stat = %+v, %v; want %+v", st, err, obj)
	}
	r, err := s.Open(ctx, sp, "data/output.csv")
	if err != nil {
		t.Fatal(err)
	}
	if r.Object != obj {
		t.Errorf("Reader object = %+v, want %+v", r.Object, obj)
	}
	// Range requests need Seek.
	if _, err := r.Seek(4, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	r.Close()
	if string(rest) != content[4:] {
		t.Errorf("after Seek read %q", rest)
	}

	clk.Advance(90 * time.Second)
	put(t, s, sp, "model.pkl", "pickle")
	es := list(t, s, sp, "")
	want := []Entry{
		{Name: "data", Path: "data", Modified: t0, IsDir: true},
		{Name: "output.csv", Path: "data/output.csv", Size: int64(len(content)), Modified: t0},
		{Name: "model.pkl", Path: "model.pkl", Size: 6, Modified: t0.Add(90 * time.Second)},
	}
	if fmt.Sprint(es) != fmt.Sprint(want) {
		t.Errorf("List = %v\nwant   %v", es, want)
	}

	if err := s.Delete(ctx, sp, "data/output.csv"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, sp, "data/output.csv"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open after Delete = %v, want ErrNotFound", err)
	}
	if got := paths(list(t, s, sp, "")); fmt.Sprint(got) != "[model.pkl]" {
		t.Errorf("List after Delete = %v (data/ must vanish with its last file)", got)
	}
	if ok, _ := s.Exists(sp); !ok {
		t.Error("Delete removed the space itself")
	}
	// The sidecar went with the file.
	metas, _ := os.ReadDir(filepath.Join(s.Dir(), metaDirName, filepath.FromSlash(sp.Key())))
	if len(metas) != 0 {
		t.Errorf("sidecars left after Delete: %v", metas)
	}
	assertTmpEmpty(t, s)
}

func TestEmptyFile_U3(t *testing.T) {
	s, _ := newStore(t)
	obj := put(t, s, thread("t"), "empty", "")
	if obj.Size != 0 {
		t.Errorf("size %d", obj.Size)
	}
	if got := read(t, s, thread("t"), "empty"); got != "" {
		t.Errorf("read %q", got)
	}
}

func TestContentType(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	sp := thread("t")
	tests := []struct {
		path, sent, want string
	}{
		{"a.json", "application/x-custom", "application/x-custom"},
		{"b.json", "", "application/json"},
		{"c.unknownext", "", "application/octet-stream"},
		{"noext", "", "application/octet-stream"},
	}
	for _, tt := range tests {
		obj, err := s.Put(ctx, sp, tt.path, tt.sent, 2, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.Stat(ctx, sp, tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if obj.ContentType != tt.want || st.ContentType != tt.want {
			t.Errorf("%s sent %q: Put %q, Stat %q; want %q", tt.path, tt.sent, obj.ContentType, st.ContentType, tt.want)
		}
	}
	// Sandboxed code rewrote the file: the recorded type no longer applies.
	if err := os.WriteFile(filepath.Join(s.SpaceDir(sp), "a.json"), []byte(`{"x":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stat(ctx, sp, "a.json"); st.ContentType != "application/json" {
		t.Errorf("after outside change content type %q, want the extension's", st.ContentType)
	}
}

func TestETagStableUntilChanged(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	sp := thread("t")
	first := put(t, s, sp, "f", "one")
	a, _ := s.Stat(ctx, sp, "f")
	b, _ := s.Stat(ctx, sp, "f")
	if a.ETag != b.ETag || a.ETag != first.ETag {
		t.Errorf("ETag not stable: %q %q %q", first.ETag, a.ETag, b.ETag)
	}
	// Same size, same (frozen) time: the new inode still changes it.
	second := put(t, s, sp, "f", "two")
	if second.ETag == first.ETag {
		t.Errorf("ETag unchanged after replace: %q", second.ETag)
	}
	// Delete and upload again: the inode may be recycled, the ETag must not.
	if err := s.Delete(ctx, sp, "f"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // let the kernel's coarse ctime clock tick
	third := put(t, s, sp, "f", "333")
	if third.ETag == second.ETag {
		t.Errorf("ETag %q reused after delete and re-upload", third.ETag)
	}
}

func TestPutSizeMismatch_U6(t *testing.T) {
	tests := []struct {
		name string
		body string
		size int64
	}{
		{"short", "abc", 4},
		{"long", "abcde", 4},
		{"empty body", "", 1},
		{"body for empty", "x", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			ctx := context.Background()
			sp := thread("t")
			put(t, s, sp, "keep.txt", "earlier")
			for _, p := range []string{"keep.txt", "new/file.txt"} {
				_, err := s.Put(ctx, sp, p, "text/plain", tt.size, strings.NewReader(tt.body))
				if !errors.Is(err, ErrSizeMismatch) {
					t.Fatalf("Put %s = %v, want ErrSizeMismatch", p, err)
				}
				if !strings.Contains(err.Error(), fmt.Sprint(tt.size)) {
					t.Errorf("error %q does not give the declared size", err)
				}
			}
			if got := read(t, s, sp, "keep.txt"); got != "earlier" {
				t.Errorf("earlier file now %q", got)
			}
			if got := paths(list(t, s, sp, "")); fmt.Sprint(got) != "[keep.txt]" {
				t.Errorf("List = %v, want only keep.txt", got)
			}
			assertTmpEmpty(t, s)
		})
	}
	t.Run("negative", func(t *testing.T) {
		s, _ := newStore(t)
		if _, err := s.Put(context.Background(), thread("t"), "x", "", -1, strings.NewReader("")); !errors.Is(err, ErrSizeMismatch) {
			t.Errorf("Put size -1 = %v", err)
		}
	})
}

func TestFailedFirstUploadCreatesNothing_U6(t *testing.T) {
	s, _ := newStore(t)
	sp := thread("never")
	if _, err := s.Put(context.Background(), sp, "a/b", "", 5, strings.NewReader("ab")); !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("Put = %v", err)
	}
	if ok, _ := s.Exists(sp); ok {
		t.Error("a failed upload created the thread")
	}
}

// errReader yields some bytes, then an error.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestPutBodyErrorAndCancel_U6(t *testing.T) {
	s, _ := newStore(t)
	sp := thread("t")
	put(t, s, sp, "f", "earlier")
	boom := errors.New("connection reset")

	_, err := s.Put(context.Background(), sp, "f", "", 100, &errReader{data: []byte("partial"), err: boom})
	if !errors.Is(err, boom) {
		t.Errorf("Put with failing body = %v, want %v", err, boom)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, sp, "f", "", 3, strings.NewReader("new")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with cancelled ctx = %v", err)
	}

	// Cancelled in the middle of the body.
	ctx, cancel = context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() {
		pw.Write(bytes.Repeat([]byte("x"), 1000))
		cancel()
		pw.Write([]byte("more"))
		pw.Close()
	}()
	if _, err := s.Put(ctx, sp, "f", "", 2000, pr); !errors.Is(err, context.Canceled) {
		t.Errorf("Put cancelled midway = %v", err)
	}
	pr.CloseWithError(errors.New("test over"))

	if got := read(t, s, sp, "f"); got != "earlier" {
		t.Errorf("earlier file now %q", got)
	}
	assertTmpEmpty(t, s)
}

func TestReplaceIsAtomic_U6(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	sp := thread("t")
	put(t, s, sp, "f", "old bytes")
	r, err := s.Open(ctx, sp, "f")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	put(t, s, sp, "f", "new bytes, longer")
	old, err := io.ReadAll(r)
	if err != nil || string(old) != "old bytes" {
		t.Errorf("reader opened before replace read %q, %v", old, err)
	}
	if got := read(t, s, sp, "f"); got != "new bytes, longer" {
		t.Errorf("after replace read %q", got)
	}
	// Replacing left exactly one sidecar-free state: Stat reflects the new file.
	if st, _ := s.Stat(ctx, sp, "f"); st.Size != int64(len("new bytes, longer")) {
		t.Errorf("Stat size %d", st.Size)
	}
}

func TestPutIntoFileOrOverDirectory(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	sp := thread("t")
	put(t, s, sp, "a", "file")
	put(t, s, sp, "d/x", "in d")
	tests := []struct {
		path string
		want error
	}{
		{"a/b", ErrInvalidPath},
		{"a/b/c", ErrInvalidPath},
		{"d", ErrIsDir},
	}
	for _, tt := range tests {
		_, err := s.Put(ctx, sp, tt.path, "", 1, strings.NewReader("z"))
		if !errors.Is(err, tt.want) {
			t.Errorf("Put %q = %v, want %v", tt.path, err, tt.want)
		}
	}
	if got := read(t, s, sp, "a"); got != "file" {
		t.Errorf("a = %q", got)
	}
	if _, err := s.Put(ctx, sp, "a/b", "", 1, strings.NewReader("z")); err == nil || !strings.Contains(err.Error(), `"a" is a file`) {
		t.Errorf("message does not name the file in the way: %v", err)
	}
	assertTmpEmpty(t, s)
}

func TestOpenStatErrors_D2(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	sp := thread("t")
	put(t, s, sp, "dir/f", "x")
	tests := []struct {
		space Space
		path  string
		want  error
	}{
		{sp, "missing", ErrNotFound},
		{sp, "dir/missing", ErrNotFound},
		{sp, "dir/f/under-a-file", ErrNotFound},
		{sp, "dir", ErrIsDir},
		{thread("nope"), "f", ErrNotFound},
		{sp, "../t/dir/f", ErrInvalidPath},
		{sp, "", ErrInvalidPath},
	}
	for _, tt := range tests {
		if _, err := s.Open(ctx, tt.space, tt.path); !errors.Is(err, tt.want) {
			t.Errorf("Open %v %q = %v, want %v", tt.space.ID, tt.path, err, tt.want)
		}
		if _, err := s.Stat(ctx, tt.space, tt.path); !errors.Is(err, tt.want) {
			t.Errorf("Stat %v %q = %v, want %v", tt.space.ID, tt.path, err, tt.want)
		}
	}
}

func TestListPrefix_L3_L4(t *testing.T) {
	s, _ := newStore(t)
	sp := thread("t")
	for _, p := range []string{"model.pkl", "data/sub/b.txt", "data.csv", "data/a.txt", "database/x", "B", "a", "data-x"} {
		put(t, s, sp, p, "x")
	}
	tests := []struct {
		prefix string
		want   string
	}{
		{"", "[B a data/ data-x data.csv data/a.txt data/sub/ data/sub/b.txt database/ database/x model.pkl]"},
		{"data", "[data/ data-x data.csv data/a.txt data/sub/ data/sub/b.txt database/ database/x]"},
		{"data/", "[data/a.txt data/sub/ data/sub/b.txt]"},
		{"data/s", "[data/sub/ data/sub/b.txt]"},
		{"data/sub/b.txt", "[data/sub/b.txt]"},
		{"model.pkl", "[model.pkl]"},
		{"nomatch", "[]"},
		{"data/sub/b.txt/", "[]"},
	}
	for _, tt := range tests {
		es := list(t, s, sp, tt.prefix)
		if es == nil {
			t.Errorf("List %q returned nil", tt.prefix)
		}
		if got := fmt.Sprint(paths(es)); got != tt.want {
			t.Errorf("List %q = %s\nwant          %s", tt.prefix, got, tt.want)
		}
		for _, e := range es {
			if e.Name != e.Path[strings.LastIndexByte(e.Path, '/')+1:] {
				t.Errorf("entry %q has name %q", e.Path, e.Name)
			}
			if e.IsDir && e.Size != 0 {
				t.Errorf("dir %q has size %d", e.Path, e.Size)
			}
		}
	}
}

func TestListDirectoryModified_L4(t *testing.T) {
	s, clk := newStore(t)
	sp := thread("t")
	put(t, s, sp, "d/a", "1")
	clk.Advance(time.Minute)
	put(t, s, sp, "d/sub/b", "2")
	clk.Advance(time.Minute)
	put(t, s, sp, "other", "3")
	// An empty directory made by sandboxed code keeps its own mtime.
	empty := filepath.Join(s.SpaceDir(sp), "d", "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	own := t0.Add(-time.Hour)
	if err := os.Chtimes(empty, own, own); err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Time{}
	for _, e := range list(t, s, sp, "") {
		got[e.Path] = e.Modified
	}
	want := map[string]time.Time{
		"d":       t0.Add(time.Minute),
		"d/a":     t0,
		"d/sub":   t0.Add(time.Minute),
		"d/sub/b": t0.Add(time.Minute),
		"d/empty": own,
		"other":   t0.Add(2 * time.Minute),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("modified = %v\nwant       %v", got, want)
	}
}

func TestListMany(t *testing.T) {
	s, _ := newStore(t)
	sp := thread("t")
	dir := s.SpaceDir(sp)
	const n = 3000
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("d%02d", i%30), fmt.Sprintf("f%04d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	es := list(t, s, sp, "")
	if len(es) != n+30 {
		t.Fatalf("listed %d entries, want %d", len(es), n+30)
	}
	for i := 1; i < len(es); i++ {
		if es[i-1].Path >= es[i].Path {
			t.Fatalf("not sorted at %d: %q >= %q", i, es[i-1].Path, es[i].Path)
		}
	}
}

func TestListSkipsUnaddressableNames(t *testing.T) {
	s, _ := newStore(t)
	sp := thread("t")
	put(t, s, sp, "ok", "x")
	if err := os.WriteFile(filepath.Join(s.SpaceDir(sp), "bad\nname"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(paths(list(t, s, sp, ""))); got != "[ok]" {
		t.Errorf("List = %s", got)
	}
}

func TestListMissingSpace_L5(t *testing.T) {
	s, _ := newStore(t)
	if _, err := s.List(context.Background(), thread("nope"), ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("List of missing space = %v", err)
	}
}

func TestDelete_X2_X3(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	sp := thread("t")
	put(t, s, sp, "a/b/c", "1")
	put(t, s, sp, "a/keep", "2")
	tests := []struct {
		space Space
		path  string
		want  error
	}{
		{sp, "a", ErrIsDir},
		{sp, "a/b", ErrIsDir},
		{sp, "missing", ErrNotFound},
		{sp, "a/b/c/d", ErrNotFound},
		{sp, "x/y", ErrNotFound},
		{thread("nope"), "a/keep", ErrNotFound},
		{sp, "a/../a/keep", ErrInvalidPath},
	}
	for _, tt := range tests {
		if err := s.Delete(ctx, tt.space, tt.path); !errors.Is(err, tt.want) {
			t.Errorf("Delete %s %q = %v, want %v", tt.space.ID, tt.path, err, tt.want)
		}
	}
	if err := s.Delete(ctx, sp, "a/b/c"); err != nil {
		t.Fatal(err)
	}
	// a/b is pruned, a stays (it still holds keep).
	if got := fmt.Sprint(paths(list(t, s, sp, ""))); got != "[a/ a/keep]" {
		t.Errorf("after delete List = %s", got)
	}
	if err := s.Delete(ctx, sp, "a/b/c"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete = %v", err)
	}
}

// escapeFixture makes thread "a" whose sandboxed code planted symlinks that
// point at a file outside the store, at sibling thread "b", and at directories
// outside both. It returns the outside directory.
func escapeFixture(t *testing.T, s *Store) (outside string) {
	t.Helper()
	outside = t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("outside secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	put(t, s, thread("b"), "secret", "sibling secret")
	put(t, s, thread("a"), "own.txt", "mine")
	adir := s.SpaceDir(thread("a"))
	bdir := s.SpaceDir(thread("b"))
	links := map[string]string{
		"passwd":        "/etc/passwd",
		"outfile":       filepath.Join(outside, "secret"),
		"sib-rel":       "../b/secret",
		"sib-abs":       filepath.Join(bdir, "secret"),
		"etcdir":        "/etc",
		"outdir":        outside,
		"sibdir":        "../b",
		"sibdir-abs":    bdir,
		"up":            "..",
		"store-root":    s.Dir(),
		"dangling":      "/nonexistent/x",
		"inside-link":   "own.txt",
		"inside-dirlnk": ".",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(adir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return outside
}

func TestSymlinkEscapes_P1(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	outside := escapeFixture(t, s)
	a, b := thread("a"), thread("b")

	reads := []string{
		"passwd", "outfile", "sib-rel", "sib-abs", "dangling", "inside-link",
		"etcdir/passwd", "outdir/secret", "sibdir/secret", "sibdir-abs/secret", "up/b/secret",
		"store-root/orgs/org1/threads/b/secret", "etcdir", "outdir", "sibdir",
	}
	for _, p := range reads {
		if r, err := s.Open(ctx, a, p); err == nil {
			data, _ := io.ReadAll(r)
			r.Close()
			t.Errorf("Open %q succeeded and read %q", p, data)
		} else if !errors.Is(err, ErrNotFound) {
			t.Errorf("Open %q = %v, want ErrNotFound", p, err)
		}
		if _, err := s.Stat(ctx, a, p); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat %q = %v, want ErrNotFound", p, err)
		}
	}

	writes := []string{"outdir/new", "sibdir/new", "sibdir-abs/new", "etcdir/localbaponi-test", "up/b/new", "store-root/new", "outdir/secret", "sibdir/secret"}
	for _, p := range writes {
		if _, err := s.Put(ctx, a, p, "", 5, strings.NewReader("owned")); err == nil {
			t.Errorf("Put %q succeeded", p)
		}
	}
	for _, p := range []string{"outdir/secret", "sibdir/secret", "sib-rel", "sib-abs", "outfile", "passwd", "etcdir/passwd", "up/b/secret"} {
		if err := s.Delete(ctx, a, p); err == nil {
			t.Errorf("Delete %q succeeded", p)
		}
	}
	for _, prefix := range []string{"", "sibdir/", "outdir/", "etcdir/", "up/", "inside-dirlnk/"} {
		for _, e := range list(t, s, a, prefix) {
			if e.Path != "own.txt" {
				t.Errorf("List %q shows %q", prefix, e.Path)
			}
		}
	}

	// Nothing outside thread a was read, changed or removed.
	if got, _ := os.ReadFile(filepath.Join(outside, "secret")); string(got) != "outside secret" {
		t.Errorf("outside file now %q", got)
	}
	if names, _ := os.ReadDir(outside); len(names) != 1 {
		t.Errorf("outside dir now holds %v", names)
	}
	if got := read(t, s, b, "secret"); got != "sibling secret" {
		t.Errorf("sibling file now %q", got)
	}
	if got := fmt.Sprint(paths(list(t, s, b, ""))); got != "[secret]" {
		t.Errorf("sibling thread now lists %s", got)
	}
	if _, err := os.Lstat("/etc/localbaponi-test"); err == nil {
		t.Error("a file was written into /etc")
	}
	if names, _ := os.ReadDir(s.Dir()); len(names) != 5 { // .instances .localbaponi-format .meta .tmp orgs
		t.Errorf("store root now holds %v", names)
	}
	assertTmpEmpty(t, s)

	// Uploading over a planted symlink replaces the link itself, never its target.
	put(t, s, a, "sib-rel", "replaced")
	if got := read(t, s, a, "sib-rel"); got != "replaced" {
		t.Errorf("replaced link reads %q", got)
	}
	if got := read(t, s, b, "secret"); got != "sibling secret" {
		t.Errorf("sibling file changed through a replaced link: %q", got)
	}
}

func TestFIFODoesNotBlock(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	sp := thread("t")
	put(t, s, sp, "real", "x")
	if err := syscall.Mkfifo(filepath.Join(s.SpaceDir(sp), "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := s.Open(ctx, sp, "fifo"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open fifo = %v, want ErrNotFound", err)
		}
		if _, err := s.Stat(ctx, sp, "fifo"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat fifo = %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, sp, "fifo"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete fifo = %v, want ErrNotFound", err)
		}
		if got := fmt.Sprint(paths(list(t, s, sp, ""))); got != "[real]" {
			t.Errorf("List = %s", got)
		}
		if err := s.TouchSince(sp, time.Now().Add(-time.Hour)); err != nil {
			t.Errorf("TouchSince = %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("an operation blocked on a FIFO")
	}
}

func TestStalledPutBlocksNothing(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	sp := thread("t")
	put(t, s, sp, "existing", "here")

	pr, pw := io.Pipe()
	stalled := make(chan error, 1)
	go func() {
		_, err := s.Put(ctx, sp, "big", "", 1<<30, pr)
		stalled <- err
	}()
	pw.Write([]byte("a first chunk that then never continues"))

	done := make(chan struct{})
	go func() {
		defer close(done)
		if got := read(t, s, sp, "existing"); got != "here" {
			t.Errorf("read %q", got)
		}
		put(t, s, sp, "other", "x")
		put(t, s, thread("t2"), "other", "x")
		if got := fmt.Sprint(paths(list(t, s, sp, ""))); got != "[existing other]" {
			t.Errorf("List during stalled Put = %s", got)
		}
		if _, err := s.Stat(ctx, sp, "big"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat of in-flight upload = %v", err)
		}
		if err := s.Delete(ctx, sp, "other"); err != nil {
			t.Errorf("Delete: %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("operations waited for a stalled Put")
	}
	select {
	case err := <-stalled:
		t.Fatalf("stalled Put returned early: %v", err)
	default:
	}
	pw.CloseWithError(errors.New("client went away"))
	if err := <-stalled; err == nil {
		t.Error("stalled Put succeeded")
	}
	assertTmpEmpty(t, s)
}

func TestTouchSince(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	sp := thread("t")
	if _, err := s.Put(ctx, sp, "uploaded.json", "application/x-mine", 2, strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * ctimeSlack)
	since := time.Now()
	time.Sleep(10 * time.Millisecond)

	// What sandboxed code does, with real-time mtimes.
	dir := s.SpaceDir(sp)
	if err := os.MkdirAll(filepath.Join(dir, "out", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"new.txt", "out/r.csv", "out/deep/x"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	linkBefore, _ := os.Lstat(filepath.Join(dir, "link"))
	passwdBefore, _ := os.Stat("/etc/passwd")

	t1 := t0.Add(24 * time.Hour)
	clk.Set(t1)
	if err := s.TouchSince(sp, since); err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Time{}
	for _, e := range list(t, s, sp, "") {
		got[e.Path] = e.Modified
	}
	want := map[string]time.Time{
		"new.txt": t1, "out": t1, "out/r.csv": t1, "out/deep": t1, "out/deep/x": t1,
		"uploaded.json": t0,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("modified = %v\nwant       %v", got, want)
	}
	if st, _ := s.Stat(ctx, sp, "uploaded.json"); st.ContentType != "application/x-mine" {
		t.Errorf("upload lost its content type: %q", st.ContentType)
	}
	linkAfter, _ := os.Lstat(filepath.Join(dir, "link"))
	if !linkAfter.ModTime().Equal(linkBefore.ModTime()) {
		t.Error("TouchSince changed a symlink")
	}
	if passwdAfter, _ := os.Stat("/etc/passwd"); !passwdAfter.ModTime().Equal(passwdBefore.ModTime()) {
		t.Error("TouchSince followed a symlink out of the space")
	}

	// An upload made while code ran keeps its content type when re-stamped.
	since = time.Now()
	if _, err := s.Put(ctx, sp, "during.bin", "image/png", 1, strings.NewReader("p")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if err := s.TouchSince(sp, since); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Stat(ctx, sp, "during.bin")
	if !st.Modified.Equal(t1.Add(time.Hour)) || st.ContentType != "image/png" {
		t.Errorf("during.bin = %+v", st)
	}
}

func TestConcurrentOperations(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	sp := thread("t")
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 30 {
				p := fmt.Sprintf("d%d/sub/f%d", i%3, (w+i)%5)
				content := fmt.Sprintf("w%d-i%d", w, i)
				if _, err := s.Put(ctx, sp, p, "text/plain", int64(len(content)), strings.NewReader(content)); err != nil {
					t.Errorf("Put %s: %v", p, err)
				}
				if r, err := s.Open(ctx, sp, p); err == nil {
					io.Copy(io.Discard, r)
					r.Close()
				} else if !errors.Is(err, ErrNotFound) {
					t.Errorf("Open %s: %v", p, err)
				}
				if err := s.Delete(ctx, sp, p); err != nil && !errors.Is(err, ErrNotFound) {
					t.Errorf("Delete %s: %v", p, err)
				}
				if _, err := s.List(ctx, sp, ""); err != nil {
					t.Errorf("List: %v", err)
				}
			}
		})
	}
	wg.Wait()
	assertTmpEmpty(t, s)
}

// patternReader yields n bytes without holding them in memory.
type patternReader struct {
	n   int64
	pat []byte
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	n := 0
	for n < len(p) {
		n += copy(p[n:], r.pat)
	}
	r.n -= int64(n)
	return n, nil
}

func newPattern(n int64) *patternReader {
	return &patternReader{n: n, pat: bytes.Repeat([]byte("0123456789abcdef"), 4096)}
}

func TestPutMemoryDoesNotGrowWithSize(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	const size = 64 << 20
	put(t, s, thread("t"), "warm", "x") // the buffer pool's first buffer
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := s.Put(ctx, thread("t"), "big", "", size, newPattern(size)); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("a %d MiB upload allocated %d MiB", size>>20, grew>>20)
	}
	if st, _ := s.Stat(ctx, thread("t"), "big"); st.Size != size {
		t.Errorf("size %d", st.Size)
	}
}

// BenchmarkPut compares Put with a plain io.Copy into a file (the limit),
// 256 MiB at a time. Both mostly measure the page cache: dirty pages left by
// one run slow the next, so each run starts after a sync.
func BenchmarkPut(b *testing.B) {
	const size = 256 << 20
	s, _ := newStore(b)
	ctx := context.Background()
	b.Run("store.Put", func(b *testing.B) {
		b.SetBytes(size)
		syscall.Sync()
		for b.Loop() {
			if _, err := s.Put(ctx, thread("bench"), "f", "", size, newPattern(size)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("io.Copy", func(b *testing.B) {
		b.SetBytes(size)
		dir := b.TempDir()
		syscall.Sync()
		for b.Loop() {
			f, err := os.Create(filepath.Join(dir, "f"))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(f, newPattern(size)); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
}

func TestSetFileOwnerGivesUploadsToTheSandboxUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	s, _ := newStore(t)
	sp := Space{Org: "o", Kind: Thread, ID: "owned"}
	if _, err := s.Put(context.Background(), sp, "before", "", 1, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	s.SetFileOwner(65534, 65534)
	if _, err := s.Put(context.Background(), sp, "after", "text/plain", 1, strings.NewReader("y")); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]uint32{"before": 0, "after": 65534} {
		fi, err := os.Lstat(filepath.Join(s.SpaceDir(sp), name))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != want || st.Gid != want {
			t.Errorf("%s owned by %d:%d, want %d:%d", name, st.Uid, st.Gid, want, want)
		}
	}
	if obj, err := s.Stat(context.Background(), sp, "after"); err != nil || obj.ContentType != "text/plain" {
		t.Fatalf("Stat(after) = %+v, %v", obj, err)
	}
}

func TestSetFileOwnerGivesSpaceAndUploadDirectories(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	s, _ := newStore(t)
	s.SetFileOwner(65534, 65534)
	sp := Space{Org: "o", Kind: Volume, ID: "v"}
	if _, err := s.Put(context.Background(), sp, "a/b/c.txt", "", 1, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"", "a", "a/b", "a/b/c.txt"} {
		fi, err := os.Lstat(filepath.Join(s.SpaceDir(sp), rel))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 {
			t.Errorf("%q owned by %d:%d, want 65534:65534", rel, st.Uid, st.Gid)
		}
	}
	// A symlink planted in the space in place of a directory is not
	// followed: the upload fails and the link's target keeps its owner.
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(s.SpaceDir(sp), "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), sp, "link/x.txt", "", 1, strings.NewReader("x")); err == nil {
		t.Fatal("upload through a symlink to outside the space succeeded")
	}
	var st syscall.Stat_t
	if err := syscall.Stat(outside, &st); err != nil || st.Uid != 0 {
		t.Fatalf("outside directory owner %d (%v), want 0", st.Uid, err)
	}
}

// TestRemoveSpaceDeepTree: a chain deeper than the descriptors the process
// may open (built by code in a thread) does not stop a reset from removing
// the space.
func TestRemoveSpaceDeepTree(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	low := lim
	low.Cur = min(lim.Cur, 256)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	s, _ := newStore(t)
	sp := Space{Org: "o", Kind: Thread, ID: "deep"}
	if err := s.Create(sp); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Open(s.SpaceDir(sp), syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		if err := syscall.Mkdirat(fd, "d", 0o755); err != nil {
			t.Fatal(err)
		}
		nfd, err := syscall.Openat(fd, "d", syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		syscall.Close(fd)
		fd = nfd
	}
	syscall.Close(fd)
	if err := s.RemoveSpace(sp); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Exists(sp); ok {
		t.Fatal("space still there")
	}
}

// TestSizeNotFoundReadsAsBefore holds Size's error for a missing file to
// the text and the wrapped errors that fmt.Errorf gave it.
func TestSizeNotFoundReadsAsBefore(t *testing.T) {
	s, _ := newStore(t)
	sp := Space{Org: "o", Kind: Thread, ID: "t"}
	if _, err := s.Put(context.Background(), sp, "a.txt", "", 1, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	p := "d/missing \"x\".txt"
	_, err := s.Size(context.Background(), sp, p)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("Size of a missing file: %v, want ErrNotFound wrapping ENOENT", err)
	}
	want := fmt.Errorf("store: size %s: %w", sp.ObjectKey(p), fmt.Errorf("%w: %q: %w", ErrNotFound, p, syscall.ENOENT))
	if err.Error() != want.Error() {
		t.Errorf("Size error reads\n%q, want\n%q", err, want)
	}
}
