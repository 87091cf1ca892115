//go:build unix && !linux

package sandbox

// closeOnExecAbove3 marks every descriptor from 3 up close-on-exec (see the
// Linux version), going through /dev/fd.
func closeOnExecAbove3() error { return cloexecListed("/dev/fd") }
