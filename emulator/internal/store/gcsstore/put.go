// Uploads: one request from one buffer for a small body, a chunked
// resumable upload for a larger one; nothing is visible until every byte
// arrived and was checked.
package gcsstore

import (
	"context"
	"hash"
	"io"
	"time"

	"cloud.google.com/go/storage"

	"github.com/localbaponi/localbaponi/emulator/internal/store/objstore"
)

// Write stores the upload: in one request up to smallPut bytes, else in a
// resumable upload. GCS computes every object's MD5 itself (Attrs.MD5 is
// always set), so the body is hashed here only to check u.Want before the
// upload is finalised.
func (b *bucket) Write(ctx context.Context, u objstore.Upload) (objstore.Attrs, error) {
	h := objstore.NewHash(false, u.Want)
	var (
		a   *storage.ObjectAttrs
		err error
	)
	if u.Size <= smallPut {
		a, err = b.putSmall(ctx, u, h)
	} else {
		a, err = b.putChunked(ctx, u, h)
	}
	if err != nil {
		return objstore.Attrs{}, err
	}
	return attrsOf(a), nil
}

// newWriter makes the writer of one upload on wctx (cancelled to abandon
// it): the content type, the emulator clock's time as metadata and, if
// known, the MD5 GCS must find (so GCS itself refuses other content).
func (b *bucket) newWriter(wctx context.Context, u objstore.Upload, chunk int) *storage.Writer {
	w := b.bkt.Object(u.Key).NewWriter(wctx)
	w.ChunkSize = chunk
	w.ContentType = u.ContentType
	w.Metadata = map[string]string{metaModified: u.Now().UTC().Format(time.RFC3339Nano)}
	if u.Want != nil {
		w.MD5 = u.Want
	}
	return w
}

// putSmall reads the whole body, checks it, and sends it in one request.
func (b *bucket) putSmall(ctx context.Context, u objstore.Upload, h hash.Hash) (*storage.ObjectAttrs, error) {
	data := make([]byte, u.Size)
	if err := objstore.ReadFull(u.Body, data, 0, u.Size); err != nil {
		return nil, err
	}
	if err := objstore.NoMore(u.Body, u.Size); err != nil {
		return nil, err
	}
	if h != nil {
		h.Write(data)
	}
	if err := objstore.CheckDigest(h, u.Want); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := b.newWriter(wctx, u, 0)
	if _, err := w.Write(data); err != nil {
		cancel()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return w.Attrs(), nil
}

// putChunked streams the body into a resumable upload of b.chunkSize
// chunks. The writer is closed — which finalises the upload — only when
// exactly u.Size bytes arrived, nothing followed and the MD5 matched;
// otherwise its context is cancelled, which abandons the upload unfinished
// (it never becomes an object). It is never closed partial.
func (b *bucket) putChunked(ctx context.Context, u objstore.Upload, h hash.Hash) (*storage.ObjectAttrs, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := b.newWriter(wctx, u, b.chunkSize)
	src := u.Body
	if h != nil {
		src = io.TeeReader(u.Body, h)
	}
	n, err := io.Copy(w, io.LimitReader(src, u.Size))
	err = objstore.Copied(n, u.Size, err)
	if err == nil {
		err = objstore.NoMore(u.Body, u.Size)
	}
	if err == nil {
		err = objstore.CheckDigest(h, u.Want)
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
