//go:build unix && !linux

package child

// CloseOnExecAbove3 marks every descriptor from 3 up close-on-exec (see the
// Linux version), going through /dev/fd.
func CloseOnExecAbove3() error { return cloexecListed("/dev/fd") }
