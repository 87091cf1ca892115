// Package storetest is the behaviour every store.Backend must share (the
// file store and the remote stores): run it against a fresh store with Run.
package storetest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// Opener opens a new, empty store on clk, closed when the test ends. With
// Options.Replicas, two calls within one test must give two stores over
// the same bytes (two replicas on one bucket).
type Opener func(t *testing.T, clk *clock.Clock) store.Backend

// PerTest is mk memoised per test: the first call in a test makes the
// thing (a fake bucket), later calls in that test get the same one. An
// Opener that takes its bucket from it opens, within one test, replicas on
// one bucket, as Options.Replicas asks.
func PerTest[T any](mk func(t *testing.T) T) func(t *testing.T) T {
	var mu sync.Mutex
	made := map[*testing.T]T{}
	return func(t *testing.T) T {
		mu.Lock()
		defer mu.Unlock()
		v, ok := made[t]
		if !ok {
			v = mk(t)
			made[t] = v
		}
		return v
	}
}

// Options tunes Run to a store.
type Options struct {
	// BigSize is the size of the upload that must stream (for a remote
	// store, larger than its part size); default 1 MiB.
	BigSize int
	// Replicas: two stores opened in one test share their bytes, and each
	// sees the other's uploads and deletes at once (remote stores; the file
	// store keeps a listing index per process and is not run so).
	Replicas bool
}

var epoch = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

var thread = store.Space{Org: "org_a", Kind: store.Thread, ID: "t1"}

