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
	if _, idx, _ := s.snapshot(sp.Key()); idx != nil {
		// An indexed space keeps its total as it changes: no listing is built.
		idx.mu.Lock()
		defer idx.mu.Unlock()
		return idx.bytes, nil
	}
	if validSpace(sp) == nil {
		if _, err, ok := s.statBeneath(sp.Key()); ok && err != nil {
			return 0, nil // no such space: one syscall, not a failed List
		}
	}
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
