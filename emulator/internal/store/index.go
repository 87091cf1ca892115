// The listing index: an in-memory copy of each listed space's tree, so that
// List is a lookup instead of a walk of the space's directories.
//
// A space is indexed by its first List (one walk, as without the index) and
// kept true from then on by the store's own writes: Put adds or replaces,
// Delete removes (and drops the parents it pruned). Anything that changes a
// space's directory behind the store's back must say so: an execution wraps
// its run in Modifying (the space is walked while code runs, and re-walked
// on the next List after it), TouchSince drops the index it stamped, and
// Changed drops one space's index for any other writer.
//
// Every change bumps the space's generation, also when it has no index; a
// walk installs its result only if no change happened while it walked, so a
// Put that raced with the first List is never lost from the index.
package store

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxIndexedEntries bounds the memory of the index: a space with more
// entries is listed by walking it every time, and the indexes of other
// spaces are dropped (least recently listed first) while the total is over.
const maxIndexedEntries = 2_000_000

// idxEntry is one file or directory of an indexed space.
type idxEntry struct {
	path, name string
	parent     *idxEntry // nil at the top of the space
	size       int64
	mtime      time.Time // a directory's own mtime
	isDir      bool
	dead       bool      // removed; dropped from sorted at the next compaction
	children   int       // live direct children of a directory
	newest     time.Time // a directory's listed modified time (see List)
}

// spaceIndex is the index of one space. mu guards everything in it and in
// its entries; it is taken after indexer.mu is released, never with it.
type spaceIndex struct {
	mu      sync.Mutex
	size    int   // entries when installed (for the memory bound)
	bytes   int64 // sum of the live files' sizes (Usage)
	byPath  map[string]*idxEntry
	sorted  []*idxEntry // by path, may hold dead entries
	pending []*idxEntry // added since the last compaction, unsorted
	dead    int         // dead entries in sorted
	stale   bool        // directory modified times need recomputing
	snap    []Entry     // the whole listing, built by list; nil after any change
	used    time.Time   // last listed (for eviction); guarded by indexer.mu
}

// spaceState is what the store knows about one space's index.
type spaceState struct {
	gen       uint64      // bumped by every change to the space
	modifying int         // external writers at work: do not index
	idx       *spaceIndex // nil: not indexed
	// committed holds, while code runs in the space, the ETag of each file
	// the store itself wrote meanwhile (an upload, a mirror's download), so
	// that TouchSince does not take it for the code's work. It goes with
	// the state when the last run ends.
	committed map[string]string
}

// indexer holds the indexes of all spaces.
type indexer struct {
	mu     sync.Mutex
	spaces map[string]*spaceState
	total  int    // entries in all indexes, as installed
	seq    uint64 // source of generations: a state made again never reuses one
}

// next returns a fresh generation. Caller holds mu.
func (x *indexer) next() uint64 {
	x.seq++
	return x.seq
}

func (x *indexer) state(key string) *spaceState {
	if x.spaces == nil {
		x.spaces = map[string]*spaceState{}
	}
	st := x.spaces[key]
	if st == nil {
		st = &spaceState{gen: x.next()}
		x.spaces[key] = st
	}
	return st
}

// drop forgets a space's index and bumps its generation. Caller holds mu.
func (x *indexer) drop(key string) {
	st := x.state(key)
	st.gen = x.next()
	if st.idx != nil {
		x.total -= st.idx.size
		st.idx = nil
	}
	if st.modifying == 0 {
		delete(x.spaces, key)
	}
}

// Changed tells the store that the directory of sp was changed by something
// other than the store (a restore, a test writing into SpaceDir): the next
// List walks it again.
func (s *Store) Changed(sp Space) {
	s.absent.forget()
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	s.idx.drop(sp.Key())
}

// ChangedAll is Changed for every space.
func (s *Store) ChangedAll() {
	s.absent.forget()
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	for key := range s.idx.spaces {
		s.idx.drop(key)
	}
}

// Modifying tells the store that something other than the store (sandboxed
// code) is about to write into sp's directory. Until the returned function
// is called, List walks the space every time; after it, the next List walks
// it once and indexes it again. Calls nest.
func (s *Store) Modifying(sp Space) (done func()) {
	key := sp.Key()
	s.idx.mu.Lock()
	s.idx.drop(key)
	s.idx.state(key).modifying++
	s.idx.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.idx.mu.Lock()
			defer s.idx.mu.Unlock()
			s.idx.state(key).modifying--
			s.idx.drop(key)
		})
	}
}

// noteCommit records that the store wrote p of the space key with etag,
// if code runs in that space now.
func (s *Store) noteCommit(key, p, etag string) {
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	st := s.idx.spaces[key]
	if st == nil || st.modifying == 0 {
		return
	}
	if st.committed == nil {
		st.committed = map[string]string{}
	}
	st.committed[p] = etag
}

// committedETag is the ETag noteCommit recorded for p of the space key, or
// "".
func (s *Store) committedETag(key, p string) string {
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	if st := s.idx.spaces[key]; st != nil {
		return st.committed[p]
	}
	return ""
}

