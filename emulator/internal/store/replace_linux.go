package store

import "golang.org/x/sys/unix"

// exchange swaps the entries from/fromName and to/toName atomically
// (renameat2 RENAME_EXCHANGE); both must exist.
func exchange(from int, fromName string, to int, toName string) error {
	return unix.Renameat2(from, fromName, to, toName, unix.RENAME_EXCHANGE)
}
