//go:build linux

package sandbox

import (
	"math"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// closeOnExecAbove3 marks every descriptor from 3 up close-on-exec, so that
// a program this process execs starts with exactly 0, 1 and 2, whatever the
// emulator inherited from the shell or CI runner that started it (Go opens
// its own descriptors close-on-exec, inherited ones may not be). It uses
// close_range(CLOSE_RANGE_CLOEXEC) (Linux 5.11) and falls back to fcntl on
// each entry of /proc/self/fd.
func closeOnExecAbove3() error {
	if err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd < 3 {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && err != unix.EBADF {
			return err
		}
	}
	return nil
}
