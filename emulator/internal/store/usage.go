// Usage: how many bytes a space holds, for its size limit.
package store

import (
	"context"
	"errors"
	"fmt"
)

// Usage returns the total size of the regular files of a space that the
// Files API can address (what List shows); 0 for a space that does not
// exist. It answers from the listing index when the space has one.
func (s *Store) Usage(ctx context.Context, sp Space) (int64, error) {
	key := sp.Key() // once: building it allocates
	if idx := s.indexed(key); idx != nil {
		// An indexed space keeps its total as it changes: no listing is built.
		return idx.usage(), nil
	}
	if validSpace(sp) == nil && s.spaceMissing(sp.Key()) {
		return 0, nil // no such space: at most one syscall, not a failed List
	}
	return s.walkUsage(ctx, sp)
}

// walkUsage is Usage by a listing (which indexes the space if it may).
func (s *Store) walkUsage(ctx context.Context, sp Space) (int64, error) {
	entries, err := s.List(ctx, sp, "")
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return 0, nil
		}
		return 0, fmt.Errorf("store: usage: %w", err)
	}
	var n int64
	for _, e := range entries {
		if !e.IsDir {
			n += e.Size
		}
	}
	return n, nil
}

// Occupancy is what upload_url checks before it signs: the size of the
// regular file at p (0 if there is none, or something that is not a
// regular file; ErrIsDir, wrapped, if p is a directory) and, if withUsage,
// the bytes the space holds (Usage). It costs no syscall for an indexed
// space, or a space known not to exist (absent.go), one for a space found
// not to exist; otherwise it is Size then Usage.
func (s *Store) Occupancy(ctx context.Context, sp Space, p string, withUsage bool) (size, used int64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, fmt.Errorf("store: occupancy of %s: %w", sp.ObjectKey(p), err)
	}
	if err := validSpace(sp); err != nil {
		return 0, 0, fmt.Errorf("store: occupancy of %s: %w", sp.ObjectKey(p), err)
	}
	if err := ValidPath(p); err != nil {
		return 0, 0, fmt.Errorf("store: occupancy of %s: %w", sp.ObjectKey(p), err)
	}
	key := sp.Key() // once: building it allocates
	if idx := s.indexed(key); idx != nil {
		size, err := idx.sizeOf(sp, p)
		if err != nil && !errors.Is(err, ErrIsDir) {
			size, err = 0, nil
		}
		if err != nil || !withUsage {
			return size, 0, err
		}
		return size, idx.usage(), nil
	}
	if s.spaceMissing(key) {
		return 0, 0, nil // no such space: nothing at p, nothing held
	}
	size, err = s.Size(ctx, sp, p)
	if errors.Is(err, ErrIsDir) {
		return 0, 0, err
	}
	if err != nil {
		size = 0 // nothing there that an upload would replace
	}
	if !withUsage {
		return size, 0, nil
	}
	used, err = s.walkUsage(ctx, sp)
	return size, used, err
}
