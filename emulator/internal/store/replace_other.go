//go:build !linux

package store

import (
	"errors"
	"syscall"
)

// exchange is Linux only: elsewhere a replacing Put renames over the file.
func exchange(from int, fromName string, to int, toName string) error {
	return errors.ErrUnsupported
}

// renameNoReplace is Linux only: elsewhere it fails with EEXIST, and the
// caller looks for a file to replace before it renames.
func renameNoReplace(from int, fromName string, to int, toName string) error {
	return syscall.EEXIST
}
