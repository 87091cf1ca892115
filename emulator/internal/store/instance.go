// The instance lock: which temp files belong to a live process.
//
// Every open Store is one instance with a random id. It holds an exclusive
// flock(2) on .instances/<id>.lock for as long as it is open, and names every
// temp file it makes "<id>.<kind>-<random>". The kernel drops the lock when
// the process dies, however it dies (kill -9 included), so a store that opens
// the same data directory later can tell at once which temp files nobody
// owns any more: those of an id whose lock file is missing or can be locked.
// A second emulator on the same data directory sees the first one's lock
// held and leaves its uploads in flight alone.
//
// The lock file is created under a temporary name (<id>.new), locked, and
// only then renamed to <id>.lock, so a sweeping store never mistakes a lock
// file that is being set up for a dead one: it either cannot lock the .new
// file, or removes it before it is renamed (the rename then fails and the
// starting store tries again with a new id). Temp files are made only after
// the rename, so a temp file whose <id>.lock does not exist is not owned.
package store

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/localbaponi/localbaponi/emulator/internal/rmtree"
	"golang.org/x/sys/unix"
)

// instDirName holds one lock file per open store.
const instDirName = ".instances"

// lockAttempts bounds how often Open retries making its lock file when a
// concurrent sweep removes it half-made.
const lockAttempts = 8

// tempName returns a new temp file name of kind ("put", "meta") for this
// instance.
func (s *Store) tempName(kind string) string {
	return s.instID + "." + kind + "-" + rand.Text()
}

// lockInstance picks an id for this store and takes its lock.
func (s *Store) lockInstance() error {
	for range lockAttempts {
		id := rand.Text()
		f, err := s.instRoot.OpenFile(id+".new", os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
		if err != nil {
			return fmt.Errorf("create instance lock: %w", err)
		}
		if err := flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
			if !lockUnsupported(err) {
				f.Close()
				_ = s.instRoot.Remove(id + ".new")
				return fmt.Errorf("lock instance file: %w", err)
			}
			// A filesystem without flock: uploads still work, but a later
			// start cannot tell this instance's temp files from a dead one's.
			s.log.Warn("store: the data directory's filesystem does not support flock; leftover temp files of a crashed emulator are removed only when their lock file is gone", "err", err)
		}
		if err := s.instRoot.Rename(id+".new", id+".lock"); err != nil {
			f.Close()
			if isNotFound(err) {
				continue // a sweep removed it before the rename: try a new id
			}
			_ = s.instRoot.Remove(id + ".new")
			return fmt.Errorf("publish instance lock: %w", err)
		}
		s.instID, s.instLock = id, f
		return nil
	}
	return errors.New("create instance lock: it kept being removed by concurrent starts")
}

// unlockInstance removes this store's lock file and releases the lock.
func (s *Store) unlockInstance() error {
	if s.instLock == nil {
		return nil
	}
	err := s.instRoot.Remove(s.instID + ".lock")
	if isNotFound(err) {
		err = nil
	}
	return errors.Join(err, s.instLock.Close())
}

// flock calls flock(2) on f.
func flock(f *os.File, how int) error {
	return withFd(f, func(fd int) error {
		for {
			err := unix.Flock(fd, how)
			if err != unix.EINTR {
				return err
			}
		}
	})
}

func lockUnsupported(err error) bool {
	return errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOLCK)
}

// probe reports whether the lock file name in .instances is held by a live
// store. A file that is missing is not; one that cannot be probed (no flock
// on this filesystem) counts as held, to be safe.
func (s *Store) probe(name string) (held bool) {
	f, err := s.instRoot.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return !isNotFound(err)
	}
	defer f.Close() // releases the probe's lock, if it got one
	err = flock(f, unix.LOCK_EX|unix.LOCK_NB)
	return err != nil
}

// sweepDead removes what dead instances left behind: their temp files in
// .tmp (partial uploads, sidecars not yet renamed) and their lock files. It
// runs when a store opens, after it has taken its own lock.
func (s *Store) sweepDead() {
	instNames, err := s.readDirNames(instDirName)
	if err != nil {
		s.log.Warn("store: list instance locks", "err", err)
		return
	}
	live := map[string]bool{}
	var deadLocks []string
	for _, name := range instNames {
		id, ext, _ := strings.Cut(name, ".")
		if id == s.instID {
			continue
		}
		held := s.probe(name)
		if ext == "lock" {
			live[id] = held
		}
		if !held && ext == "lock" {
			deadLocks = append(deadLocks, name)
		} else if !held {
			s.removeIn(instDirName, name)
		}
	}

	tmpNames, err := readNames(s.tmpDir)
	if err != nil {
		s.log.Warn("store: list temp files", "err", err)
		return
	}
	removed := 0
	for _, name := range tmpNames {
		id, _, ok := strings.Cut(name, ".")
		if ok && id == s.instID {
			continue
		}
		held, seen := live[id]
		if ok && !seen {
			// A lock that appeared after the listing above: its temps
			// appeared later still, so probe it now.
			held = s.probe(id + ".lock")
			live[id] = held
		}
		if ok && held {
			continue
		}
		// Not owned: a dead instance's, or a name without an instance id
		// (an older version's).
		if err := s.tmpRoot.RemoveAll(name); err != nil && !isNotFound(err) {
			s.log.Warn("store: remove leftover temp file", "name", name, "err", err)
			continue
		}
		removed++
	}
	stages := s.sweepStages(live)
	for _, name := range deadLocks {
		s.removeIn(instDirName, name)
	}
	if removed > 0 || stages > 0 {
		s.log.Info("store: removed what an emulator that did not shut down cleanly left behind", "temp_files", removed, "staging_dirs", stages)
	}
}

// sweepStages removes the staging directories (a snapshot load that did not
// finish) of instances that are not alive, and returns how many it removed.
// live holds the ids whose locks sweepDead probed; an id it has not seen is
// probed here.
func (s *Store) sweepStages(live map[string]bool) int {
	names, err := s.readDirNames(".")
	if err != nil {
		s.log.Warn("store: list staging directories", "err", err)
		return 0
	}
	removed := 0
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, stagePrefix)
		if !ok {
			continue
		}
		id, _, _ := strings.Cut(rest, "-")
		if id == s.instID {
			continue
		}
		held, seen := live[id]
		if !seen {
			held = s.probe(id + ".lock")
			live[id] = held
		}
		if held {
			continue
		}
		// rmtree: a staging store holds spaces that sandboxed code may have
		// filled (a snapshot of them), of any depth.
		if err := rmtree.RemoveAll(filepath.Join(s.dir, name)); err != nil {
			s.log.Warn("store: remove leftover staging directory", "name", name, "err", err)
			continue
		}
		removed++
	}
	return removed
}

// readDirNames lists a directory of the store root.
func (s *Store) readDirNames(dir string) ([]string, error) {
	d, err := openDirIn(s.root, dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return readNames(d)
}

// removeIn removes name from dir of the store root, logging failures.
func (s *Store) removeIn(dir, name string) {
	if err := s.root.Remove(dir + "/" + name); err != nil && !isNotFound(err) {
		s.log.Warn("store: remove", "name", dir+"/"+name, "err", err)
	}
}
