// Package store keeps the bytes of threads and volumes on the local
// filesystem, one real directory per space, in the seed's bucket layout.
package store

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
)

var errTODO = errors.New("store: not implemented yet")

// Store is the local store. Safe for concurrent use.
type Store struct {
	dir string
	clk *clock.Clock
	log *slog.Logger
}

// Open opens (creating it if needed) a store rooted at dir. With dir == "",
// it uses a new temporary directory that Close removes.
func Open(dir string, clk *clock.Clock, log *slog.Logger) (*Store, error) {
	return &Store{dir: dir, clk: clk, log: log}, nil
}

// Dir returns the store's root directory on the host.
func (s *Store) Dir() string { return s.dir }

// Close releases the store; a temporary store's directory is removed.
func (s *Store) Close() error { return nil }

// SpaceDir returns the host directory of a space (for bind mounts).
func (s *Store) SpaceDir(sp Space) string { return "" }

// Exists reports whether a space exists.
func (s *Store) Exists(sp Space) (bool, error) { return false, errTODO }

// Create makes a space's directory if it does not exist.
func (s *Store) Create(sp Space) error { return errTODO }

// List lists a space recursively, keeping entries whose path has the prefix.
func (s *Store) List(ctx context.Context, sp Space, prefix string) ([]Entry, error) {
	return nil, errTODO
}

// Stat describes a file.
func (s *Store) Stat(ctx context.Context, sp Space, p string) (Object, error) {
	return Object{}, errTODO
}

// Reader reads one stored file.
type Reader struct {
	io.ReadSeekCloser
	Object
}

// Open opens a file for reading.
func (s *Store) Open(ctx context.Context, sp Space, p string) (*Reader, error) {
	return nil, errTODO
}

// Put streams exactly size bytes from body into the file at p.
func (s *Store) Put(ctx context.Context, sp Space, p, contentType string, size int64, body io.Reader) (Object, error) {
	return Object{}, errTODO
}

// Delete removes a file.
func (s *Store) Delete(ctx context.Context, sp Space, p string) error { return errTODO }

// TouchSince stamps with the emulator clock every entry changed since the real time since.
func (s *Store) TouchSince(sp Space, since time.Time) error { return errTODO }
