//go:build linux

package child

import (
	"math"

	"golang.org/x/sys/unix"
)

// CloseOnExecAbove3 marks every descriptor from 3 up close-on-exec, so that
// a program this process execs starts with exactly 0, 1 and 2, whatever the
// emulator inherited from the shell or CI runner that started it (Go opens
// its own descriptors close-on-exec, inherited ones may not be). It uses
// close_range(CLOSE_RANGE_CLOEXEC) (Linux 5.11) and falls back to fcntl on
// each entry of /proc/self/fd.
func CloseOnExecAbove3() error {
	if err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	return cloexecListed("/proc/self/fd")
}
