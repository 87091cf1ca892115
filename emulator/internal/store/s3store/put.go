// Uploads: one PutObject for a small body, a bounded multipart upload for a
// large one; nothing is visible until every byte arrived and was checked.
package s3store

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/localbaponi/localbaponi/emulator/internal/store/objstore"
)

// abortTimeout bounds the AbortMultipartUpload sent after a failure (on a
// context of its own: the request's may be what failed).
const abortTimeout = 30 * time.Second

// Write stores the upload: one PutObject up to PartSize bytes, else a
// multipart upload. With u.MD5 or u.Want the body is hashed, and its MD5
// kept as x-amz-meta-md5 (one PutObject) and given in Attrs.MD5.
func (b *bucket) Write(ctx context.Context, u objstore.Upload) (objstore.Attrs, error) {
	h := objstore.NewHash(u.MD5, u.Want)
	var (
		a   objstore.Attrs
		err error
	)
	if u.Size <= b.partSize {
		a, err = b.putSmall(ctx, u, h)
	} else {
		a, err = b.putMultipart(ctx, u, h)
	}
	if err != nil {
		return objstore.Attrs{}, err
	}
	if h != nil {
		a.MD5 = hex.EncodeToString(h.Sum(nil))
	}
	return a, nil
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
func (b *bucket) getBuf() []byte {
	select {
	case buf := <-b.bufs:
		return buf
	default:
		return make([]byte, b.partSize)
	}
}

func (b *bucket) putBuf(buf []byte) {
	select {
	case b.bufs <- buf:
	default:
	}
}

// ownBuffer is the largest body read into a buffer of its own size; a
// larger one takes a part buffer. Many small uploads at once then hold
// about what they upload, not a part buffer each.
const ownBuffer = 1 << 20

// putSmall reads the whole body into one buffer, checks it, and sends it.
func (b *bucket) putSmall(ctx context.Context, u objstore.Upload, h hash.Hash) (objstore.Attrs, error) {
	var data []byte
	if u.Size <= ownBuffer {
		data = make([]byte, u.Size)
	} else {
		buf := b.getBuf()
		defer b.putBuf(buf)
		data = buf[:u.Size]
	}
	if err := objstore.ReadFull(u.Body, data, 0, u.Size); err != nil {
		return objstore.Attrs{}, err
	}
	if err := objstore.NoMore(u.Body, u.Size); err != nil {
		return objstore.Attrs{}, err
	}
	if h != nil {
		h.Write(data)
	}
	if err := objstore.CheckDigest(h, u.Want); err != nil {
		return objstore.Attrs{}, err
	}
	if err := ctx.Err(); err != nil {
		return objstore.Attrs{}, err
	}
	modified := u.Now().UTC()
	out, err := b.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &b.bucket, Key: &u.Key, Body: bytes.NewReader(data), ContentLength: aws.Int64(u.Size),
		ContentType: aws.String(u.ContentType), Metadata: metadata(modified, h),
	})
	if err != nil {
		return objstore.Attrs{}, err
	}
	return written(u, aws.ToString(out.ETag), modified), nil
}

// written describes the object an upload made.
func written(u objstore.Upload, etag string, modified time.Time) objstore.Attrs {
	return objstore.Attrs{Key: u.Key, Size: u.Size, ContentType: u.ContentType, ETag: etag, Modified: modified, HasMeta: true}
}

// putMultipart streams the body as parts of b.partSize, at most b.conc in
// flight, and completes the upload only when all arrived, the body had
// exactly u.Size bytes and its MD5 matched; otherwise it aborts it. The
// modified time (sent when the upload is created) is when it started. The
// MD5 is known only at the end, after the metadata was sent: a multipart
// object has no x-amz-meta-md5, so only Write's own answer carries it.
func (b *bucket) putMultipart(ctx context.Context, u objstore.Upload, h hash.Hash) (_ objstore.Attrs, err error) {
	key, size := u.Key, u.Size
	modified := u.Now().UTC()
	cr, err := b.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &b.bucket, Key: &key, ContentType: aws.String(u.ContentType), Metadata: metadata(modified, nil),
	})
	if err != nil {
		return objstore.Attrs{}, err
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
		if _, aerr := b.c.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &b.bucket, Key: &key, UploadId: id}); aerr != nil {
			b.log.Warn("s3 store: abort multipart upload", "key", key, "err", aerr)
		}
	}()

	nparts := int((size + b.partSize - 1) / b.partSize)
	parts := make([]types.CompletedPart, nparts)
	sem := make(chan struct{}, b.conc)
	var wg sync.WaitGroup
	var once sync.Once
	var sendErr error
	failSend := func(e error) { once.Do(func() { sendErr = e; cancel() }) }
	var done int64
	for i := 0; i < nparts; i++ {
		n := min(b.partSize, size-done)
		buf := b.getBuf()
		if rerr := objstore.ReadFull(u.Body, buf[:n], done, size); rerr != nil {
			b.putBuf(buf)
			err = rerr
			break
		}
		if h != nil {
			h.Write(buf[:n])
		}
		done += n
		select {
		case sem <- struct{}{}:
		case <-pctx.Done():
		}
		if pctx.Err() != nil {
			b.putBuf(buf)
			break
		}
		wg.Add(1)
		go func(i int, buf []byte, n int64) {
			defer func() { b.putBuf(buf); <-sem; wg.Done() }()
			out, e := b.c.UploadPart(pctx, &s3.UploadPartInput{
				Bucket: &b.bucket, Key: &key, UploadId: id, PartNumber: aws.Int32(int32(i + 1)),
				Body: bytes.NewReader(buf[:n]), ContentLength: aws.Int64(n),
			})
			if e != nil {
				failSend(fmt.Errorf("part %d: %w", i+1, e))
				return
			}
			parts[i] = types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))}
		}(i, buf, n)
	}
	wg.Wait()
	if err == nil {
		err = sendErr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = objstore.NoMore(u.Body, size)
	}
	if err == nil {
		err = objstore.CheckDigest(h, u.Want)
	}
	if err != nil {
		return objstore.Attrs{}, err
	}
	out, err := b.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &b.bucket, Key: &key, UploadId: id, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return objstore.Attrs{}, err
	}
	return written(u, aws.ToString(out.ETag), modified), nil
}
