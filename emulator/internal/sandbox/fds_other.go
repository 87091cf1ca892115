//go:build unix && !linux

package sandbox

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// closeOnExecAbove3 marks every descriptor from 3 up close-on-exec (see the
// Linux version), going through /dev/fd.
func closeOnExecAbove3() error {
	d, err := os.Open("/dev/fd")
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
