// Walking a space: List and TouchSince. The walk starts from a directory
// opened inside the space's os.Root and descends with openat(O_NOFOLLOW)
// and fstatat(AT_SYMLINK_NOFOLLOW) relative to each directory fd, so it
// never follows a symlink and never re-resolves a path from the top.
package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// ctimeSlack widens TouchSince's window: the kernel stamps ctime from a
// coarse clock that can lag the real time by a tick, so a change made just
// after since may carry a ctime slightly before it.
const ctimeSlack = 20 * time.Millisecond

// hasPathPrefix is the listing filter of SPEC L-3: a plain string prefix,
// so "data" matches "data.csv" and "data/x", and "data/" only "data/x".
func hasPathPrefix(p, prefix string) bool { return strings.HasPrefix(p, prefix) }

// List lists a space recursively, keeping entries whose path has prefix as a
// plain string prefix (SPEC L-3). Directories are included with size 0 and,
// as modified time, the newest of everything under them (their own if
// empty). Symlinks, other non-regular files and names that the Files API
// could not address (SPEC P-1) are skipped. The result is sorted by path in
// byte order and is never nil. ErrNotFound if the space does not exist.
//
// The first List of a space walks it and keeps what it found in memory (see
// index.go); later ones read that index, which the store's writes keep true.
// The result may be shared with other callers: do not modify it.
func (s *Store) List(ctx context.Context, sp Space, prefix string) ([]Entry, error) {
	fail := func(err error) ([]Entry, error) {
		return nil, fmt.Errorf("store: list %s prefix %q: %w", sp.Key(), prefix, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := validSpace(sp); err != nil {
		return fail(err)
	}
	key := sp.Key()
	gen, idx, indexable := s.snapshot(key)
	if idx != nil {
		idx.mu.Lock()
		defer idx.mu.Unlock()
		return idx.list(prefix), nil
	}
	r, err := s.openSpace(sp)
	if err != nil {
		return fail(err)
	}
	defer r.Close()
	top, err := openDirIn(r, "")
	if err != nil {
		return fail(err)
	}
	defer top.Close()
	if !indexable {
		// Code is writing into the space: walk only what can match.
		entries := []Entry{}
		if _, err := s.listDir(ctx, top, "", prefix, &entries); err != nil {
			return fail(err)
		}
		slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
		return entries, nil
	}
	var all []*idxEntry
	if err := s.walkDir(ctx, top, "", &all); err != nil {
		return fail(err)
	}
	idx = newIndex(all)
	out := idx.list(prefix)
	s.install(key, gen, idx)
	return out, nil
}

// walkDir appends every addressable regular file and directory under d (at
// rel inside the space) to out, directories with their own mtime. It holds
// one open directory per level, and paths are at most MaxPathBytes long, so
// its depth and open descriptors are bounded.
func (s *Store) walkDir(ctx context.Context, d *os.File, rel string, out *[]*idxEntry) error {
	names, err := readNames(d)
	if err != nil {
		if isNotFound(err) {
			return nil // removed while we walked: now empty
		}
		return fmt.Errorf("%q: %w", rel, err)
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := join(rel, name)
		if ValidPath(p) != nil {
			continue
		}
		si, err := lstatAt(d, name)
		if err != nil {
			if isNotFound(err) {
				continue // removed while we walked
			}
			return err
		}
		switch {
		case si.mode.IsRegular():
			*out = append(*out, &idxEntry{path: p, name: name, size: si.size, mtime: si.mtime})
		case si.mode.IsDir():
			*out = append(*out, &idxEntry{path: p, name: name, mtime: si.mtime, isDir: true})
			c, err := openDirAt(d, name)
			if err != nil {
				if isNotFound(err) {
					continue // removed or replaced while we walked
				}
				return err
			}
			err = s.walkDir(ctx, c, p, out)
			c.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// listDir appends the matching entries under d (at rel inside the space)
// to out and returns the newest modified time under d (zero if none).
func (s *Store) listDir(ctx context.Context, d *os.File, rel, prefix string, out *[]Entry) (time.Time, error) {
	names, err := readNames(d)
	if err != nil {
		if isNotFound(err) {
			return time.Time{}, nil // removed while we walked: now empty
		}
		return time.Time{}, fmt.Errorf("%q: %w", rel, err)
	}
	var newest time.Time
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return time.Time{}, err
		}
		p := join(rel, name)
		if ValidPath(p) != nil {
			continue
		}
		si, err := lstatAt(d, name)
		if err != nil {
			if isNotFound(err) {
				continue // removed while we walked
			}
			return time.Time{}, err
		}
		var mod time.Time
		switch {
		case si.mode.IsRegular():
			mod = si.mtime
			if hasPathPrefix(p, prefix) {
				*out = append(*out, Entry{Name: name, Path: p, Size: si.size, Modified: mod})
			}
		case si.mode.IsDir():
			mod = si.mtime
			wanted := hasPathPrefix(p, prefix)
			// Descend only where something can match: below a matching
			// directory everything matches, and a prefix that reaches
			// into this directory may match some of its entries.
			if wanted || strings.HasPrefix(prefix, p+"/") {
				c, err := openDirAt(d, name)
				if err != nil {
					if isNotFound(err) {
						continue // removed or replaced while we walked
					}
					return time.Time{}, err
				}
				sub, err := s.listDir(ctx, c, p, prefix, out)
				c.Close()
				if err != nil {
					return time.Time{}, err
				}
				if !sub.IsZero() {
					mod = sub
				}
			}
			if wanted {
				*out = append(*out, Entry{Name: name, Path: p, Modified: mod, IsDir: true})
			}
		default:
			continue
		}
		if mod.After(newest) {
			newest = mod
		}
	}
	return newest, nil
}

// TouchSince stamps with the emulator clock every file and directory of the
// space that changed since the real time since (after sandboxed code ran),
// except files the store itself wrote meanwhile and nothing changed since,
// so listings show the emulator's time even when a test moved its clock.
// "Changed" is judged by ctime, which only the kernel sets: an upload
// stamped with a moved clock has an mtime in the future or past but an
// honest ctime, so it is not mistaken for the code's work. Symlinks are
// skipped, never followed. A file whose sidecar still matched keeps its
// content type.
func (s *Store) TouchSince(sp Space, since time.Time) error {
	fail := func(err error) error { return fmt.Errorf("store: touch %s: %w", sp.Key(), err) }
	r, err := s.openSpace(sp)
	if err != nil {
		return fail(err)
	}
	defer r.Close()
	top, err := openDirIn(r, "")
	if err != nil {
		return fail(err)
	}
	defer top.Close()
	defer s.Changed(sp)
	if err := s.touchDir(sp, top, "", since.Add(-ctimeSlack), s.clk.Now()); err != nil {
		return fail(err)
	}
	return nil
}

// touchDir is TouchSince for the directory d at rel; it goes on past errors
// and returns them joined.
func (s *Store) touchDir(sp Space, d *os.File, rel string, cutoff, now time.Time) error {
	names, err := readNames(d)
	if err != nil {
		if isNotFound(err) {
			return nil // removed while we walked
		}
		return fmt.Errorf("%q: %w", rel, err)
	}
	var errs []error
	for _, name := range names {
		p := join(rel, name)
		if ValidPath(p) != nil {
			// Not addressable by the Files API (too long, among others):
			// nobody lists it, so it needs no stamp, and skipping it bounds
			// the walk's depth, and its open descriptors, by MaxPathBytes.
			continue
		}
		si, err := lstatAt(d, name)
		if err != nil {
			if !isNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		switch {
		case si.mode.IsDir():
			c, err := openDirAt(d, name)
			if err != nil {
				if !isNotFound(err) {
					errs = append(errs, err)
				}
				continue
			}
			errs = append(errs, s.touchDir(sp, c, p, cutoff, now))
			c.Close()
		case si.mode.IsRegular():
		default:
			continue
		}
		if si.ctime.Before(cutoff) {
			continue
		}
		if si.mode.IsRegular() && s.committedETag(sp.Key(), p) == etag(si) {
			// Written by the store during the run (an upload, another
			// run's mirror download into a shared volume) and not touched
			// since: not the code's work, and stamping it would change it.
			continue
		}
		ct, hadType := "", false
		if si.mode.IsRegular() {
			// The type survives the stamping; an MD5 does not (the
			// content may have changed).
			ct, _, hadType = s.sidecarMeta(sp, p, si)
			if !hadType {
				// A sidecar that no longer matches must not match
				// again once the stamping restores the mtime it names
				// (a frozen clock): the content may have changed.
				s.removeSidecar(sp, p, si.ino)
			}
		}
		if err := lutimesAt(d, name, now); err != nil {
			if !isNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		if hadType {
			nsi, err := lstatAt(d, name)
			if err == nil && nsi.ino == si.ino {
				if err := s.writeSidecar(sp, p, ct, "", nsi); err != nil {
					s.log.Warn("store: refresh sidecar", "space", sp.Key(), "path", p, "err", err)
				}
			}
		}
	}
	return errors.Join(errs...)
}
