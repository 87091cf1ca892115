// The checks of an upload's body, shared by every Bucket's Write: exactly
// the declared bytes, nothing after them, the MD5 asked for.
package objstore

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

func newMD5() hash.Hash { return md5.New() }

// ReadFull fills b from body, done bytes of size having been read before:
// a body that ends early is store.ErrSizeMismatch, a failing one an
// interrupted upload.
func ReadFull(body io.Reader, b []byte, done, size int64) error {
	n, err := io.ReadFull(body, b)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the body ended after %d of %d bytes", store.ErrSizeMismatch, done+int64(n), size)
	default:
		return fmt.Errorf("upload interrupted after %d of %d bytes: %w", done+int64(n), size, err)
	}
}

// Copied is the error of copying n of size bytes (err from the copy): an
// interrupted upload, a body that ended early, or nil.
func Copied(n, size int64, err error) error {
	switch {
	case err != nil:
		return fmt.Errorf("upload interrupted after %d of %d bytes: %w", n, size, err)
	case n < size:
		return fmt.Errorf("%w: the body ended after %d of %d bytes", store.ErrSizeMismatch, n, size)
	default:
		return nil
	}
}

// NoMore checks that body has nothing after the declared size.
func NoMore(body io.Reader, size int64) error {
	var one [1]byte
	n, err := io.ReadFull(body, one[:])
	switch {
	case n > 0:
		return fmt.Errorf("%w: the body is longer than the declared %d bytes", store.ErrSizeMismatch, size)
	case errors.Is(err, io.EOF):
		return nil
	default:
		return fmt.Errorf("upload interrupted after %d of %d bytes: %w", size, size, err)
	}
}

// CheckDigest compares the content's MD5 (h's sum) with want; nothing to
// check if either is nil.
func CheckDigest(h hash.Hash, want []byte) error {
	if h == nil || want == nil {
		return nil
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		return fmt.Errorf("%w: the content's MD5 is %x, the request said %x", store.ErrBadDigest, got, want)
	}
	return nil
}
