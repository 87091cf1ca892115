// Uploads: one request from one buffer for a small body, a chunked
// resumable upload for a larger one; nothing is visible until every byte
// arrived and was checked.
package gcsstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"cloud.google.com/go/storage"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// Put stores exactly size bytes of body at p, with contentType ("" means
// the one p's extension gives). A body shorter or longer than size gives
// store.ErrSizeMismatch; that, a read error or a cancelled ctx leaves no
// object and any earlier one at p untouched.
func (s *Store) Put(ctx context.Context, sp store.Space, p, contentType string, size int64, body io.Reader) (store.Object, error) {
	return s.put(ctx, sp, p, contentType, size, body, nil)
}

// PutMD5 is Put that, with want, refuses content whose MD5 differs
// (store.ErrBadDigest), leaving nothing. GCS computes every object's MD5
// itself, so Object.MD5 is set either way.
func (s *Store) PutMD5(ctx context.Context, sp store.Space, p, contentType string, size int64, body io.Reader, want []byte) (store.Object, error) {
	return s.put(ctx, sp, p, contentType, size, body, want)
}

func (s *Store) put(ctx context.Context, sp store.Space, p, contentType string, size int64, body io.Reader, want []byte) (store.Object, error) {
	fail := func(err error) (store.Object, error) {
		return store.Object{}, fmt.Errorf("gcs store: put %s: %w", sp.ObjectKey(p), err)
	}
	if err := store.CheckSpace(sp); err != nil {
		return fail(err)
	}
	if err := store.ValidPath(p); err != nil {
		return fail(err)
	}
	if size < 0 {
		return fail(fmt.Errorf("%w: declared length %d is negative", store.ErrSizeMismatch, size))
	}
	if err := s.precheck(ctx, sp, p); err != nil {
		return fail(err)
	}
	if err := s.ensureSpace(ctx, sp); err != nil {
		return fail(err)
	}
	if contentType == "" {
		contentType = store.GuessType(p)
	}
	var h hash.Hash
	if want != nil {
		h = md5.New()
	}
	var (
		a   *storage.ObjectAttrs
		err error
	)
	if size <= smallPut {
		a, err = s.putSmall(ctx, s.key(sp, p), contentType, size, body, h, want)
	} else {
		a, err = s.putChunked(ctx, s.key(sp, p), contentType, size, body, h, want)
	}
	if err != nil {
		return fail(err)
	}
	return describe(p, a), nil
}

// precheck refuses a path under a file ("a" exists, so "a/b" cannot) or
// that names a directory, as the file store does. One metadata request per
// parent and one listing: GCS itself would accept both, making a tree the
// Files API cannot show.
func (s *Store) precheck(ctx context.Context, sp store.Space, p string) error {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		ok, err := s.exists(ctx, s.key(sp, p[:i]))
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("%w: %q is a file, so %q cannot be created under it", store.ErrInvalidPath, p[:i], p)
		}
	}
	dir, err := s.anyUnder(ctx, s.key(sp, p)+"/")
	if err != nil {
		return err
	}
	if dir {
		return fmt.Errorf("%w: %q is a directory and cannot be replaced by a file", store.ErrIsDir, p)
	}
	return nil
}

// newWriter makes the writer of one upload on wctx (cancelled to abandon
// it): the content type, the emulator clock's time as metadata and, if
// known, the MD5 GCS must find (so GCS itself refuses other content).
func (s *Store) newWriter(wctx context.Context, key, ct string, chunk int, want []byte) *storage.Writer {
	w := s.bkt.Object(key).NewWriter(wctx)
	w.ChunkSize = chunk
	w.ContentType = ct
	w.Metadata = map[string]string{metaModified: s.clk.Now().UTC().Format(time.RFC3339Nano)}
	if want != nil {
		w.MD5 = want
	}
	return w
}

// putSmall reads the whole body, checks it, and sends it in one request.
func (s *Store) putSmall(ctx context.Context, key, ct string, size int64, body io.Reader, h hash.Hash, want []byte) (*storage.ObjectAttrs, error) {
	data := make([]byte, size)
	if err := readFull(body, data, size); err != nil {
		return nil, err
	}
	if err := noMore(body, size); err != nil {
		return nil, err
	}
	if h != nil {
		h.Write(data)
	}
	if err := checkDigest(h, want); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := s.newWriter(wctx, key, ct, 0, want)
	if _, err := w.Write(data); err != nil {
		cancel()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return w.Attrs(), nil
}

// putChunked streams the body into a resumable upload of s.chunkSize
// chunks. The writer is closed — which finalises the upload — only when
// exactly size bytes arrived, nothing followed and the MD5 matched;
// otherwise its context is cancelled, which abandons the upload unfinished
// (it never becomes an object). It is never closed partial.
func (s *Store) putChunked(ctx context.Context, key, ct string, size int64, body io.Reader, h hash.Hash, want []byte) (_ *storage.ObjectAttrs, err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := s.newWriter(wctx, key, ct, s.chunkSize, want)
	src := body
	if h != nil {
		src = io.TeeReader(body, h)
	}
	n, err := io.Copy(w, io.LimitReader(src, size))
	if err != nil {
		err = fmt.Errorf("upload interrupted after %d of %d bytes: %w", n, size, err)
	} else if n < size {
		err = fmt.Errorf("%w: the body ended after %d of %d bytes", store.ErrSizeMismatch, n, size)
	}
	if err == nil {
		err = noMore(body, size)
	}
	if err == nil {
		err = checkDigest(h, want)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		cancel()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return w.Attrs(), nil
}

// readFull fills b from body: a short read is the body ending early.
func readFull(body io.Reader, b []byte, size int64) error {
	n, err := io.ReadFull(body, b)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the body ended after %d of %d bytes", store.ErrSizeMismatch, n, size)
	default:
		return fmt.Errorf("upload interrupted after %d of %d bytes: %w", n, size, err)
	}
}

// noMore checks that body has nothing after the declared size.
func noMore(body io.Reader, size int64) error {
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

// checkDigest compares the content's MD5 with want.
func checkDigest(h hash.Hash, want []byte) error {
	if h == nil || want == nil {
		return nil
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		return fmt.Errorf("%w: the content's MD5 is %x, the request said %x", store.ErrBadDigest, got, want)
	}
	return nil
}
