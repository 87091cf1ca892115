//go:build linux

package spacefs

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMuxSpaces: three spaces as the entries of one mount keep their own
// rules: each its size limit (space 0: 1 MiB; space 2: none), space 1
// read-only; a rename between two spaces is EXDEV (mv copies); the root
// lists the spaces and cannot be changed; what is written lands in each
// space's own directory.
func TestMuxSpaces(t *testing.T) {
	mnt, backs, srv := mountSpacesT(t, []Options{{Quota: 1 << 20}, {ReadOnly: true}, {}})
	p := func(s ...string) string { return filepath.Join(append([]string{mnt}, s...)...) }

	ents, err := os.ReadDir(mnt)
	must(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"0", "1", "2"}) {
		t.Fatalf("the mount's root lists %q", names)
	}
	// Entries past the spaces, up to Placeholders, are empty read-only
	// directories (a child looks them up before its run is known).
	if ents, err := os.ReadDir(p("3")); err != nil || len(ents) != 0 {
		t.Errorf("the placeholder entry 3: %v %v", ents, err)
	}
	if err := os.Mkdir(p("3", "x"), 0o755); errnoOf(err) != unix.EPERM {
		t.Errorf("mkdir in a placeholder: %v, want EPERM", err)
	}
	if _, err := os.Stat(p(strconv.Itoa(Placeholders))); !os.IsNotExist(err) {
		t.Errorf("an entry past the placeholders: %v", err)
	}
	if err := os.Mkdir(p("new"), 0o755); errnoOf(err) != unix.EPERM {
		t.Errorf("mkdir in the root: %v, want EPERM", err)
	}

	big := make([]byte, 2<<20)
	if err := os.WriteFile(p("0", "big"), big, 0o644); errnoOf(err) != unix.ENOSPC {
		t.Errorf("2 MiB into space 0 (1 MiB limit): %v, want ENOSPC", err)
	}
	if used := srv.Used(t); used > 1<<20 {
		t.Errorf("space 0 holds %d bytes by the server's count, over its limit", used)
	}
	must(t, os.WriteFile(p("2", "big"), big, 0o644)) // space 2 has no limit
	if fi, err := os.Stat(filepath.Join(backs[2], "big")); err != nil || fi.Size() != 2<<20 {
		t.Errorf("space 2's file on the host: %v %v", fi, err)
	}

	if err := os.WriteFile(p("1", "x"), []byte("x"), 0o644); errnoOf(err) != unix.EROFS {
		t.Errorf("a write into the read-only space 1: %v, want EROFS", err)
	}

	must(t, os.Remove(p("0", "big"))) // what the refused write left, up to the limit
	must(t, os.WriteFile(p("0", "a"), []byte("a"), 0o644))
	if err := os.Rename(p("0", "a"), p("2", "a")); errnoOf(err) != unix.EXDEV {
		t.Errorf("a rename from space 0 to space 2: %v, want EXDEV", err)
	}
	must(t, os.Rename(p("0", "a"), p("0", "b")))
	if b, err := os.ReadFile(filepath.Join(backs[0], "b")); err != nil || string(b) != "a" {
		t.Errorf("space 0's renamed file on the host: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(backs[2], "a")); !os.IsNotExist(err) {
		t.Errorf("space 2 got the file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(backs[1], "x")); !os.IsNotExist(err) {
		t.Errorf("the read-only space got a file: %v", err)
	}
}

// One reader serves a connection, but a request that may take long (here
// an fsync the server holds) does not hold the others: a stat of another
// file answers while it waits, and the fsync ends once released. With a
// single reader and no helper, the stat waited for the fsync.
func TestSlowRequestDoesNotHoldOthers(t *testing.T) {
	hold := t.TempDir()
	mnt, _, _ := mountSpacesCfgT(t, []Options{{}}, hold)
	p := func(s ...string) string { return filepath.Join(append([]string{mnt, "0"}, s...)...) }
	must(t, os.WriteFile(p("a"), []byte("a"), 0o644))
	must(t, os.WriteFile(p("b"), []byte("b"), 0o644))
	f, err := os.OpenFile(p("a"), os.O_WRONLY, 0)
	must(t, err)
	defer f.Close()
	synced := make(chan error, 1)
	go func() { synced <- f.Sync() }()
	release := func() { _ = os.WriteFile(filepath.Join(hold, "release"), nil, 0o644) }
	defer release()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(hold, "held")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server never held the fsync")
		}
	}
	stated := make(chan error, 1)
	go func() { _, err := os.Stat(p("b")); stated <- err }()
	select {
	case err := <-stated:
		if err != nil {
			t.Errorf("stat while an fsync is held: %v", err)
		}
	case <-time.After(5 * time.Second):
		release()
		t.Fatal("a stat waited for a held fsync: the slow request held the connection")
	}
	select {
	case err := <-synced:
		t.Fatalf("the fsync ended before it was released: %v", err)
	default:
	}
	release()
	select {
	case err := <-synced:
		if err != nil {
			t.Errorf("the released fsync: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the fsync did not end after its release")
	}
}

// mayBlock picks the requests that get another reader started.
func TestMayBlock(t *testing.T) {
	req := func(op uint32, size uint32) []byte {
		b := make([]byte, 80)
		binary.NativeEndian.PutUint32(b[4:8], op)
		binary.NativeEndian.PutUint32(b[56:60], size)
		return b
	}
	for _, c := range []struct {
		name string
		req  []byte
		want bool
	}{
		{"lookup", req(1, 0), false},
		{"getattr", req(3, 0), false},
		{"small read", req(opRead, 4096), false},
		{"large read", req(opRead, 128<<10), true},
		{"large write", req(opWrite, 64<<10), true},
		{"fsync", req(opFsync, 0), true},
		{"fallocate", req(opFallocate, 0), true},
		{"too short", []byte{1, 2, 3}, false},
	} {
		if got := mayBlock(c.req); got != c.want {
			t.Errorf("%s: mayBlock %v, want %v", c.name, got, c.want)
		}
	}
}
