// Giving what the store creates inside a space to the sandbox user.
package store

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// giveDirs gives the space's top directory and each directory of rel below
// it (a directory path inside the space, "" for the top only) to the file
// owner set with SetFileOwner, so that sandboxed code running as that user
// can create files in the directories an upload made. Nothing is done when
// no owner is set.
//
// The walk never resolves a path: it starts from the space root opened
// through the store's os.Root (whose components sandboxed code cannot
// write), opens each next directory relative to the previous one with
// O_NOFOLLOW|O_DIRECTORY and changes the owner through that descriptor
// (fchown), so a symlink or a swapped directory planted by code can at worst
// make it give another directory of the same space to the same user, never
// lead it outside the space.
func (s *Store) giveDirs(r *os.Root, rel string) error {
	o := s.owner.Load()
	if o == nil {
		return nil
	}
	d, err := openDirIn(r, "")
	if err != nil {
		return err
	}
	defer func() { d.Close() }()
	if err := fchownIfNeeded(d, o); err != nil {
		return err
	}
	if rel == "" {
		return nil
	}
	for _, name := range strings.Split(rel, "/") {
		c, err := openDirAt(d, name)
		if err != nil {
			return err
		}
		d.Close()
		d = c
		if err := fchownIfNeeded(d, o); err != nil {
			return err
		}
	}
	return nil
}

// fchownIfNeeded gives the open file f to o unless it already belongs to it.
func fchownIfNeeded(f *os.File, o *fileOwner) error {
	return withFd(f, func(fd int) error {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return fmt.Errorf("fstat %s: %w", f.Name(), err)
		}
		if int(st.Uid) == o.uid && int(st.Gid) == o.gid {
			return nil
		}
		if err := unix.Fchown(fd, o.uid, o.gid); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("give %s to %d:%d: %w", f.Name(), o.uid, o.gid, err)
		}
		return nil
	})
}
