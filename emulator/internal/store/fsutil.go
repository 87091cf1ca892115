// Low-level filesystem helpers: error classification and fd-relative calls
// that never follow a symlink.
package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// isNotFound reports whether err means "there is nothing usable at that
// path" from the point of view of a space: missing, a parent that is not a
// directory, a symlink loop, a too-long name, or os.Root refusing a path that
// escapes the root (that error is not exported and carries no errno, so any
// *PathError without an errno counts as a refusal).
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ENOENT, syscall.ENOTDIR, syscall.ELOOP, syscall.ENAMETOOLONG:
			return true
		}
		return false
	}
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	var pe *fs.PathError
	return errors.As(err, &pe)
}

// withFd runs fn with the raw descriptor of f, keeping f alive meanwhile
// (unlike f.Fd, it does not switch f to blocking mode).
func withFd(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// openDirIn opens directory name inside r for use as a dirfd. O_DIRECTORY
// makes a swapped-in FIFO or file fail instead of blocking or succeeding.
func openDirIn(r *os.Root, name string) (*os.File, error) {
	if name == "" {
		name = "."
	}
	return r.OpenFile(name, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
}

// openDirAt opens the child directory name of dir without following a
// symlink in its place.
func openDirAt(dir *os.File, name string) (*os.File, error) {
	var nfd int
	err := withFd(dir, func(fd int) error {
		var err error
		for {
			nfd, err = unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
			if err != unix.EINTR {
				return err
			}
		}
	})
	if err != nil {
		return nil, &fs.PathError{Op: "openat", Path: name, Err: err}
	}
	return os.NewFile(uintptr(nfd), name), nil
}

// createAt creates the new file name (one path segment) inside dir for
// writing, as os.Root.OpenFile(name, O_CREATE|O_EXCL|O_WRONLY) does, but
// with one openat and no poller registration (a regular file never blocks):
// three fcntl calls fewer per upload.
func createAt(dir *os.File, name string, perm os.FileMode) (*os.File, error) {
	var nfd int
	err := withFd(dir, func(fd int) error {
		var err error
		for {
			nfd, err = unix.Openat(fd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
			if err != unix.EINTR {
				return err
			}
		}
	})
	if err != nil {
		return nil, &fs.PathError{Op: "openat", Path: name, Err: err}
	}
	return os.NewFile(uintptr(nfd), name), nil
}

// lstatAt stats name inside dir without following a symlink.
func lstatAt(dir *os.File, name string) (statInfo, error) {
	var st unix.Stat_t
	err := withFd(dir, func(fd int) error {
		return unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		return statInfo{}, &fs.PathError{Op: "fstatat", Path: name, Err: err}
	}
	return infoFromStat(&st), nil
}

// fstatatNoFollow stats name inside the directory descriptor dirfd without
// following a symlink.
func fstatatNoFollow(dirfd int, name string) (statInfo, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == nil {
			return infoFromStat(&st), nil
		}
		if err != unix.EINTR {
			return statInfo{}, &fs.PathError{Op: "fstatat", Path: name, Err: err}
		}
	}
}

// lutimesAt sets the times of name inside dir without following a symlink.
func lutimesAt(dir *os.File, name string, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	err := withFd(dir, func(fd int) error {
		return unix.UtimesNanoAt(fd, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		return &fs.PathError{Op: "utimensat", Path: name, Err: err}
	}
	return nil
}

// readNames returns the names in dir. It reads from the start each time.
func readNames(dir *os.File) ([]string, error) {
	if _, err := dir.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind directory: %w", err)
	}
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read directory: %w", err)
	}
	return names, nil
}

// infoFromStat converts a raw stat result.
func infoFromStat(st *unix.Stat_t) statInfo {
	var mode fs.FileMode
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		mode = 0
	case unix.S_IFDIR:
		mode = fs.ModeDir
	case unix.S_IFLNK:
		mode = fs.ModeSymlink
	case unix.S_IFIFO:
		mode = fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode = fs.ModeSocket
	case unix.S_IFCHR:
		mode = fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode = fs.ModeDevice
	default:
		mode = fs.ModeIrregular
	}
	return statInfo{
		mode:  mode | fs.FileMode(st.Mode&0o777),
		size:  st.Size,
		mtime: time.Unix(st.Mtim.Unix()).UTC(),
		ctime: time.Unix(st.Ctim.Unix()).UTC(),
		ino:   st.Ino,
	}
}

// infoFromFileInfo converts an os.FileInfo (from Lstat or File.Stat).
func infoFromFileInfo(fi fs.FileInfo) statInfo {
	si := statInfo{mode: fi.Mode(), size: fi.Size(), mtime: fi.ModTime().UTC()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		si.ino = st.Ino
		si.ctime = ctimeOf(st)
	}
	return si
}

// linkCount is the number of hard links of a stat result: 0 for a directory
// that has been removed while it was open.
func linkCount(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
