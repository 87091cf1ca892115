// Replacing a large file: exchange, then free the old one in the background.
package store

import (
	"fmt"
	"sync"
)

// exchangeMin is the size from which a Put that replaces a regular file
// exchanges the new file with it instead of renaming over it. Renaming over
// a file frees the old one inside the rename (its page cache and blocks:
// ~100 ms for 256 MiB here), and on ext4 also starts the write-back of the
// new file there (auto_da_alloc's replace-via-rename flush, ~80 ms more): a
// Put replacing 256 MiB spent ~170 ms of its ~590 in the rename. The
// exchange (renameat2 RENAME_EXCHANGE) is just as atomic for readers (the
// path names the old file, then the new one, never nothing), takes tens of
// microseconds, and leaves the old file at the temp name, removed on
// another goroutine. Smaller files are renamed over: freeing them is cheap.
const exchangeMin = 8 << 20

// exchangeAt puts the temp file tmp (described by si) at base in the
// directory to, where a regular file of at least exchangeMin bytes was, by
// exchanging the two. done is false when no exchange was made (the file
// went away meanwhile, or the filesystem cannot exchange): nothing changed
// and the caller renames instead. old is the file replaced, for sidecar
// cleanup; si is as after the exchange (which changes the ctime).
func (s *Store) exchangeAt(to int, base, p, tmp string, si statInfo) (done bool, old, _ statInfo, err error) {
	var xerr error
	err = withFd(s.tmpDir, func(from int) error {
		if xerr = exchange(from, tmp, to, base); xerr != nil {
			return nil
		}
		got, gerr := fstatatNoFollow(from, tmp)
		switch {
		case gerr != nil:
			// Gone from .tmp already: nothing to free.
		case got.mode.IsDir():
			// A directory replaced the file since it was checked
			// (code in the sandbox): put both back and refuse, as a
			// rename onto the directory would have.
			if berr := exchange(from, tmp, to, base); berr != nil {
				s.log.Warn("store: put back a directory exchanged by mistake", "path", p, "temp", tmp, "err", berr)
			}
			return fmt.Errorf("%w: %q is a directory and cannot be replaced by a file", ErrIsDir, p)
		default:
			if got.mode.IsRegular() {
				old = got
			}
			s.discard(tmp)
		}
		return nil
	})
	if xerr != nil {
		return false, statInfo{}, si, nil
	}
	if err != nil {
		return true, statInfo{}, si, err
	}
	if after, serr := fstatatNoFollow(to, base); serr == nil && after.ino == si.ino {
		si = after
	}
	return true, old, si, nil
}

// discarder removes replaced files from .tmp on goroutines of their own;
// Close waits for them, so none outlives the .tmp descriptor.
type discarder struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// discard removes the temp file name in the background (at once once the
// store is closing).
func (s *Store) discard(name string) {
	remove := func() {
		if err := s.tmpRoot.Remove(name); err != nil && !isNotFound(err) {
			s.log.Warn("store: remove replaced file", "name", name, "err", err)
		}
	}
	d := &s.disc
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		remove()
		return
	}
	d.wg.Add(1)
	d.mu.Unlock()
	go func() {
		defer d.wg.Done()
		remove()
	}()
}

// wait waits for every removal started and makes later ones synchronous.
func (d *discarder) wait() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.wg.Wait()
}
