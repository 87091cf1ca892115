package bench

import (
	"os"

	"golang.org/x/sys/unix"
)

// settle writes back the dirty pages of the filesystem holding dir, so a
// timed transfer does not pay for the write-back of the one before it.
func settle(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