// indexed returns the index of the space key, or nil if it has none (never
// indexed, dropped, or code is writing to it). Unlike snapshot it records
// nothing about the space: a lookup of a space that does not exist leaves
// no trace.
func (s *Store) indexed(key string) *spaceIndex {
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	if st := s.idx.spaces[key]; st != nil && st.modifying == 0 {
		return st.idx
	}
	return nil
}

// sizeOf answers Size from the index: the size of the file at p, or the
// error Size gives for what is there instead (a directory; nothing, which
// is also what the index shows for a name List leaves out: a symlink, a
// FIFO).
func (x *spaceIndex) sizeOf(sp Space, p string) (int64, error) {
	x.mu.Lock()
	e := x.byPath[p]
	var size int64
	isDir := false
	if e != nil {
		size, isDir = e.size, e.isDir
	}
	x.mu.Unlock()
	switch {
	case e == nil:
		return 0, &sizeNotFound{sp: sp, p: p, err: os.ErrNotExist}
	case isDir:
		return 0, fmt.Errorf("store: size %s: %w: %q", sp.ObjectKey(p), ErrIsDir, p)
	}
	return size, nil
}

// usage is the bytes of the index's live files.
func (x *spaceIndex) usage() int64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.bytes
}

// snapshot returns the generation of sp and its index (nil if none, or if
// the space may not be indexed now).
func (s *Store) snapshot(key string) (uint64, *spaceIndex, bool) {
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	st := s.idx.state(key)
	if st.idx != nil {
		st.idx.used = time.Now()
	}
	return st.gen, st.idx, st.modifying == 0
}

// install makes idx the index of key if nothing changed the space since
// generation gen.
func (s *Store) install(key string, gen uint64, idx *spaceIndex) {
	n := len(idx.byPath)
	idx.size = n
	if n > maxIndexedEntries {
		return
	}
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	st := s.idx.state(key)
	if st.gen != gen || st.modifying > 0 || st.idx != nil {
		return
	}
	st.idx = idx
	idx.used = time.Now()
	s.idx.total += n
	for s.idx.total > maxIndexedEntries {
		// Evict the least recently listed other index.
		var oldKey string
		var old *spaceIndex
		for k, o := range s.idx.spaces {
			if o.idx != nil && o.idx != idx && (old == nil || o.idx.used.Before(old.used)) {
				oldKey, old = k, o.idx
			}
		}
		if old == nil {
			break
		}
		s.idx.drop(oldKey)
	}
}

