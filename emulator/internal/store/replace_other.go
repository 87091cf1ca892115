//go:build !linux

package store

import "errors"

// exchange is Linux only: elsewhere a replacing Put renames over the file.
func exchange(from int, fromName string, to int, toName string) error {
	return errors.ErrUnsupported
}
