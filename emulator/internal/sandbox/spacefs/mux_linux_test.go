//go:build linux

package spacefs

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

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