// reindex brings the index of sp (if any) in line with what is on disk at
// p now, after the store wrote or removed it: the file as it is (whichever
// of two racing writers updates the index last reads the final state), or
// its absence and that of the parents that went with it. It bumps the
// generation even when sp has no index, so a walk racing with the write is
// not installed.
//
// p is looked up in r, the space; or, if pfd is not -1, first in pfd, p's
// parent directory as the caller opened it: a regular file found there is
// the file at p (the store moves no directory while the space is indexed),
// while a file missing there may be in a parent made again since, so the
// space is opened to look at p (and its parents) by path.
func (s *Store) reindex(sp Space, r *os.Root, pfd int, p string) {
	key := sp.Key()
	s.idx.mu.Lock()
	st := s.idx.state(key)
	st.gen = s.idx.next()
	idx := st.idx
	if idx == nil && st.modifying == 0 {
		delete(s.idx.spaces, key)
	}
	s.idx.mu.Unlock()
	if idx == nil {
		return
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if pfd >= 0 {
		_, base := parentOf(p)
		if si, err := fstatatNoFollow(pfd, base); err == nil && si.mode.IsRegular() {
			idx.putFile(p, si.size, si.mtime)
			return
		}
	}
	if r == nil {
		var err error
		if r, err = s.openSpace(sp); err != nil {
			idx.remove(p, func(string) (time.Time, bool) { return time.Time{}, false })
			return
		}
		defer r.Close()
	}
	fi, err := r.Lstat(p)
	if err == nil && fi.Mode().IsRegular() {
		idx.putFile(p, fi.Size(), fi.ModTime().UTC())
		return
	}
	idx.remove(p, func(dir string) (time.Time, bool) {
		fi, err := r.Lstat(dir)
		if err != nil || !fi.IsDir() {
			return time.Time{}, false
		}
		return fi.ModTime().UTC(), true
	})
}

// newIndex builds an index from walked entries (own mtimes for directories).
func newIndex(entries []*idxEntry) *spaceIndex {
	idx := &spaceIndex{byPath: make(map[string]*idxEntry, len(entries)), sorted: entries, stale: true}
	for _, e := range entries {
		idx.byPath[e.path] = e
		if !e.isDir {
			idx.bytes += e.size
		}
	}
	for _, e := range entries {
		if dir, _ := parentOf(e.path); dir != "" {
			e.parent = idx.byPath[dir]
			if e.parent != nil {
				e.parent.children++
			}
		}
	}
	slices.SortFunc(idx.sorted, func(a, b *idxEntry) int { return strings.Compare(a.path, b.path) })
	return idx
}

// putFile records a regular file written at p (its parents are directories).
func (x *spaceIndex) putFile(p string, size int64, mtime time.Time) {
	x.snap = nil
	if e := x.byPath[p]; e != nil && !e.isDir {
		x.bytes += size - e.size
		e.size, e.mtime = size, mtime
		x.stale = true
		return
	}
	x.add(p, false, size, mtime)
	x.stale = true
}

// add inserts a new entry at p, and its missing parent directories.
func (x *spaceIndex) add(p string, isDir bool, size int64, mtime time.Time) *idxEntry {
	if e := x.byPath[p]; e != nil {
		return e
	}
	dir, name := parentOf(p)
	var parent *idxEntry
	if dir != "" {
		parent = x.add(dir, true, 0, mtime)
		parent.children++
	}
	e := &idxEntry{path: p, name: name, parent: parent, size: size, mtime: mtime, isDir: isDir}
	if !isDir {
		x.bytes += size
	}
	x.byPath[p] = e
	x.pending = append(x.pending, e)
	return e
}

// remove drops the entry at p; gone lists the parent directories that were
// removed with it (Delete's pruning) and kept the ones that stayed, with
// their own mtimes.
func (x *spaceIndex) remove(p string, gone func(dir string) (mtime time.Time, exists bool)) {
	x.snap = nil
	var d *idxEntry
	if e := x.byPath[p]; e != nil {
		x.kill(e)
		d = e.parent
	} else if dir, _ := parentOf(p); dir != "" {
		// p is not indexed (a Put that raced with this removal has not
		// reindexed yet), but a parent that an earlier removal kept because
		// that Put had just made it may have been pruned since: look again.
		if pe := x.byPath[dir]; pe != nil && pe.isDir {
			d = pe
		}
	}
	for ; d != nil && d.children == 0; d = d.parent {
		mt, ok := gone(d.path)
		if ok {
			d.mtime = mt
			break
		}
		x.kill(d)
	}
	x.stale = true
}

func (x *spaceIndex) kill(e *idxEntry) {
	delete(x.byPath, e.path)
	if !e.isDir {
		x.bytes -= e.size
	}
	e.dead = true
	x.dead++
	if e.parent != nil {
		e.parent.children--
	}
}

// compact merges pending entries into sorted and drops dead ones.
func (x *spaceIndex) compact() {
	if len(x.pending) == 0 && x.dead == 0 {
		return
	}
	cmp := func(a, b *idxEntry) int { return strings.Compare(a.path, b.path) }
	slices.SortFunc(x.pending, cmp)
	out := make([]*idxEntry, 0, len(x.byPath))
	i, j := 0, 0
	for i < len(x.sorted) || j < len(x.pending) {
		var e *idxEntry
		if j == len(x.pending) || i < len(x.sorted) && cmp(x.sorted[i], x.pending[j]) < 0 {
			e, i = x.sorted[i], i+1
		} else {
			e, j = x.pending[j], j+1
		}
		if !e.dead {
			out = append(out, e)
		}
	}
	x.sorted, x.pending, x.dead = out, nil, 0
}

// refresh recomputes the listed modified time of every directory: the
// newest modified time of any file or empty directory under it, or its own
// if it is empty (as the walk computes it).
func (x *spaceIndex) refresh() {
	if !x.stale {
		return
	}
	for _, e := range x.sorted {
		if e.isDir {
			e.newest = time.Time{}
		}
	}
	for _, e := range x.sorted {
		if e.isDir && e.children > 0 {
			continue
		}
		t := e.mtime
		if e.isDir {
			e.newest = t
		}
		for d := e.parent; d != nil; d = d.parent {
			if !t.After(d.newest) {
				break // an earlier leaf already carried a newer time up from here
			}
			d.newest = t
		}
	}
	x.stale = false
}

// list returns the entries whose path has prefix, sorted by path. The
// result is a window of a listing shared by every List until the space
// changes: callers must not modify it (its capacity ends with it, so an
// append copies).
func (x *spaceIndex) list(prefix string) []Entry {
	if x.snap == nil {
		x.compact()
		x.refresh()
		x.snap = make([]Entry, 0, len(x.sorted))
		for _, e := range x.sorted {
			en := Entry{Name: e.name, Path: e.path, Size: e.size, Modified: e.mtime, IsDir: e.isDir}
			if e.isDir {
				en.Size, en.Modified = 0, e.newest
			}
			x.snap = append(x.snap, en)
		}
	}
	start, _ := slices.BinarySearchFunc(x.snap, prefix, func(e Entry, p string) int { return strings.Compare(e.Path, p) })
	end := start
	if prefix == "" {
		end = len(x.snap)
	}
	for end < len(x.snap) && strings.HasPrefix(x.snap[end].Path, prefix) {
		end++
	}
	return x.snap[start:end:end]
}
