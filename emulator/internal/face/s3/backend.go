package s3

// This file is the gofakes3 Backend over the local store. gofakes3 speaks the
// S3 protocol; everything it stores or reads goes through here, so that the
// bytes live in the same per-space directories as with every other face and
// are streamed, never held in memory.
//
// What was checked in gofakes3 v1.2.0 so that no layer buffers whole objects
// or serialises requests:
//   - PUT object (createObject) hands r.Body, wrapped in an MD5 hashingReader
//     that hashes as it streams (for the ETag and the Content-MD5 check at
//     EOF), straight to Backend.PutObject. No ReadAll.
//   - GET object io.Copies Object.Contents to the response; ranges are
//     resolved by the backend (here: a Seek and a LimitReader).
//   - Multipart uploads are buffered in memory by gofakes3's fallback
//     uploader unless the backend implements MultipartBackend: this backend
//     implements it, refusing every call with NotImplemented (and the face's
//     middleware does not route multipart requests to gofakes3 at all).
//   - xmlDecodeBody ReadAlls small XML request bodies (versioning,
//     CompleteMultipartUpload) and the browser POST upload parses a form with
//     24 MiB in memory: the middleware refuses those operations before
//     gofakes3 sees them.
//   - GoFakeS3 itself holds no mutex (its request counter is atomic); the
//     only mutexes are in the fallback uploader, which is never used here.
//     This backend holds no lock either: concurrency is the store's.

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// backend implements gofakes3.Backend (and gofakes3.MultipartBackend, only
// to keep gofakes3's in-memory multipart fallback out) over a store.Store
// holding the single bucket face.Bucket.
type backend struct {
	store store.Backend
	clock *clock.Clock
	log   *slog.Logger
}

var (
	_ gofakes3.Backend          = (*backend)(nil)
	_ gofakes3.MultipartBackend = (*backend)(nil)
)

// ctx is the context of store calls: gofakes3's Backend interface carries no
// request context. A client that goes away still ends a transfer, because
// reading its body or writing its response then fails.
func (b *backend) ctx() context.Context { return context.Background() }

// ListBuckets lists the one bucket.
func (b *backend) ListBuckets() ([]gofakes3.BucketInfo, error) {
	return []gofakes3.BucketInfo{{Name: face.Bucket, CreationDate: gofakes3.NewContentTime(time.Unix(0, 0).UTC())}}, nil
}

// BucketExists reports whether name is the one bucket.
func (b *backend) BucketExists(name string) (bool, error) { return name == face.Bucket, nil }

// CreateBucket refuses: the bucket exists and is the only one.
func (b *backend) CreateBucket(name string) error {
	if name == face.Bucket {
		return gofakes3.ResourceError(gofakes3.ErrBucketAlreadyExists, name)
	}
	return gofakes3.ErrNotImplemented
}

// DeleteBucket refuses: spaces are removed through the emulator, not S3.
func (b *backend) DeleteBucket(name string) error {
	if name != face.Bucket {
		return gofakes3.BucketNotFound(name)
	}
	return gofakes3.ErrNotImplemented
}

// ForceDeleteBucket refuses, as DeleteBucket.
func (b *backend) ForceDeleteBucket(name string) error { return b.DeleteBucket(name) }

// objectKey checks the bucket and splits an object key into its space and
// path. A key outside the layout is a missing key, as S3 would say.
func objectKey(bucket, key string) (store.Space, string, error) {
	if bucket != face.Bucket {
		return store.Space{}, "", gofakes3.BucketNotFound(bucket)
	}
	sp, p, err := store.ParseObjectKey(key)
	if err != nil {
		return store.Space{}, "", gofakes3.KeyNotFound(key)
	}
	return sp, p, nil
}

