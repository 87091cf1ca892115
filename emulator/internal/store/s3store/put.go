// Uploads: one PutObject for a small body, a bounded multipart upload for a
// large one; nothing is visible until every byte arrived and was checked.
package s3store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// abortTimeout bounds the AbortMultipartUpload sent after a failure (on a
// context of its own: the request's may be what failed).
const abortTimeout = 30 * time.Second

// Put stores exactly size bytes of body at p, with contentType ("" means
// the one p's extension gives). A body shorter or longer than size gives
// store.ErrSizeMismatch; that, a read error or a cancelled ctx leaves no
// object and any earlier one at p untouched.
func (s *Store) Put(ctx context.Context, sp store.Space, p, contentType string, size int64, body io.Reader) (store.Object, error) {
	return s.put(ctx, sp, p, contentType, size, body, false, nil)
}

// PutMD5 is Put that also computes the content's MD5 (kept as the object's
// x-amz-meta-md5) and, with want, refuses content whose MD5 differs
// (store.ErrBadDigest), leaving nothing.
func (s *Store) PutMD5(ctx context.Context, sp store.Space, p, contentType string, size int64, body io.Reader, want []byte) (store.Object, error) {
	return s.put(ctx, sp, p, contentType, size, body, true, want)
}

func (s *Store) put(ctx context.Context, sp store.Space, p, contentType string, size int64, body io.Reader, withMD5 bool, want []byte) (store.Object, error) {
	fail := func(err error) (store.Object, error) {
		return store.Object{}, fmt.Errorf("s3 store: put %s: %w", sp.ObjectKey(p), err)
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
	if withMD5 || want != nil {
		h = md5.New()
	}
	key := s.key(sp, p)
	var (
		etag     string
		modified time.Time
		err      error
	)
	if size <= s.partSize {
		etag, modified, err = s.putSmall(ctx, key, contentType, size, body, h, want)
	} else {
		etag, modified, err = s.putMultipart(ctx, key, contentType, size, body, h, want)
	}
	if err != nil {
		return fail(err)
	}
	o := store.Object{Path: p, Size: size, ContentType: contentType, Modified: modified, ETag: etag}
	if h != nil {
		o.MD5 = hex.EncodeToString(h.Sum(nil))
	}
	s.mu.Lock()
	s.meta[key] = cachedMeta{etag: etag, modified: modified}
	s.mu.Unlock()
	return o, nil
}

// precheck refuses a path under a file ("a" exists, so "a/b" cannot) or
// that names a directory, as the file store does. One HEAD per parent and
// one listing: S3 itself would accept both, making a tree the Files API
// cannot show.
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

// metadata is the user metadata of a new object.
func metadata(modified time.Time, h hash.Hash) map[string]string {
	m := map[string]string{metaModified: modified.UTC().Format(time.RFC3339Nano)}
	if h != nil {
		m[metaMD5] = hex.EncodeToString(h.Sum(nil))
	}
	return m
}

// getBuf takes a part buffer (made if none is free); putBuf returns it.
func (s *Store) getBuf() []byte {
	select {
	case b := <-s.bufs:
		return b
	default:
		return make([]byte, s.partSize)
	}
}

func (s *Store) putBuf(b []byte) {
	select {
	case s.bufs <- b:
	default:
	}
}

// readPart fills b from body: a short read is the body ending early.
func readPart(body io.Reader, b []byte, done, size int64) error {
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

// putSmall reads the whole body into one buffer, checks it, and sends it.
func (s *Store) putSmall(ctx context.Context, key, ct string, size int64, body io.Reader, h hash.Hash, want []byte) (string, time.Time, error) {
	b := s.getBuf()
	defer s.putBuf(b)
	data := b[:size]
	if err := readPart(body, data, 0, size); err != nil {
		return "", time.Time{}, err
	}
	if err := noMore(body, size); err != nil {
		return "", time.Time{}, err
	}
	if h != nil {
		h.Write(data)
	}
	if err := checkDigest(h, want); err != nil {
		return "", time.Time{}, err
	}
	if err := ctx.Err(); err != nil {
		return "", time.Time{}, err
	}
	modified := s.clk.Now().UTC()
	out, err := s.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(data), ContentLength: aws.Int64(size),
		ContentType: aws.String(ct), Metadata: metadata(modified, h),
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return aws.ToString(out.ETag), modified, nil
}

// putMultipart streams the body as parts of s.partSize, at most s.conc in
// flight, and completes the upload only when all arrived, the body had
// exactly size bytes and its MD5 matched; otherwise it aborts it. The
// modified time (sent when the upload is created) is when it started. The
// MD5 is known only at the end, after the metadata was sent: a multipart
// object has no x-amz-meta-md5, so only Put's own answer carries it.
func (s *Store) putMultipart(ctx context.Context, key, ct string, size int64, body io.Reader, h hash.Hash, want []byte) (_ string, _ time.Time, err error) {
	modified := s.clk.Now().UTC()
	cr, err := s.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, ContentType: aws.String(ct), Metadata: metadata(modified, nil),
	})
	if err != nil {
		return "", time.Time{}, err
	}
	id := cr.UploadId
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer func() {
		if err == nil {
			return
		}
		actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer acancel()
		if _, aerr := s.c.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &key, UploadId: id}); aerr != nil {
			s.log.Warn("s3 store: abort multipart upload", "key", key, "err", aerr)
		}
	}()

	nparts := int((size + s.partSize - 1) / s.partSize)
	parts := make([]types.CompletedPart, nparts)
	sem := make(chan struct{}, s.conc)
	var wg sync.WaitGroup
	var once sync.Once
	var sendErr error
	failSend := func(e error) { once.Do(func() { sendErr = e; cancel() }) }
	var done int64
	for i := 0; i < nparts; i++ {
		n := min(s.partSize, size-done)
		b := s.getBuf()
		if rerr := readPart(body, b[:n], done, size); rerr != nil {
			s.putBuf(b)
			err = rerr
			break
		}
		if h != nil {
			h.Write(b[:n])
		}
		done += n
		select {
		case sem <- struct{}{}:
		case <-pctx.Done():
		}
		if pctx.Err() != nil {
			s.putBuf(b)
			break
		}
		wg.Add(1)
		go func(i int, b []byte, n int64) {
			defer func() { s.putBuf(b); <-sem; wg.Done() }()
			out, e := s.c.UploadPart(pctx, &s3.UploadPartInput{
				Bucket: &s.bucket, Key: &key, UploadId: id, PartNumber: aws.Int32(int32(i + 1)),
				Body: bytes.NewReader(b[:n]), ContentLength: aws.Int64(n),
			})
			if e != nil {
				failSend(fmt.Errorf("part %d: %w", i+1, e))
				return
			}
			parts[i] = types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))}
		}(i, b, n)
	}
	wg.Wait()
	if err == nil {
		err = sendErr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = noMore(body, size)
	}
	if err == nil {
		err = checkDigest(h, want)
	}
	if err != nil {
		return "", time.Time{}, err
	}
	out, err := s.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, UploadId: id, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return aws.ToString(out.ETag), modified, nil
}
