// Package store keeps the bytes of threads and volumes on the local
// filesystem, one real directory per space, in the seed's bucket layout.
//
// On-disk layout under the store's directory:
//
//	orgs/<org>/threads/<id>/<path>   thread files (bind-mounted at /home/baponi)
//	orgs/<org>/volumes/<slug>/<path> volume files (bind-mounted at /volumes/<slug>)
//	.meta/<space key>/<hash>.<inode>.json  sidecars: the content type of an upload
//	                                 whose type is not the one its extension gives
//	.tmp/                            uploads in flight (same filesystem, so rename works),
//	                                 named <instance id>.<kind>-<random>
//	.instances/<id>.lock             one per open store, flock'ed while it is open
//	.stage-<id>-<random>/            a snapshot being loaded (a store of its own), owned
//	                                 by instance <id>; swept at start when <id> is dead
//
// Nothing of the store's own lives inside a space directory, because
// sandboxed code can see and change everything there.
//
// Every access goes through os.Root: the store's own directory is one root,
// and every per-space operation opens a root at the space's directory, so a
// symlink planted by sandboxed code cannot lead a read, write, list or delete
// outside that space (neither out of the data directory nor into a sibling).
//
// List answers from an in-memory index of each listed space (index.go),
// built by the space's first List and kept true by Put and Delete; while code
// runs in a space (Modifying) and after TouchSince, the next List walks the
// directory again, since code writes behind the store's back.
//
// Modes: files are created 0o644 and directories 0o755 (before umask). By
// default the store does not chown anything. With SetFileOwner (the emulator
// runs as root and the sandbox user is an unprivileged host id), everything
// the store creates inside a space — the space directory, directories an
// upload makes, uploaded files — is given to that owner through file
// descriptors, never by path, so sandboxed code can change it and nobody has
// to chown a tree that code can write (see giveDirs).
package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/rmtree"
)

// FileMode is the mode (before umask) of files the store creates.
const FileMode os.FileMode = 0o644

// DirMode is the mode (before umask) of directories the store creates.
const DirMode os.FileMode = 0o755

// Names of the store's private directories at the top of its root. They
// start with a dot, so they cannot clash with "orgs".
const (
	tmpDirName  = ".tmp"
	metaDirName = ".meta"
	orgsDirName = "orgs"
)

// copyBufSize is the fixed buffer an upload is streamed through: memory use
// does not grow with the size of the upload.
const copyBufSize = 1 << 20

// Store is the local store. Safe for concurrent use: no lock is held while
// an upload's body is received, so a stalled upload never delays other
// operations.
type Store struct {
	dir  string
	clk  *clock.Clock
	log  *slog.Logger
	temp bool // dir was made by Open and is removed by Close

	root    *os.Root // the store's directory
	tmpRoot *os.Root // root.OpenRoot(".tmp"): where uploads are written
	tmpDir  *os.File // an open fd of .tmp, the source side of renameat

	instRoot *os.Root // root.OpenRoot(".instances")
	instID   string   // this store's instance id: the prefix of its temp files
	instLock *os.File // flock'ed .instances/<instID>.lock (see instance.go)

	owner atomic.Pointer[fileOwner] // set: uploaded files are given to it

	idx    indexer      // listing indexes (index.go)
	absent absentSpaces // spaces known not to exist (absent.go)

	rootDir atomic.Pointer[os.File] // the store's directory, for statBeneath

	// treeMu keeps Delete's pruning of empty directories from removing a
	// directory that a Put has just made for its rename: Puts share it for
	// the mkdir+rename step only (never while receiving a body), pruning
	// holds it alone. Both sides are a few metadata syscalls.
	treeMu sync.RWMutex

	disc discarder // removes replaced large files (replace.go)

	closeOnce sync.Once
	closeErr  error
}

// fileOwner is a host uid and gid.
type fileOwner struct{ uid, gid int }

// SetFileOwner makes every file a Put writes, every directory it makes and
// every space directory Create makes or finds from now on belong to uid:gid
// (the sandbox user, so that code can change them: the sandbox never chowns
// anything). Needs the privilege to chown.
func (s *Store) SetFileOwner(uid, gid int) { s.owner.Store(&fileOwner{uid, gid}) }