// storeError maps a store error to the S3 error gofakes3 should answer with.
func storeError(op, key string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrIsDir):
		return gofakes3.KeyNotFound(key)
	case errors.Is(err, store.ErrSizeMismatch), errors.Is(err, io.ErrUnexpectedEOF):
		return gofakes3.ErrorMessage(gofakes3.ErrIncompleteBody, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The body stalled past the emulator's idle timeout; nothing was stored.
		return gofakes3.ErrorMessage(gofakes3.ErrIncompleteBody, "Your socket connection to the server was not read from or written to within the timeout period; nothing was stored.")
	case errors.Is(err, store.ErrInvalidPath):
		return gofakes3.ErrorMessage(gofakes3.ErrInvalidArgument, err.Error())
	}
	var s3err gofakes3.Error
	if errors.As(err, &s3err) {
		// Already an S3 error (BadDigest from the body's MD5 check).
		return s3err
	}
	// Anything else is ours: gofakes3 answers 500 InternalError.
	return fmt.Errorf("s3 face: %s %q: %w", op, key, err)
}

// etagHash turns the store's quoted ETag into the bytes gofakes3 hex-encodes
// back into an ETag header. A hex ETag (an MD5, as S3's) round-trips exactly;
// any other is hashed, which keeps it stable while the file is unchanged.
func etagHash(etag string) []byte {
	raw := strings.Trim(etag, `"`)
	if h, err := hex.DecodeString(raw); err == nil && len(h) > 0 {
		return h
	}
	sum := md5.Sum([]byte(raw))
	return sum[:]
}

// metadata is what gofakes3 writes as response headers of GET and HEAD.
func metadata(o store.Object) map[string]string {
	ct := o.ContentType
	if ct == "" {
		ct = store.DefaultContentType
	}
	return map[string]string{
		"Content-Type":  ct,
		"Last-Modified": o.Modified.UTC().Format(http.TimeFormat),
	}
}

// GetObject opens the file and hands gofakes3 the store's own reader,
// positioned and limited for a range, so the body streams from disk.
func (b *backend) GetObject(bucket, key string, rnge *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	sp, p, err := objectKey(bucket, key)
	if err != nil {
		return nil, err
	}
	rd, err := b.store.Open(b.ctx(), sp, p)
	if err != nil {
		return nil, storeError("get", key, err)
	}
	r, err := rnge.Range(rd.Size)
	if err != nil {
		rd.Close()
		return nil, err
	}
	// The store's reader (or its section) has a WriteTo that hands the
	// response writer the file itself: gofakes3's io.Copy then becomes
	// sendfile(2), as with the gcs face.
	obj := &gofakes3.Object{
		Name:     key,
		Metadata: metadata(rd.Object),
		Size:     rd.Size,
		Hash:     objectHash(rd.Object),
		Range:    r,
		Contents: rd,
	}
	if r != nil {
		if obj.Contents, err = rd.Range(r.Start, r.Length); err != nil {
			rd.Close()
			return nil, fmt.Errorf("s3 face: %q: %w", key, err)
		}
	}
	return obj, nil
}

// HeadObject describes the file without opening it.
func (b *backend) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	sp, p, err := objectKey(bucket, key)
	if err != nil {
		return nil, err
	}
	o, err := b.store.Stat(b.ctx(), sp, p)
	if err != nil {
		return nil, storeError("head", key, err)
	}
	return &gofakes3.Object{
		Name:     key,
		Metadata: metadata(o),
		Size:     o.Size,
		Hash:     objectHash(o),
		Contents: io.NopCloser(strings.NewReader("")),
	}, nil
}

// DeleteObject removes the file; a missing one is no error, as in S3.
func (b *backend) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	sp, p, err := objectKey(bucket, key)
	if err != nil {
		if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
			return gofakes3.ObjectDeleteResult{}, nil
		}
		return gofakes3.ObjectDeleteResult{}, err
	}
	if err := b.store.Delete(b.ctx(), sp, p); err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrIsDir) {
		return gofakes3.ObjectDeleteResult{}, storeError("delete", key, err)
	}
	return gofakes3.ObjectDeleteResult{}, nil
}

