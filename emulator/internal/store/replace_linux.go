package store

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// exchange swaps the entries from/fromName and to/toName atomically
// (renameat2 RENAME_EXCHANGE); both must exist.
func exchange(from int, fromName string, to int, toName string) error {
	return unix.Renameat2(from, fromName, to, toName, unix.RENAME_EXCHANGE)
}

// noNoReplace is set once renameat2 RENAME_NOREPLACE turned out to be
// unsupported (a filesystem or kernel without it, seccomp).
var noNoReplace atomic.Bool

// renameNoReplace renames from/fromName to to/toName unless something
// exists there (EEXIST). Where RENAME_NOREPLACE is not supported it fails
// with EEXIST too, so the caller takes its general path.
func renameNoReplace(from int, fromName string, to int, toName string) error {
	if noNoReplace.Load() {
		return unix.EEXIST
	}
	err := unix.Renameat2(from, fromName, to, toName, unix.RENAME_NOREPLACE)
	if err == unix.EINVAL || err == unix.ENOSYS || err == unix.EPERM {
		noNoReplace.Store(true)
		return unix.EEXIST
	}
	return err
}
