// The S3 requests the objstore.Store is built on.
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/store/objstore"
)

// MaxCopySize is the largest object S3 copies in one CopyObject (5 GiB);
// larger ones are copied by streaming them through the store (a multipart
// upload, bounded memory).
const MaxCopySize = 5 << 30

// bucket is objstore.Bucket on one S3 bucket.
type bucket struct {
	c        *s3.Client
	bucket   string
	partSize int64
	conc     int
	log      *slog.Logger

	bufs chan []byte // at most conc+1 part buffers, made on demand

	copyLimit int64 // largest object Copy copies server-side; 0 means MaxCopySize
}

var _ objstore.Bucket = (*bucket)(nil)

// NotFound reports whether err is S3's answer for a missing key.
func (b *bucket) NotFound(err error) bool { return notFound(err) }

func notFound(err error) bool {
	var nf *types.NotFound
	var nk *types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nk) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NotFound", "NoSuchKey", "404":
			return true
		}
	}
	return false
}

// attrsOf describes an object of a HEAD or GET answer.
func attrsOf(key string, size int64, ct, etag *string, lastMod *time.Time, meta map[string]string) objstore.Attrs {
	a := objstore.Attrs{Key: key, Size: size, ContentType: aws.ToString(ct), ETag: aws.ToString(etag), MD5: meta[metaMD5], HasMeta: true}
	if t, err := time.Parse(time.RFC3339Nano, meta[metaModified]); err == nil {
		a.Modified = t.UTC()
	} else if lastMod != nil {
		a.Modified = lastMod.UTC()
	}
	return a
}

// Head describes the object at key (a HEAD).
func (b *bucket) Head(ctx context.Context, key string) (objstore.Attrs, error) {
	out, err := b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: &key})
	if err != nil {
		return objstore.Attrs{}, err
	}
	return attrsOf(key, aws.ToInt64(out.ContentLength), out.ContentType, out.ETag, out.LastModified, out.Metadata), nil
}

// Open is one GET, whose answer describes the version whose body it sends.
func (b *bucket) Open(ctx context.Context, key string) (objstore.Attrs, io.ReadCloser, error) {
	out, err := b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: &key})
	if err != nil {
		return objstore.Attrs{}, nil, err
	}
	return attrsOf(key, aws.ToInt64(out.ContentLength), out.ContentType, out.ETag, out.LastModified, out.Metadata), out.Body, nil
}

// GetRange is a Range GET from off, of the version etag names only
// (If-Match).
func (b *bucket) GetRange(ctx context.Context, key, etag string, off int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: &b.bucket, Key: &key, Range: aws.String(fmt.Sprintf("bytes=%d-", off))}
	if etag != "" {
		in.IfMatch = aws.String(etag)
	}
	out, err := b.c.GetObject(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}

// CreateMarker writes the empty object (S3 has no does-not-exist
// condition that every S3 server knows; rewriting a marker is harmless).
func (b *bucket) CreateMarker(ctx context.Context, key string) error {
	_, err := b.c.PutObject(ctx, &s3.PutObjectInput{Bucket: &b.bucket, Key: &key, Body: bytes.NewReader(nil), ContentLength: aws.Int64(0)})
	return err
}

// Delete removes the object at key (S3's DELETE succeeds whether or not
// there was one).
func (b *bucket) Delete(ctx context.Context, key string) error {
	if _, err := b.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: &key}); err != nil && !notFound(err) {
		return err
	}
	return nil
}

// DeleteExisting is a HEAD, to tell a missing object (S3's DELETE does
// not), then the DELETE.
func (b *bucket) DeleteExisting(ctx context.Context, key string) error {
	if _, err := b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: &key}); err != nil {
		return err
	}
	_, err := b.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: &key})
	return err
}

// List lists every key under prefix: key, size, ETag and S3's own
// modified time (a listing carries no metadata; HasMeta is false).
func (b *bucket) List(ctx context.Context, prefix string, _ bool, fn func(objstore.Attrs) error) error {
	p := s3.NewListObjectsV2Paginator(b.c, &s3.ListObjectsV2Input{Bucket: &b.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			a := objstore.Attrs{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ETag: aws.ToString(o.ETag), Modified: aws.ToTime(o.LastModified).UTC()}
			if err := fn(a); err != nil {
				return err
			}
		}
	}
	return nil
}

// AnyUnder reports whether some object's key starts with prefix.
func (b *bucket) AnyUnder(ctx context.Context, prefix string) (bool, error) {
	out, err := b.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b.bucket, Prefix: &prefix, MaxKeys: aws.Int32(1)})
	if err != nil {
		return false, err
	}
	return len(out.Contents) > 0, nil
}

// copySource is CopyObject's x-amz-copy-source: bucket/key, each segment
// URL-encoded, "+" too (servers decode it as a query value would, where a
// bare "+" is a space).
func (b *bucket) copySource(key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = strings.ReplaceAll(url.PathEscape(seg), "+", "%2B")
	}
	return url.PathEscape(b.bucket) + "/" + strings.Join(segs, "/")
}

// Copy is one server-side CopyObject, or, above the copy limit
// (MaxCopySize), a multipart upload of the object's bytes streamed through
// the store, with its content type and modified time.
func (b *bucket) Copy(ctx context.Context, src, dst string) error {
	h, err := b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: &src})
	if err != nil {
		return err
	}
	size := aws.ToInt64(h.ContentLength)
	limit := b.copyLimit
	if limit == 0 {
		limit = MaxCopySize
	}
	if size <= limit {
		_, err := b.c.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket: &b.bucket, Key: &dst, CopySource: aws.String(b.copySource(src)),
			MetadataDirective: types.MetadataDirectiveCopy,
		})
		return err
	}
	// Too large for one copy: stream it, keeping its type and modified time.
	out, err := b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: &src, IfMatch: h.ETag})
	if err != nil {
		return err
	}
	defer out.Body.Close()
	a := attrsOf(src, size, h.ContentType, h.ETag, h.LastModified, h.Metadata)
	if a.ContentType == "" {
		a.ContentType = store.GuessType(src)
	}
	_, err = b.putMultipart(ctx, objstore.Upload{
		Key: dst, ContentType: a.ContentType, Size: size, Body: out.Body,
		Now: func() time.Time { return a.Modified }, // the object's own modified time
	}, nil)
	return err
}
