//go:build !linux

package store

// statBeneath has no fast path off Linux: the caller takes the os.Root path.
func (s *Store) statBeneath(rel string) (statInfo, error, bool) { return statInfo{}, nil, false }

// openDirBeneath has no fast path off Linux: the caller takes the os.Root
// path.
func (s *Store) openDirBeneath(rel string) (int, error, bool) { return -1, nil, false }