// Open opens (creating it if needed) a store rooted at dir. With dir == "",
// it uses a new temporary directory that Close removes. A nil clk means the
// real clock; a nil log discards logs.
func Open(dir string, clk *clock.Clock, log *slog.Logger) (*Store, error) {
	if clk == nil {
		clk = clock.NewReal()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{clk: clk, log: log}
	if dir == "" {
		d, err := os.MkdirTemp("", "localbaponi-store-*")
		if err != nil {
			return nil, fmt.Errorf("store: open: make temporary directory: %w", err)
		}
		dir, s.temp = d, true
	} else if err := os.MkdirAll(dir, DirMode); err != nil {
		return nil, fmt.Errorf("store: open: create %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		s.removeTemp(dir)
		return nil, fmt.Errorf("store: open: %w", err)
	}
	s.dir = abs
	if err := checkFormat(abs); err != nil {
		s.removeTemp(abs)
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := s.openRoots(); err != nil {
		s.closeRoots()
		s.removeTemp(abs)
		return nil, err
	}
	if err := s.lockInstance(); err != nil {
		s.closeRoots()
		s.removeTemp(abs)
		return nil, fmt.Errorf("store: open: %w", err)
	}
	s.sweepDead()
	return s, nil
}

func (s *Store) removeTemp(dir string) {
	if s.temp {
		_ = rmtree.RemoveAll(dir)
	}
}

func (s *Store) openRoots() error {
	var err error
	if s.root, err = os.OpenRoot(s.dir); err != nil {
		return fmt.Errorf("store: open: %w", err)
	}
	for _, d := range []string{tmpDirName, metaDirName, orgsDirName, instDirName} {
		if err := s.root.MkdirAll(d, DirMode); err != nil {
			return fmt.Errorf("store: open: create %s: %w", d, err)
		}
	}
	if s.tmpRoot, err = s.root.OpenRoot(tmpDirName); err != nil {
		return fmt.Errorf("store: open: %w", err)
	}
	d, err := openDirIn(s.root, "")
	if err != nil {
		return fmt.Errorf("store: open: %w", err)
	}
	s.rootDir.Store(d)
	if s.tmpDir, err = openDirIn(s.root, tmpDirName); err != nil {
		return fmt.Errorf("store: open: %w", err)
	}
	if s.instRoot, err = s.root.OpenRoot(instDirName); err != nil {
		return fmt.Errorf("store: open: %w", err)
	}
	return nil
}

func (s *Store) closeRoots() error {
	var errs []error
	if d := s.rootDir.Swap(nil); d != nil {
		errs = append(errs, d.Close())
	}
	if s.instRoot != nil {
		errs = append(errs, s.unlockInstance(), s.instRoot.Close())
	}
	if s.tmpDir != nil {
		errs = append(errs, s.tmpDir.Close())
	}
	if s.tmpRoot != nil {
		errs = append(errs, s.tmpRoot.Close())
	}
	if s.root != nil {
		errs = append(errs, s.root.Close())
	}
	return errors.Join(errs...)
}

// Dir returns the store's root directory on the host (absolute).
func (s *Store) Dir() string { return s.dir }

// Close releases the store; a temporary store's directory is removed.
// Calling it again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.disc.wait()
		err := s.closeRoots()
		if s.temp {
			// Code may have left a tree deeper than os.RemoveAll can
			// remove (one descriptor per level).
			if rerr := rmtree.RemoveAll(s.dir); rerr != nil {
				err = errors.Join(err, fmt.Errorf("store: remove %s: %w", s.dir, rerr))
			}
		}
		s.closeErr = err
	})
	return s.closeErr
}

// SpaceDir returns the host directory of a space (for bind mounts). It does
// not create it; see Create.
func (s *Store) SpaceDir(sp Space) string {
	return filepath.Join(s.dir, filepath.FromSlash(sp.Key()))
}

// validSpace checks every part of a space, so Key never names a directory
// outside orgs/<org>/{threads|volumes}/.
func validSpace(sp Space) error {
	if sp.Kind != Thread && sp.Kind != Volume {
		return fmt.Errorf("%w: kind %q is neither %q nor %q", ErrInvalidPath, sp.Kind, Thread, Volume)
	}
	if err := ValidID(sp.Org); err != nil {
		return fmt.Errorf("org: %w", err)
	}
	if err := ValidID(sp.ID); err != nil {
		return fmt.Errorf("%s id: %w", sp.Kind, err)
	}
	return nil
}

// Exists reports whether a space exists.
func (s *Store) Exists(sp Space) (bool, error) {
	if err := validSpace(sp); err != nil {
		return false, fmt.Errorf("store: exists: %w", err)
	}
	fi, err := s.root.Lstat(sp.Key())
	switch {
	case err == nil:
		return fi.IsDir(), nil
	case isNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("store: exists %s: %w", sp.Key(), err)
	}
}

// Create makes a space's directory (mode DirMode) if it does not exist.
func (s *Store) Create(sp Space) error {
	if err := validSpace(sp); err != nil {
		return fmt.Errorf("store: create: %w", err)
	}
	err := s.root.MkdirAll(sp.Key(), DirMode)
	s.absent.forget() // made, or in the making: no longer known missing
	if err != nil {
		return fmt.Errorf("store: create %s: %w", sp.Key(), err)
	}
	if s.owner.Load() == nil {
		return nil
	}
	r, err := s.openSpace(sp)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", sp.Key(), err)
	}
	defer r.Close()
	if err := s.giveDirs(r, ""); err != nil {
		return fmt.Errorf("store: create %s: %w", sp.Key(), err)
	}
	return nil
}

// openSpace opens a root at the space's directory; ErrNotFound if it does
// not exist. The caller closes it.
func (s *Store) openSpace(sp Space) (*os.Root, error) {
	if err := validSpace(sp); err != nil {
		return nil, err
	}
	r, err := s.root.OpenRoot(sp.Key())
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: %s %q does not exist", ErrNotFound, sp.Kind, sp.ID)
		}
		return nil, err
	}
	return r, nil
}

// join joins a directory path inside a space with a name; "" is the space root.
func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// parentOf returns the directory part of p ("" for a top-level name) and its
// last segment.
func parentOf(p string) (dir, base string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// statInfo is what the store needs from a stat result.
type statInfo struct {
	mode  fs.FileMode
	size  int64
	mtime time.Time
	ctime time.Time // status change: set by the kernel, never by utimes
	ino   uint64
}
