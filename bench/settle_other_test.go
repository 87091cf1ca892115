//go:build !linux

package bench

import "syscall"

// settle writes back dirty pages (the whole system's: no syncfs here).
func settle(string) error {
	syscall.Sync()
	return nil
}
