// Package rmtree removes directory trees that hostile code may have built:
// arbitrarily deep (a chain of 40 000 directories), with symlinks, and with
// directories whose permissions it changed. os.RemoveAll holds one open
// descriptor per level and gives up on such trees; RemoveAll here never
// holds more than MaxOpen descriptors and never follows a symlink.
package rmtree

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// MaxOpen bounds the directories RemoveAll holds open at once. A subtree
// found deeper than that is moved up to the top directory (a rename within
// the tree) and removed from there, so any depth is removed with at most
// MaxOpen descriptors.
const MaxOpen = 32

// batch is how many names are read from a directory at a time.
const batch = 256

var seq atomic.Uint64

// RemoveAll removes path and everything below it. A missing path is not an
// error. Symlinks are removed, never followed.
func RemoveAll(path string) error {
	err := unix.Unlinkat(unix.AT_FDCWD, path, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return &os.PathError{Op: "unlink", Path: path, Err: err}
	}
	top, err := openDir(unix.AT_FDCWD, path)
	if errors.Is(err, unix.EACCES) {
		_ = unix.Fchmodat(unix.AT_FDCWD, path, 0o700, 0)
		top, err = openDir(unix.AT_FDCWD, path)
	}
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	err = emptyDir(top)
	top.Close()
	if err != nil {
		return fmt.Errorf("rmtree: %s: %w", path, err)
	}
	if err := unix.Rmdir(path); err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "rmdir", Path: path, Err: err}
	}
	return nil
}

// level is one open directory of the walk, and its name in its parent.
type level struct {
	f    *os.File
	name string
}

// emptyDir removes everything inside the open directory top.
func emptyDir(top *os.File) error {
	stack := []level{{f: top}}
	defer func() {
		for _, l := range stack[1:] {
			l.f.Close()
		}
	}()
	// Bound the work on a tree that keeps changing under us (it should
	// not: nothing runs in it), so a bug cannot loop forever.
	for steps := 0; ; steps++ {
		if steps > 1<<30 {
			return errors.New("tree does not get smaller")
		}
		cur := stack[len(stack)-1]
		names, err := readBatch(cur.f)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			if len(stack) == 1 {
				return nil
			}
			stack = stack[:len(stack)-1]
			cur.f.Close()
			parent := stack[len(stack)-1]
			if err := unlinkAt(parent.f, cur.name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("rmdir %s: %w", cur.name, err)
			}
			continue
		}
		for _, name := range names {
			err := unlinkAt(cur.f, name, 0)
			if err == nil || errors.Is(err, unix.ENOENT) {
				continue
			}
			if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
				return fmt.Errorf("unlink %s: %w", name, err)
			}
			if err := unlinkAt(cur.f, name, unix.AT_REMOVEDIR); err == nil || errors.Is(err, unix.ENOENT) {
				continue // an empty directory
			}
			if len(stack) >= MaxOpen {
				// Too deep to descend: move the subtree to the top and
				// remove it from there later.
				if err := renameAt(cur.f, name, top, ".rmtree-"+strconv.FormatUint(seq.Add(1), 36)); err != nil {
					return fmt.Errorf("move %s up: %w", name, err)
				}
				continue
			}
			c, err := openDirAt(cur.f, name)
			if err != nil {
				if errors.Is(err, unix.ENOENT) {
					continue
				}
				return fmt.Errorf("open %s: %w", name, err)
			}
			stack = append(stack, level{f: c, name: name})
			break // descend first; this directory is read again after
		}
	}
}

// readBatch reads up to batch names from the start of dir (entries removed
// since the last read are gone, so starting over finds the rest).
func readBatch(dir *os.File) ([]string, error) {
	if _, err := dir.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	names, err := dir.Readdirnames(batch)
	if err == io.EOF {
		return nil, nil
	}
	return names, err
}

func fd(f *os.File) int { return int(f.Fd()) }

func openDir(dirfd int, name string) (*os.File, error) {
	n, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(n), name), nil
}

// openDirAt opens the child directory name, making it readable first if
// code took its permissions away.
func openDirAt(dir *os.File, name string) (*os.File, error) {
	f, err := openDir(fd(dir), name)
	if errors.Is(err, unix.EACCES) {
		_ = unix.Fchmodat(fd(dir), name, 0o700, 0)
		f, err = openDir(fd(dir), name)
	}
	return f, err
}

func unlinkAt(dir *os.File, name string, flags int) error {
	err := unix.Unlinkat(fd(dir), name, flags)
	if errors.Is(err, unix.EACCES) {
		// The directory's write permission was taken away.
		if ferr := unix.Fchmod(fd(dir), 0o700); ferr == nil {
			err = unix.Unlinkat(fd(dir), name, flags)
		}
	}
	return err
}

func renameAt(from *os.File, name string, to *os.File, newName string) error {
	return unix.Renameat(fd(from), name, fd(to), newName)
}
