package store

import (
	"context"
	"io"
)

// Backend is what the faces and the control plane need from a store: the
// bytes of threads and volumes, wherever they are kept. The file store
// (*Store, the default and the fastest) implements it; so do the remote
// stores (packages s3store and gcsstore), which keep the bytes in a bucket.
//
// Errors wrap the store's sentinels (ErrNotFound, ErrIsDir, ErrInvalidPath,
// ErrSizeMismatch, ErrBadDigest) so callers map them the same way for every
// implementation. Every implementation must keep SPEC's rules: an upload that
// fails or is cut leaves nothing, List answers in SPEC's order (L-1..L-4).
type Backend interface {
	// Exists reports whether a space exists.
	Exists(sp Space) (bool, error)
	// Create makes a space if it does not exist.
	Create(sp Space) error
	// Stat describes a regular file.
	Stat(ctx context.Context, sp Space, p string) (Object, error)
	// Size returns the size of the regular file at p (Stat's errors).
	Size(ctx context.Context, sp Space, p string) (int64, error)
	// Open opens a regular file for reading.
	Open(ctx context.Context, sp Space, p string) (*Reader, error)
	// Put stores exactly size bytes of body at p (replacing a file there),
	// with the content type given ("" means the one p's extension gives).
	Put(ctx context.Context, sp Space, p, contentType string, size int64, body io.Reader) (Object, error)
	// PutMD5 is Put that also computes the content's MD5 (Object.MD5) and,
	// if want is not nil, refuses content whose MD5 differs (ErrBadDigest).
	PutMD5(ctx context.Context, sp Space, p, contentType string, size int64, body io.Reader, want []byte) (Object, error)
	// Delete removes a regular file.
	Delete(ctx context.Context, sp Space, p string) error
	// List lists the files and directories of a space under prefix (SPEC L-1..L-4).
	List(ctx context.Context, sp Space, prefix string) ([]Entry, error)
	// Usage returns the bytes of all files of a space.
	Usage(ctx context.Context, sp Space) (int64, error)
	// Spaces lists the spaces of org ("" for every organisation).
	Spaces(org string) ([]Space, error)
	// RemoveSpace removes a space and everything in it.
	RemoveSpace(sp Space) error
	// RemoveOrg removes every space of org ("" for every organisation).
	RemoveOrg(org string) error
	// Close releases the store.
	Close() error
}

var _ Backend = (*Store)(nil)

// NewReader makes a Reader for a store other than the file store: r reads
// the bytes obj describes (Seek positions it; a remote store fetches the
// range it is asked for).
func NewReader(r io.ReadSeekCloser, obj Object) *Reader {
	return &Reader{ReadSeekCloser: r, Object: obj}
}

// CheckSpace checks every part of a space (kind, org, id), as the file store
// does before it touches anything; other stores use it so that a key never
// names something outside orgs/<org>/{threads|volumes}/<id>/.
func CheckSpace(sp Space) error { return validSpace(sp) }

// GuessType is the content type the file store gives a file stored without
// one: the one its name's extension gives, or DefaultContentType.
func GuessType(p string) string { return guessType(p) }