// cutReader gives n bytes of data, then fails.
type cutReader struct {
	r io.Reader
	n int
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.n == 0 {
		return 0, errors.New("connection reset (test)")
	}
	p = p[:min(len(p), c.n)]
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

// Run runs the shared behaviour as subtests.
func Run(t *testing.T, open Opener, o Options) {
	if o.BigSize == 0 {
		o.BigSize = 1 << 20
	}
	ctx := context.Background()
	put := func(t *testing.T, st store.Backend, p, body string) store.Object {
		t.Helper()
		obj, err := st.Put(ctx, thread, p, "", int64(len(body)), bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatalf("put %s: %v", p, err)
		}
		return obj
	}
	read := func(t *testing.T, st store.Backend, p string) string {
		t.Helper()
		rd, err := st.Open(ctx, thread, p)
		if err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		defer rd.Close()
		b, err := io.ReadAll(rd)
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		return string(b)
	}

	t.Run("PutStatOpen", func(t *testing.T) {
		clk := clock.NewFrozen(epoch)
		st := open(t, clk)
		obj, err := st.Put(ctx, thread, "dir/a.json", "application/x-test", 5, bytes.NewReader([]byte("hello")))
		if err != nil {
			t.Fatal(err)
		}
		if obj.Size != 5 || obj.ContentType != "application/x-test" || !obj.Modified.Equal(epoch) || obj.ETag == "" {
			t.Fatalf("put answered %+v", obj)
		}
		got, err := st.Stat(ctx, thread, "dir/a.json")
		if err != nil {
			t.Fatal(err)
		}
		if got.Size != 5 || got.ContentType != "application/x-test" || !got.Modified.Equal(epoch) || got.ETag != obj.ETag {
			t.Fatalf("stat %+v, put said %+v", got, obj)
		}
		if s := read(t, st, "dir/a.json"); s != "hello" {
			t.Fatalf("read %q", s)
		}
		put(t, st, "b.txt", "x")
		if o, _ := st.Stat(ctx, thread, "b.txt"); o.ContentType != "text/plain; charset=utf-8" {
			t.Fatalf("a .txt stored without a type has type %q", o.ContentType)
		}
		if _, err := st.Stat(ctx, thread, "dir"); !errors.Is(err, store.ErrIsDir) {
			t.Fatalf("stat of a directory: %v, want ErrIsDir", err)
		}
		if _, err := st.Stat(ctx, thread, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("stat of nothing: %v, want ErrNotFound", err)
		}
		if _, err := st.Open(ctx, thread, "dir"); !errors.Is(err, store.ErrIsDir) {
			t.Fatalf("open of a directory: %v, want ErrIsDir", err)
		}
	})

	t.Run("Range", func(t *testing.T) {
		st := open(t, clock.NewFrozen(epoch))
		put(t, st, "r.bin", "0123456789")
		rd, err := st.Open(ctx, thread, "r.bin")
		if err != nil {
			t.Fatal(err)
		}
		sec, err := rd.Range(2, 5)
		if err != nil {
			t.Fatal(err)
		}
		defer sec.Close()
		b, err := io.ReadAll(sec)
		if err != nil || string(b) != "23456" {
			t.Fatalf("range 2+5 read %q, %v", b, err)
		}
		rd2, err := st.Open(ctx, thread, "r.bin")
		if err != nil {
			t.Fatal(err)
		}
		defer rd2.Close()
		if _, err := rd2.Seek(7, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		b, err = io.ReadAll(rd2)
		if err != nil || string(b) != "789" {
			t.Fatalf("read from 7: %q, %v", b, err)
		}
	})

	t.Run("BigMD5", func(t *testing.T) {
		st := open(t, clock.NewFrozen(epoch))
		data := make([]byte, o.BigSize)
		rand.Read(data)
		sum := md5.Sum(data)
		obj, err := st.PutMD5(ctx, thread, "big.bin", "", int64(len(data)), bytes.NewReader(data), sum[:])
		if err != nil {
			t.Fatal(err)
		}
		if obj.MD5 != hex.EncodeToString(sum[:]) || obj.Size != int64(len(data)) {
			t.Fatalf("put answered size %d md5 %q", obj.Size, obj.MD5)
		}
		rd, err := st.Open(ctx, thread, "big.bin")
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		h := md5.New()
		if _, err := io.Copy(h, rd); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(h.Sum(nil), sum[:]) {
			t.Fatal("the bytes read back differ from the bytes put")
		}
	})

	t.Run("FailedUploadsLeaveNothing", func(t *testing.T) {
		st := open(t, clock.NewFrozen(epoch))
		put(t, st, "keep.bin", "old")
		data := make([]byte, o.BigSize)
		rand.Read(data)
		n := int64(len(data))
		cases := []struct {
			name string
			size int64
			body io.Reader
			want []byte
			is   error
		}{
			{"short", n + 1, bytes.NewReader(data), nil, store.ErrSizeMismatch},
			{"long", n - 1, bytes.NewReader(data), nil, store.ErrSizeMismatch},
			{"cut", n, &cutReader{r: bytes.NewReader(data), n: len(data) * 3 / 4}, nil, nil},
			{"bad md5", n, bytes.NewReader(data), make([]byte, 16), store.ErrBadDigest},
			{"small short", 10, bytes.NewReader([]byte("abc")), nil, store.ErrSizeMismatch},
		}
		for _, c := range cases {
			for _, p := range []string{"new.bin", "keep.bin"} {
				_, err := st.PutMD5(ctx, thread, p, "", c.size, c.body, c.want)
				if err == nil || (c.is != nil && !errors.Is(err, c.is)) {
					t.Fatalf("%s upload to %s: %v, want an error (%v)", c.name, p, err, c.is)
				}
				if s, ok := c.body.(io.Seeker); ok {
					s.Seek(0, io.SeekStart)
				} else if cr, ok := c.body.(*cutReader); ok {
					cr.r, cr.n = bytes.NewReader(data), len(data)*3/4
				}
			}
			if _, err := st.Stat(ctx, thread, "new.bin"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("after a %s upload, new.bin: %v, want ErrNotFound", c.name, err)
			}
			if s := read(t, st, "keep.bin"); s != "old" {
				t.Fatalf("after a %s upload, keep.bin holds %q", c.name, s)
			}
		}
		ctx2, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := st.Put(ctx2, thread, "new.bin", "", n, bytes.NewReader(data)); err == nil {
			t.Fatal("upload on a cancelled context succeeded")
		}
		if _, err := st.Stat(ctx, thread, "new.bin"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after a cancelled upload, new.bin: %v", err)
		}
	})

	t.Run("FileDirConflicts", func(t *testing.T) {
		st := open(t, clock.NewFrozen(epoch))
		put(t, st, "a/b", "1")
		if _, err := st.Put(ctx, thread, "a", "", 1, bytes.NewReader([]byte("x"))); !errors.Is(err, store.ErrIsDir) {
			t.Fatalf("put over a directory: %v, want ErrIsDir", err)
		}
		if _, err := st.Put(ctx, thread, "a/b/c", "", 1, bytes.NewReader([]byte("x"))); !errors.Is(err, store.ErrInvalidPath) {
			t.Fatalf("put under a file: %v, want ErrInvalidPath", err)
		}
		if err := st.Delete(ctx, thread, "a"); !errors.Is(err, store.ErrIsDir) {
			t.Fatalf("delete of a directory: %v, want ErrIsDir", err)
		}
		if err := st.Delete(ctx, thread, "zz"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete of nothing: %v, want ErrNotFound", err)
		}
		if _, err := st.Put(ctx, thread, "../x", "", 1, bytes.NewReader([]byte("x"))); !errors.Is(err, store.ErrInvalidPath) {
			t.Fatalf("put of ../x: %v, want ErrInvalidPath", err)
		}
	})

	t.Run("List", func(t *testing.T) {
		clk := clock.NewFrozen(epoch)
		st := open(t, clk)
		if _, err := st.List(ctx, thread, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("list of a thread that does not exist: %v, want ErrNotFound", err)
		}
		put(t, st, "data/x.csv", "12")
		clk.Advance(time.Minute)
		put(t, st, "data/sub/y.csv", "123")
		clk.Advance(time.Minute)
		put(t, st, "data.csv", "1")
		put(t, st, "z", "")
		all, err := st.List(ctx, thread, "")
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			Path  string
			Name  string
			Size  int64
			Dir   bool
			Minue int
		}
		var got []row
		for _, e := range all {
			got = append(got, row{e.Path, e.Name, e.Size, e.IsDir, int(e.Modified.Sub(epoch) / time.Minute)})
		}
		want := []row{
			{"data", "data", 0, true, 1},
			{"data.csv", "data.csv", 1, false, 2},
			{"data/sub", "sub", 0, true, 1},
			{"data/sub/y.csv", "y.csv", 3, false, 1},
			{"data/x.csv", "x.csv", 2, false, 0},
			{"z", "z", 0, false, 2},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("list:\n got %v\nwant %v", got, want)
		}
		for prefix, paths := range map[string][]string{
			"data":   {"data", "data.csv", "data/sub", "data/sub/y.csv", "data/x.csv"},
			"data/":  {"data/sub", "data/sub/y.csv", "data/x.csv"},
			"data/s": {"data/sub", "data/sub/y.csv"},
			"q":      {},
		} {
			es, err := st.List(ctx, thread, prefix)
			if err != nil {
				t.Fatal(err)
			}
			ps := []string{}
			for _, e := range es {
				ps = append(ps, e.Path)
			}
			if !slices.Equal(ps, paths) {
				t.Fatalf("list prefix %q: %v, want %v", prefix, ps, paths)
			}
		}
		if n, err := st.Usage(ctx, thread); err != nil || n != 6 {
			t.Fatalf("usage %d, %v; want 6", n, err)
		}
		if err := st.Delete(ctx, thread, "data/sub/y.csv"); err != nil {
			t.Fatal(err)
		}
		es, _ := st.List(ctx, thread, "data/")
		if len(es) != 1 || es[0].Path != "data/x.csv" {
			t.Fatalf("after deleting the only file of data/sub, list data/: %+v", es)
		}
	})

	t.Run("Spaces", func(t *testing.T) {
		st := open(t, clock.NewFrozen(epoch))
		vol := store.Space{Org: "org_a", Kind: store.Volume, ID: "v1"}
		other := store.Space{Org: "org_b", Kind: store.Thread, ID: "t9"}
		for _, sp := range []store.Space{thread, vol, other} {
			if ok, err := st.Exists(sp); err != nil || ok {
				t.Fatalf("%v exists before anything: %v %v", sp, ok, err)
			}
		}
		if err := st.Create(vol); err != nil {
			t.Fatal(err)
		}
		if es, err := st.List(ctx, vol, ""); err != nil || len(es) != 0 {
			t.Fatalf("list of a new empty volume: %v, %v", es, err)
		}
		put(t, st, "f", "1")
		if _, err := st.Put(ctx, other, "g", "", 1, bytes.NewReader([]byte("2"))); err != nil {
			t.Fatal(err)
		}
		for _, sp := range []store.Space{thread, vol, other} {
			if ok, err := st.Exists(sp); err != nil || !ok {
				t.Fatalf("%v does not exist: %v", sp, err)
			}
		}
		sps, err := st.Spaces("")
		if err != nil || !slices.Equal(sps, []store.Space{thread, vol, other}) {
			t.Fatalf("spaces: %v, %v", sps, err)
		}
		if sps, _ := st.Spaces("org_b"); !slices.Equal(sps, []store.Space{other}) {
			t.Fatalf("spaces of org_b: %v", sps)
		}
		if err := st.RemoveSpace(thread); err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.Exists(thread); ok {
			t.Fatal("a removed thread exists")
		}
		if err := st.RemoveOrg("org_b"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.Exists(other); ok {
			t.Fatal("a thread of a removed org exists")
		}
		if ok, _ := st.Exists(vol); !ok {
			t.Fatal("removing org_b removed a volume of org_a")
		}
	})

	t.Run("TwoReplicas", func(t *testing.T) {
		if !o.Replicas {
			t.Skip("the store is not shared between processes")
		}
		clk := clock.NewFrozen(epoch)
		a := open(t, clk)
		b := open(t, clk)
		put(t, a, "shared.txt", "from a")
		if s := read(t, b, "shared.txt"); s != "from a" {
			t.Fatalf("replica b reads %q", s)
		}
		clk.Advance(time.Hour)
		put(t, b, "shared.txt", "from b, later")
		if s := read(t, a, "shared.txt"); s != "from b, later" {
			t.Fatalf("replica a reads %q after b replaced it", s)
		}
		es, err := a.List(ctx, thread, "")
		if err != nil || len(es) != 1 || !es[0].Modified.Equal(epoch.Add(time.Hour)) || es[0].Size != 13 {
			t.Fatalf("replica a lists %+v, %v", es, err)
		}
		if err := b.Delete(ctx, thread, "shared.txt"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Stat(ctx, thread, "shared.txt"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("replica a after b's delete: %v", err)
		}
	})
}