// PutObject streams the body into the store, which writes a temporary file
// and renames it into place only when exactly size bytes have arrived.
func (b *backend) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, conditions *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	sp, p, err := objectKey(bucket, key)
	if err != nil {
		if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
			return gofakes3.PutObjectResult{}, errBadKey(key)
		}
		return gofakes3.PutObjectResult{}, err
	}
	if conditions != nil {
		// Checked before the transfer, not atomically with the rename: good
		// enough for an emulator, and no lock is held across the body.
		info := &gofakes3.ConditionalObjectInfo{}
		if o, err := b.store.Stat(b.ctx(), sp, p); err == nil {
			info.Exists, info.Hash = true, objectHash(o)
		} else if !errors.Is(err, store.ErrNotFound) {
			return gofakes3.PutObjectResult{}, storeError("put", key, err)
		}
		if err := gofakes3.CheckPutConditions(conditions, info); err != nil {
			return gofakes3.PutObjectResult{}, err
		}
	}
	ct := meta["Content-Type"]
	if ct == "" {
		// The Files API's default (SPEC U-1), not S3's
		// binary/octet-stream, so that a file looks the same whichever
		// face wrote it.
		ct = store.DefaultContentType
	}
	// gofakes3 hashes the body too (for its answer's ETag); the store's
	// MD5 is what later GETs and HEADs answer, the same value.
	body := &exactReader{r: input, left: size}
	if _, err := b.store.PutMD5(b.ctx(), sp, p, ct, size, body, nil); err != nil {
		return gofakes3.PutObjectResult{}, storeError("put", key, err)
	}
	b.log.Debug("s3 face: stored object", "key", key, "size", size)
	return gofakes3.PutObjectResult{}, nil
}

// exactReader passes on a body of a known size, but withholds its last bytes
// until it has seen the body end cleanly. gofakes3 checks Content-MD5 only
// when its reader reaches EOF, and a store that reads exactly size bytes
// (io.CopyN) would never ask for that EOF, and would drop an error that came
// with the last bytes: failing the read that completes the body makes every
// such store see the failure before it commits the file.
type exactReader struct {
	r    io.Reader
	left int64
	err  error
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.left <= 0 {
		e.err = e.probe()
		if e.err == nil {
			e.err = io.EOF
		}
		return 0, e.err
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case e.left == 0 && err == nil, e.left == 0 && errors.Is(err, io.EOF):
		if perr := e.probe(); perr != nil {
			e.err = perr
			return 0, perr
		}
		e.err = io.EOF
		return n, nil
	case errors.Is(err, io.EOF):
		// The body ended early: the store must not see a clean EOF.
		e.err = io.ErrUnexpectedEOF
		return n, e.err
	case err != nil:
		e.err = err
	}
	return n, err
}

// probe reads past the declared end: it must find EOF and nothing else.
func (e *exactReader) probe() error {
	var one [1]byte
	for {
		n, err := e.r.Read(one[:])
		if n > 0 {
			return gofakes3.ErrorMessage(gofakes3.ErrIncompleteBody, "The request body is longer than its declared Content-Length.")
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// ListBucket lists the files of one space: the prefix must name it
// ("orgs/<org>/threads/<id>/..."), since the store cannot enumerate spaces
// and no signed URL of this face lists anything. Other prefixes list nothing.
func (b *backend) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	if name != face.Bucket {
		return nil, gofakes3.BucketNotFound(name)
	}
	if prefix == nil {
		prefix = &gofakes3.Prefix{}
	}
	list := gofakes3.NewObjectList()
	sp, rest, ok := spaceOfPrefix(prefix.Prefix)
	if !ok {
		return list, nil
	}
	entries, err := b.store.List(b.ctx(), sp, rest)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidPath) {
			return list, nil
		}
		return nil, fmt.Errorf("s3 face: list %q: %w", prefix.Prefix, err)
	}
	var n int64
	var last string
	for _, e := range entries {
		if e.IsDir {
			continue
		}
		key := sp.ObjectKey(e.Path)
		var m gofakes3.PrefixMatch
		if !prefix.Match(key, &m) {
			continue
		}
		item := key
		if m.CommonPrefix {
			item = m.MatchedPart
		}
		// Entries come sorted by path, so keys and their common prefixes
		// come sorted too: a marker skips everything up to it.
		if page.HasMarker && item <= page.Marker || item == last {
			continue
		}
		if page.MaxKeys > 0 && n == page.MaxKeys {
			list.IsTruncated = true
			list.NextMarker = last
			break
		}
		if m.CommonPrefix {
			list.AddPrefix(item)
		} else {
			list.Add(&gofakes3.Content{
				Key:          key,
				LastModified: gofakes3.NewContentTime(e.Modified),
				Size:         e.Size,
				StorageClass: gofakes3.StorageStandard,
			})
		}
		last = item
		n++
	}
	return list, nil
}

