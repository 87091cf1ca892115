package objstore

import (
	"context"
	"hash"
	"io"
	"time"
)

// Bucket is what a cloud's object store gives: the few requests the Store
// is built on. Keys are whole object names (the Store adds its prefix).
// Every method may be called concurrently. A method that finds no object
// where one was asked for returns an error NotFound reports, the cloud's
// own (so it reaches the caller unchanged where the Store passes it on).
type Bucket interface {
	// NotFound reports whether err is the cloud's answer for a missing
	// object.
	NotFound(err error) bool
	// Head describes the object at key.
	Head(ctx context.Context, key string) (Attrs, error)
	// Open describes the object at key and opens its bytes from the start,
	// of the version described; the body may be nil if Size is 0.
	Open(ctx context.Context, key string) (Attrs, io.ReadCloser, error)
	// GetRange opens the bytes of the object at key from off to its end,
	// only of the version whose ETag is etag (a version that is gone is an
	// error, never another version's bytes).
	GetRange(ctx context.Context, key, etag string, off int64) (io.ReadCloser, error)
	// Write stores exactly u.Size bytes of u.Body at u.Key, visible only
	// once every byte arrived and was checked (see Upload): a failure
	// leaves no object and the earlier one at u.Key untouched.
	Write(ctx context.Context, u Upload) (Attrs, error)
	// CreateMarker writes an empty object at key, keeping one that is
	// already there where the cloud can make the write conditional.
	CreateMarker(ctx context.Context, key string) error
	// Delete removes the object at key; one that is not there is no error.
	Delete(ctx context.Context, key string) error
	// DeleteExisting removes the object at key, and returns an error
	// NotFound reports if there was none.
	DeleteExisting(ctx context.Context, key string) error
	// List calls fn with every object whose key starts with prefix, in
	// key order (paging as the cloud needs). With namesOnly, only Key need
	// be set.
	List(ctx context.Context, prefix string, namesOnly bool, fn func(Attrs) error) error
	// AnyUnder reports whether some object's key starts with prefix (one
	// request, asking for one key).
	AnyUnder(ctx context.Context, prefix string) (bool, error)
	// Copy copies the object at src to dst with its content type and
	// metadata (modified time included), replacing any object at dst.
	Copy(ctx context.Context, src, dst string) error
}

// Attrs describes one object (one version of it).
type Attrs struct {
	Key         string
	Size        int64
	ContentType string // "" if unknown (the Store guesses it from the name)
	ETag        string // quoted; changes on every write
	MD5         string // hex, "" if unknown
	// Modified is the emulator clock's time of the upload (the object's
	// metadata), or the cloud's own time if the object has none.
	Modified time.Time
	// HasMeta says Modified came from an answer that carries the object's
	// metadata. A listing on S3 does not: there Modified is the cloud's
	// time, and a Store with Options.CacheModified asks Head for the rest.
	HasMeta bool
}

// Upload is one Write: Size bytes of Body to Key with ContentType.
//
// The Bucket reads exactly Size bytes (fewer is store.ErrSizeMismatch, see
// ReadFull), checks that nothing follows (NoMore), and, if Want is set,
// that the content's MD5 is Want (CheckDigest with NewHash's hash); with MD5
// it also gives the content's MD5 in Attrs.MD5 where the cloud does not
// keep one itself. The object's modified time is Now() (the emulator
// clock), kept as metadata.
type Upload struct {
	Key         string
	ContentType string
	Size        int64
	Body        io.Reader
	MD5         bool
	Want        []byte
	Now         func() time.Time
}

// NewHash is the MD5 hash an upload must compute: with want, or with
// withMD5 (a cloud that keeps no MD5 of its own passes u.MD5), else nil.
func NewHash(withMD5 bool, want []byte) hash.Hash {
	if withMD5 || want != nil {
		return newMD5()
	}
	return nil
}
