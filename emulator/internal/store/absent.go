// Spaces known not to exist: upload_url to a thread that has no file yet
// asks about it on every call.
package store

import "sync"

// maxAbsent bounds how many missing spaces are remembered; past it, they
// are forgotten all at once.
const maxAbsent = 4096

// absentSpaces remembers spaces that a lookup found missing, so that the
// next lookups of the same space cost no syscall. Everything that can make
// a space directory appear bumps the epoch, which forgets them all: Create
// (every upload to a new space, every execution), a snapshot's
// ReplaceWith, and Changed and ChangedAll (what an outside writer must
// call). A lookup notes a space only if the epoch did not move between its
// reading the epoch and its finding the space missing, so a Create racing
// with it is never hidden.
type absentSpaces struct {
	mu    sync.Mutex
	epoch uint64
	keys  map[string]uint64 // space key → epoch it was found missing in
}

// now returns the epoch, read before a lookup.
func (a *absentSpaces) now() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.epoch
}

// note records that the space key was missing in a lookup begun at epoch.
func (a *absentSpaces) note(key string, epoch uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.epoch != epoch {
		return
	}
	if a.keys == nil || len(a.keys) >= maxAbsent {
		a.keys = make(map[string]uint64)
	}
	a.keys[key] = epoch
}

// known reports whether the space key is known to be missing.
func (a *absentSpaces) known(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.keys[key]
	return ok && e == a.epoch
}

// forget drops everything known: a space may exist now.
func (a *absentSpaces) forget() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.epoch++
	clear(a.keys)
}

// spaceMissing reports whether the space (whose key is valid) does not
// exist: from what is known, else by one statBeneath, whose answer is
// remembered. false also when it cannot tell.
func (s *Store) spaceMissing(key string) bool {
	if s.absent.known(key) {
		return true
	}
	epoch := s.absent.now()
	if _, err, ok := s.statBeneath(key); ok && err != nil {
		s.absent.note(key, epoch)
		return true
	}
	return false
}