// spaceOfPrefix finds the space named at the start of a list prefix, and the
// rest of the prefix inside it.
func spaceOfPrefix(prefix string) (store.Space, string, bool) {
	parts := strings.SplitN(prefix, "/", 5)
	if len(parts) < 5 {
		return store.Space{}, "", false
	}
	sp, _, err := store.ParseObjectKey(strings.Join(parts[:4], "/") + "/x")
	if err != nil {
		return store.Space{}, "", false
	}
	return sp, parts[4], true
}

// DeleteMulti refuses: it would write several keys under one signature,
// bypassing the per-space access check.
func (b *backend) DeleteMulti(bucket string, objects ...string) (gofakes3.MultiDeleteResult, error) {
	return gofakes3.MultiDeleteResult{}, gofakes3.ErrNotImplemented
}

// CopyObject refuses: it would read a second key the signature did not name.
func (b *backend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	return gofakes3.CopyObjectResult{}, gofakes3.ErrNotImplemented
}

// The multipart methods refuse: implementing MultipartBackend at all is what
// keeps gofakes3 from falling back to its in-memory uploader.

// CreateMultipartUpload refuses with NotImplemented.
func (b *backend) CreateMultipartUpload(bucket, object string, meta map[string]string) (gofakes3.UploadID, error) {
	return "", gofakes3.ErrNotImplemented
}

// UploadPart refuses with NotImplemented.
func (b *backend) UploadPart(bucket, object string, id gofakes3.UploadID, partNumber int, contentLength int64, input io.Reader) (string, error) {
	return "", gofakes3.ErrNotImplemented
}

// ListMultipartUploads refuses with NotImplemented.
func (b *backend) ListMultipartUploads(bucket string, marker *gofakes3.UploadListMarker, prefix gofakes3.Prefix, limit int64) (*gofakes3.ListMultipartUploadsResult, error) {
	return nil, gofakes3.ErrNotImplemented
}

// ListParts refuses with NotImplemented.
func (b *backend) ListParts(bucket, object string, uploadID gofakes3.UploadID, marker int, limit int64) (*gofakes3.ListMultipartUploadPartsResult, error) {
	return nil, gofakes3.ErrNotImplemented
}

// AbortMultipartUpload refuses with NotImplemented.
func (b *backend) AbortMultipartUpload(bucket, object string, id gofakes3.UploadID) error {
	return gofakes3.ErrNotImplemented
}

// CompleteMultipartUpload refuses with NotImplemented.
func (b *backend) CompleteMultipartUpload(bucket, object string, id gofakes3.UploadID, input *gofakes3.CompleteMultipartUploadRequest) (gofakes3.VersionID, string, error) {
	return "", "", gofakes3.ErrNotImplemented
}

// clockSource lets gofakes3 read the emulator clock (Last-Modified metadata,
// its skew check).
type clockSource struct{ c *clock.Clock }

func (s clockSource) Now() time.Time                  { return s.c.Now() }
func (s clockSource) Since(t time.Time) time.Duration { return s.c.Now().Sub(t) }
