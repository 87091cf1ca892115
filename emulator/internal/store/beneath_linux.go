package store

import (
	"errors"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// noOpenat2 is set once openat2(2) turned out to be missing or refused
// (old kernel, seccomp): statBeneath then always defers to os.Root.
var noOpenat2 atomic.Bool

// statBeneath stats rel (a path under the store's root) in three syscalls:
// openat2 with RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS (so it can neither
// leave the store nor follow a link anywhere: it resolves no more than
// os.Root would), fstat, close. ok is false when it cannot answer (no
// openat2, or a symlink on the way, which os.Root must judge): the caller
// then takes the os.Root path.
func (s *Store) statBeneath(rel string) (si statInfo, err error, ok bool) {
	if noOpenat2.Load() {
		return statInfo{}, nil, false
	}
	d := s.rootDir.Load()
	if d == nil {
		return statInfo{}, nil, false
	}
	how := &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	var st unix.Stat_t
	err = withFd(d, func(dirfd int) error {
		fd, err := unix.Openat2(dirfd, rel, how)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Fstat(fd, &st)
	})
	switch {
	case err == nil:
		return infoFromStat(&st), nil, true
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return statInfo{}, err, true
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM), errors.Is(err, unix.E2BIG):
		noOpenat2.Store(true)
	}
	return statInfo{}, nil, false // ELOOP (a symlink), EXDEV, ...: os.Root decides
}

// openDirBeneath opens the directory rel (a path under the store's root) as
// an O_PATH descriptor in one syscall, with the same resolution as
// statBeneath: it can neither leave the store nor follow a symlink, so it
// lands on exactly the directory the path names, as a walk through os.Root
// with no symlink on the way would. An O_PATH descriptor serves as the
// directory of fstatat and renameat. The caller closes fd (unix.Close).
// ok is false when it cannot answer (no openat2, a symlink on the way,
// anything but a missing path): the caller then takes the os.Root path; a
// missing directory is err ENOENT or ENOTDIR with ok.
func (s *Store) openDirBeneath(rel string) (fd int, err error, ok bool) {
	if noOpenat2.Load() {
		return -1, nil, false
	}
	d := s.rootDir.Load()
	if d == nil {
		return -1, nil, false
	}
	how := &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	fd = -1
	err = withFd(d, func(dirfd int) error {
		var err error
		for {
			fd, err = unix.Openat2(dirfd, rel, how)
			if err != unix.EINTR {
				return err
			}
		}
	})
	switch {
	case err == nil:
		return fd, nil, true
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return -1, err, true
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM), errors.Is(err, unix.E2BIG):
		noOpenat2.Store(true)
	}
	return -1, nil, false
}
