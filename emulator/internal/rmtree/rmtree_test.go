package rmtree

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// deepChain makes a chain of n directories named "d" below dir, without
// ever using a path longer than one name (as hostile code would).
func deepChain(t *testing.T, dir string, n int) {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := unix.Mkdirat(fd, "d", 0o755); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			f, _ := unix.Openat(fd, "f", unix.O_CREAT|unix.O_WRONLY, 0o644)
			unix.Close(f)
		}
		nfd, err := unix.Openat(fd, "d", unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		fd = nfd
	}
	unix.Close(fd)
}

func openFds(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// fastDir is a scratch directory on the disk the package lives on (/tmp
// can be much slower per file created).
func fastDir(t *testing.T) string {
	d, err := os.MkdirTemp(".", ".scratch-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// TestRemoveAllDeepChain: a chain far deeper than the descriptors the
// process may open (os.RemoveAll, one descriptor per level, fails on it) is
// removed, and no descriptor is left open.
func TestRemoveAllDeepChain(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	low := lim
	low.Cur = 256
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	defer unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	dir := mustMkdir(t, filepath.Join(fastDir(t), "tree"))
	deepChain(t, dir, 2000)
	if err := os.RemoveAll(dir); err == nil {
		t.Log("os.RemoveAll managed this depth here")
		deepChain(t, mustMkdir(t, dir), 2000)
	}
	before := openFds(t)
	if err := RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Fatalf("tree still there: %v", err)
	}
	if after := openFds(t); after != before {
		t.Fatalf("open descriptors %d before, %d after", before, after)
	}
}

func mustMkdir(t *testing.T, d string) string {
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRemoveAllSymlinksAndPermissions(t *testing.T) {
	outside := t.TempDir()
	keep := filepath.Join(outside, "keep")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := mustMkdir(t, filepath.Join(t.TempDir(), "tree"))
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	locked := mustMkdir(t, filepath.Join(dir, "a"))
	inner := mustMkdir(t, filepath.Join(locked, "inner"))
	if err := os.WriteFile(filepath.Join(inner, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(inner, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(locked, 0o500); err != nil {
		t.Fatal(err)
	}
	if err := RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Fatalf("tree still there: %v", err)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "x" {
		t.Fatalf("a file behind a symlink was touched: %q %v", b, err)
	}
	if err := RemoveAll(dir); err != nil {
		t.Fatalf("missing path: %v", err)
	}
	if err := RemoveAll(keep); err != nil || strings.Contains(keep, "tree") {
		t.Fatalf("file: %v", err)
	}
}
