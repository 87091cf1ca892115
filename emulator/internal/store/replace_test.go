package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// A Put replacing a large file (the exchange path) answers and stores as a
// rename would: the new content and MD5 at the path, the old sidecar gone,
// a reader that had the old file open still reading it whole, and nothing
// left in .tmp once the store is closed.
func TestPutReplacesLargeFile(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	sp := thread("replace")
	a := bytes.Repeat([]byte("a"), exchangeMin+5)
	b := bytes.Repeat([]byte("b"), exchangeMin+9)
	if _, err := s.PutMD5(ctx, sp, "d/big.bin", "text/x-a", int64(len(a)), bytes.NewReader(a), nil); err != nil {
		t.Fatal(err)
	}
	rd, err := s.Open(ctx, sp, "d/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	obj, err := s.PutMD5(ctx, sp, "d/big.bin", "text/x-b", int64(len(b)), bytes.NewReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(b)
	st, err := s.Stat(ctx, sp, "d/big.bin")
	if err != nil || st.MD5 != hex.EncodeToString(sum[:]) || st.ETag != obj.ETag || st.Size != int64(len(b)) || st.ContentType != "text/x-b" {
		t.Fatalf("Stat after the replace = %+v, %v; want the new file (MD5 %x, ETag %s)", st, err, sum, obj.ETag)
	}
	if got := read(t, s, sp, "d/big.bin"); got != string(b) {
		t.Fatal("the path does not hold the new content")
	}
	old, err := io.ReadAll(rd)
	if err != nil || !bytes.Equal(old, a) {
		t.Fatalf("the reader opened before the replace read %d bytes, %v; want the old %d", len(old), err, len(a))
	}
	metas, err := os.ReadDir(filepath.Join(s.Dir(), metaDirName, filepath.FromSlash(sp.Key())))
	if err != nil || len(metas) != 1 {
		t.Fatalf("sidecars after the replace: %v, %v; want only the new file's", metas, err)
	}
	s.disc.wait()
	assertTmpEmpty(t, s)
}

// A directory that took the file's place between the check and the
// exchange is put back, and the Put is refused as a rename onto it would be.
func TestExchangePutsBackADirectory(t *testing.T) {
	s, _ := newStore(t)
	sp := thread("xdir")
	if err := s.Create(sp); err != nil {
		t.Fatal(err)
	}
	dir := s.SpaceDir(sp)
	if err := os.MkdirAll(filepath.Join(dir, "x", "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := s.tempName("put")
	if err := os.WriteFile(filepath.Join(s.Dir(), tmpDirName, tmp), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var done bool
	err = withFd(d, func(to int) error {
		var xerr error
		done, _, _, xerr = s.exchangeAt(to, "x", "x", tmp, statInfo{})
		return xerr
	})
	if !done {
		t.Skip("this filesystem cannot exchange two entries")
	}
	if !errors.Is(err, ErrIsDir) {
		t.Fatalf("exchange onto a directory: err = %v, want ErrIsDir", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "x", "inner")); err != nil || !fi.IsDir() {
		t.Fatalf("the directory is not back in place: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(s.Dir(), tmpDirName, tmp)); err != nil || string(b) != "new" {
		t.Fatalf("the temp file is not back in .tmp: %q, %v", b, err)
	}
}
