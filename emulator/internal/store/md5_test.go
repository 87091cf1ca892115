package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// PutMD5 hashes what it stores (also across many buffers, where the hash
// runs beside the writes), keeps the MD5 with the file for Stat and Open,
// refuses a wrong expected MD5 without leaving anything, and forgets the MD5
// once the file changes.
func TestPutMD5(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	sp := thread("md5")
	data := make([]byte, 5*copyBufSize+12345)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	sum := md5.Sum(data)
	want := hex.EncodeToString(sum[:])
	// A reader that returns short reads, so buffers are handed over part-full.
	body := io.MultiReader(bytes.NewReader(data[:7]), &choppy{r: bytes.NewReader(data[7:])})
	obj, err := s.PutMD5(ctx, sp, "big.bin", "", int64(len(data)), body, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	if obj.MD5 != want {
		t.Fatalf("PutMD5 MD5 = %q, want %q", obj.MD5, want)
	}
	if st, err := s.Stat(ctx, sp, "big.bin"); err != nil || st.MD5 != want || st.ETag != obj.ETag {
		t.Fatalf("Stat = %+v, %v; want MD5 %s and ETag %s", st, err, want, obj.ETag)
	}
	if got := read(t, s, sp, "big.bin"); got != string(data) {
		t.Fatal("stored content differs")
	}

	bad := md5.Sum([]byte("something else"))
	_, err = s.PutMD5(ctx, sp, "big.bin", "", 3, strings.NewReader("new"), bad[:])
	if !errors.Is(err, ErrBadDigest) {
		t.Fatalf("PutMD5 with a wrong MD5: err = %v, want ErrBadDigest", err)
	}
	assertTmpEmpty(t, s)
	if st, _ := s.Stat(ctx, sp, "big.bin"); st.Size != int64(len(data)) || st.MD5 != want {
		t.Fatalf("a refused PutMD5 changed the file: %+v", st)
	}

	small, err := s.PutMD5(ctx, sp, "a.txt", "text/plain", 0, strings.NewReader(""), nil)
	if empty := md5.Sum(nil); err != nil || small.MD5 != hex.EncodeToString(empty[:]) || small.ContentType != "text/plain" {
		t.Fatalf("empty PutMD5 = %+v, %v", small, err)
	}
	put(t, s, sp, "a.txt", "plain put")
	if st, _ := s.Stat(ctx, sp, "a.txt"); st.MD5 != "" {
		t.Fatalf("a file replaced by Put keeps MD5 %q", st.MD5)
	}

	// Code changes the file: after the stamping, neither the MD5 nor the
	// type recorded for what the upload wrote.
	if _, err := s.PutMD5(ctx, sp, "c.txt", "text/csv", 1, strings.NewReader("c"), nil); err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	if err := os.WriteFile(filepath.Join(s.SpaceDir(sp), "c.txt"), []byte("d"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSince(sp, since); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stat(ctx, sp, "c.txt"); st.MD5 != "" || st.ContentType != guessType("c.txt") {
		t.Fatalf("after code changed it: %+v, want no MD5 and type %s", st, guessType("c.txt"))
	}
}

// PutMD5's MD5 is right at every buffering boundary (hashed in line, one
// buffer, many, and more than the hasher keeps, with whole and short reads),
// and a body that is short, long or fails partway leaves nothing behind,
// whichever way it was hashed.
func TestPutMD5Sizes(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	sp := thread("md5sizes")
	rng := rand.New(rand.NewPCG(5, 6))
	big := make([]byte, (hashBufs+3)*hashBufSize+777)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	sizes := []int{0, 1, smallBufSize - 1, smallBufSize, smallBufSize + 1, hashBufSize, hashBufSize + 1,
		2 * hashBufSize, hashBufs * hashBufSize, hashBufs*hashBufSize + 1, len(big)}
	for _, n := range sizes {
		data := big[:n]
		sum := md5.Sum(data)
		for _, short := range []bool{false, true} {
			var body io.Reader = bytes.NewReader(data)
			if short {
				body = &choppy{r: body}
			}
			obj, err := s.PutMD5(ctx, sp, "f.bin", "", int64(n), body, sum[:])
			if err != nil {
				t.Fatalf("%d bytes (short reads %v): %v", n, short, err)
			}
			if obj.MD5 != hex.EncodeToString(sum[:]) {
				t.Fatalf("%d bytes (short reads %v): MD5 %s, want %x", n, short, obj.MD5, sum)
			}
			if got := read(t, s, sp, "f.bin"); got != string(data) {
				t.Fatalf("%d bytes (short reads %v): stored content differs", n, short)
			}
		}
		if n == 0 {
			continue
		}
		boom := errors.New("connection reset")
		for name, c := range map[string]struct {
			size int64
			body io.Reader
			want error
		}{
			"short":  {int64(n) + 1, bytes.NewReader(data), ErrSizeMismatch},
			"long":   {int64(n) - 1, bytes.NewReader(data), ErrSizeMismatch},
			"broken": {int64(n) + 5, io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom)), boom},
		} {
			if _, err := s.PutMD5(ctx, sp, "g.bin", "", c.size, c.body, nil); !errors.Is(err, c.want) {
				t.Fatalf("%d bytes, %s body: err = %v, want %v", n, name, err, c.want)
			}
			assertTmpEmpty(t, s)
			if _, err := s.Stat(ctx, sp, "g.bin"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("%d bytes, %s body: Stat err = %v, want ErrNotFound", n, name, err)
			}
		}
	}
}

// choppy returns at most 1000 bytes per Read.
type choppy struct{ r io.Reader }

func (c *choppy) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), 1000)]) }

// Reader.WriteTo and Range copy exactly the bytes asked for.
func TestReaderWriteToAndRange(t *testing.T) {
	s, _ := newStore(t)
	sp := thread("rd")
	put(t, s, sp, "f.txt", "0123456789")
	r, err := s.Open(context.Background(), sp, "f.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Seek(3, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if n, err := r.WriteTo(&b); err != nil || n != 7 || b.String() != "3456789" {
		t.Fatalf("WriteTo from 3 = %d, %v, %q", n, err, b.String())
	}
	sec, err := r.Range(2, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer sec.Close()
	b.Reset()
	if n, err := io.Copy(&b, sec); err != nil || n != 4 || b.String() != "2345" {
		t.Fatalf("Range(2, 4) copied %d, %v, %q", n, err, b.String())
	}
}

// Size answers as Stat does (size, ErrIsDir, ErrNotFound) for files,
// directories, missing paths and symlinks, whichever path it takes.
func TestSizeAgreesWithStat(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	sp := thread("size")
	put(t, s, sp, "d/f.txt", "12345")
	dir := s.SpaceDir(sp)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret!"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"d", "inlink"}, {"d/f.txt", "filelink"}, {outside, "outlink"}} {
		if err := os.Symlink(l[0], filepath.Join(dir, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"d/f.txt", "d", "missing", "d/missing", "d/f.txt/x", "inlink/f.txt", "filelink", "outlink/secret"} {
		st, serr := s.Stat(ctx, sp, p)
		n, err := s.Size(ctx, sp, p)
		for _, sentinel := range []error{ErrNotFound, ErrIsDir} {
			if errors.Is(err, sentinel) != errors.Is(serr, sentinel) {
				t.Errorf("%s: Size err %v, Stat err %v", p, err, serr)
			}
		}
		if (err == nil) != (serr == nil) || err == nil && n != st.Size {
			t.Errorf("%s: Size = %d, %v; Stat = %d, %v", p, n, err, st.Size, serr)
		}
	}
}
