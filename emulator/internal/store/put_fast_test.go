package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fastParent reports whether Put would take the one-syscall path for p
// (parentBeneath found its parent directory), and fails the test if it
// cannot tell.
func fastParent(t *testing.T, s *Store, sp Space, p string) bool {
	t.Helper()
	fd, err := s.parentBeneath(sp, p, 1)
	if err != nil {
		t.Fatalf("parentBeneath %q: %v", p, err)
	}
	if fd < 0 {
		return false
	}
	unix.Close(fd)
	return true
}

func TestParentBeneathTakesOnlyPlainExistingDirectories(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the one-syscall path is Linux only")
	}
	s, _ := newStore(t)
	sp := thread("t")
	put(t, s, sp, "d/e/f", "x")
	put(t, s, sp, "top", "x")
	if err := os.Symlink("d", filepath.Join(s.SpaceDir(sp), "link")); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		"d/e/new":     true,
		"new":         true, // the space itself is the parent
		"d/new":       true,
		"missing/new": false, // the commit makes the directory
		"link/new":    false, // os.Root judges symlinks
		"link/e/new":  false,
		"top/new":     false, // a file in the way: os.Root's path explains it
	} {
		if got := fastParent(t, s, sp, p); got != want {
			t.Errorf("fast path for %q = %v, want %v", p, got, want)
		}
	}
	if fastParent(t, s, thread("nosuch"), "f") {
		t.Error("fast path for a space that does not exist")
	}
	s.SetFileOwner(os.Getuid(), os.Getgid())
	if fastParent(t, s, sp, "d/new") {
		t.Error("fast path with a file owner set (directories must be given away)")
	}
}

// TestPutFastPathParentGoneMidUpload removes the parent directory that
// Put opened before receiving the body, in each way the store can (a
// Delete pruning it, RemoveSpace, RemoveOrg, a snapshot's ReplaceWith):
// the upload still lands at its path, in a directory made again, and the
// listing index shows it.
func TestPutFastPathParentGoneMidUpload(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"prune", "remove-space", "remove-org", "replace"} {
		t.Run(how, func(t *testing.T) {
			s, _ := newStore(t)
			sp := thread("t")
			put(t, s, sp, "d/other", "o")
			list(t, s, sp, "") // index the space
			if runtime.GOOS == "linux" && !fastParent(t, s, sp, "d/f") {
				t.Fatal("the test needs the fast path")
			}
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() {
				_, err := s.Put(ctx, sp, "d/f", "", 5, pr)
				done <- err
			}()
			if _, err := pw.Write([]byte("ab")); err != nil { // Put has opened d and is receiving
				t.Fatal(err)
			}
			switch how {
			case "prune":
				if err := s.Delete(ctx, sp, "d/other"); err != nil {
					t.Fatal(err)
				}
			case "remove-space":
				if err := s.RemoveSpace(sp); err != nil {
					t.Fatal(err)
				}
			case "remove-org":
				if err := s.RemoveOrg(""); err != nil {
					t.Fatal(err)
				}
			case "replace":
				st, err := s.NewStaging(nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.Put(ctx, sp, "snap", "", 1, strings.NewReader("s")); err != nil {
					t.Fatal(err)
				}
				if err := s.ReplaceWith(st); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := os.Stat(filepath.Join(s.SpaceDir(sp), "d")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("d still there after %s: %v", how, err)
			}
			if _, err := pw.Write([]byte("cde")); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			if err := <-done; err != nil {
				t.Fatalf("Put after %s: %v", how, err)
			}
			if got := read(t, s, sp, "d/f"); got != "abcde" {
				t.Errorf("d/f = %q", got)
			}
			want := "[d/ d/f]"
			if how == "replace" {
				want = "[d/ d/f snap]"
			}
			if got := fmt.Sprint(paths(list(t, s, sp, ""))); got != want {
				t.Errorf("List = %s, want %s", got, want)
			}
			assertTmpEmpty(t, s)
		})
	}
}

// TestPutFastPathKeepsIndexTrue has the index follow uploads that take the
// fast path: new files, replaced files (Usage changes by the difference),
// a replacement racing with a Delete of the same path.
func TestPutFastPathKeepsIndexTrue(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	sp := thread("t")
	put(t, s, sp, "d/a", "1")
	list(t, s, sp, "")
	put(t, s, sp, "d/b", "22")
	put(t, s, sp, "d/a", "4444")
	put(t, s, sp, "c", "333")
	if got := fmt.Sprint(paths(list(t, s, sp, ""))); got != "[c d/ d/a d/b]" {
		t.Errorf("List = %s", got)
	}
	if n, err := s.Usage(ctx, sp); err != nil || n != 9 {
		t.Errorf("Usage = %d, %v; want 9", n, err)
	}
	for _, e := range list(t, s, sp, "d/a") {
		if e.Size != 4 {
			t.Errorf("d/a listed with size %d, want 4", e.Size)
		}
	}
	if err := s.Delete(ctx, sp, "d/a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, sp, "d/b"); err != nil {
		t.Fatal(err)
	}
	put(t, s, sp, "d/a", "55555") // d was pruned: the slow path makes it again
	if got := fmt.Sprint(paths(list(t, s, sp, ""))); got != "[c d/ d/a]" {
		t.Errorf("List = %s", got)
	}
	if n, err := s.Usage(ctx, sp); err != nil || n != 8 {
		t.Errorf("Usage = %d, %v; want 8", n, err)
	}
}

// errIfRead fails the test if its body is read at all.
type errIfRead struct{ t *testing.T }

func (r errIfRead) Read([]byte) (int, error) {
	r.t.Error("the body was read")
	return 0, errors.New("must not be read")
}

// TestPutLargeOverDirectoryRefusedBeforeBody: a declared size worth the
// check is refused before any of the body is received, fast path or not.
func TestPutLargeOverDirectoryRefusedBeforeBody(t *testing.T) {
	s, _ := newStore(t)
	sp := thread("t")
	put(t, s, sp, "d/e/x", "in e")
	for _, p := range []string{"d/e", "d"} {
		_, err := s.Put(context.Background(), sp, p, "", 1<<30, errIfRead{t})
		if !errors.Is(err, ErrIsDir) {
			t.Errorf("Put %q = %v, want ErrIsDir", p, err)
		}
	}
	assertTmpEmpty(t, s)
}

// TestETagFormat holds etag to the format it had as a fmt.Sprintf, for
// every sign of every field.
func TestETagFormat(t *testing.T) {
	for _, si := range []statInfo{
		{ino: 0x1234, size: 1024, mtime: t0, ctime: t0.Add(time.Nanosecond)},
		{ino: ^uint64(0), size: 0, mtime: time.Unix(-5, 3), ctime: time.Unix(0, 0)},
		{ino: 1, size: 1 << 40, mtime: time.Unix(1<<33, 999999999), ctime: time.Unix(-1<<33, 0)},
	} {
		want := fmt.Sprintf("\"%x-%x-%x-%x\"", si.ino, si.size, si.mtime.UnixNano(), si.ctime.UnixNano())
		if got := etag(si); got != want {
			t.Errorf("etag = %s, want %s", got, want)
		}
	}
}
