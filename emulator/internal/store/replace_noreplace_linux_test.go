package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestPutWithoutRenameNoReplace: where RENAME_NOREPLACE is missing, new
// files, replaced files, a directory and a symlink in the way behave as
// with it.
func TestPutWithoutRenameNoReplace(t *testing.T) {
	for _, without := range []bool{false, true} {
		noNoReplace.Store(without)
		s, _ := newStore(t)
		sp := thread("t")
		put(t, s, sp, "d/a", "1")
		put(t, s, sp, "d/a", "22") // replaces
		put(t, s, sp, "d/e/x", "3")
		if got := read(t, s, sp, "d/a"); got != "22" {
			t.Errorf("without NOREPLACE %v: d/a = %q", without, got)
		}
		if _, err := s.Put(context.Background(), sp, "d/e", "", 1, strings.NewReader("z")); !errors.Is(err, ErrIsDir) {
			t.Errorf("without NOREPLACE %v: Put over a directory = %v, want ErrIsDir", without, err)
		}
		assertTmpEmpty(t, s)
	}
	noNoReplace.Store(false)
}
