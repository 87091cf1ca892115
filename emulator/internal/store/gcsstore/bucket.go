// The GCS requests the objstore.Store is built on.
package gcsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"

	"github.com/localbaponi/localbaponi/emulator/internal/store/objstore"
)

// bucket is objstore.Bucket on one GCS bucket.
type bucket struct {
	bkt       *storage.BucketHandle
	chunkSize int
}

var _ objstore.Bucket = (*bucket)(nil)

// NotFound reports whether err is GCS's answer for a missing object.
func (b *bucket) NotFound(err error) bool { return notFound(err) }

func notFound(err error) bool {
	if errors.Is(err, storage.ErrObjectNotExist) {
		return true
	}
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusNotFound
}

// preconditionFailed reports whether err is GCS's answer to a condition
// (generation match, does-not-exist) that did not hold.
func preconditionFailed(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusPreconditionFailed
}

// etag is the ETag of one generation of an object.
func etag(gen int64) string { return `"` + strconv.FormatInt(gen, 10) + `"` }

// generation is the generation an etag names.
func generation(etag string) (int64, error) {
	g, err := strconv.ParseInt(strings.Trim(etag, `"`), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ETag %s names no generation", etag)
	}
	return g, nil
}

// attrsOf describes an object of its GCS attributes (as many as the
// request asked for).
func attrsOf(a *storage.ObjectAttrs) objstore.Attrs {
	o := objstore.Attrs{Key: a.Name, Size: a.Size, ContentType: a.ContentType, ETag: etag(a.Generation), Modified: modified(a), HasMeta: true}
	if len(a.MD5) == 16 {
		o.MD5 = fmt.Sprintf("%x", a.MD5)
	}
	return o
}

// modified is the emulator clock's time of the upload, or GCS's own if the
// object was written by something else.
func modified(a *storage.ObjectAttrs) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, a.Metadata[metaModified]); err == nil {
		return t.UTC()
	}
	return a.Updated.UTC()
}

// Head describes the object at key.
func (b *bucket) Head(ctx context.Context, key string) (objstore.Attrs, error) {
	a, err := b.bkt.Object(key).Attrs(ctx)
	if err != nil {
		return objstore.Attrs{}, err
	}
	return attrsOf(a), nil
}

// Open reads the attributes, then starts a GET of the generation they
// describe (again if that generation was replaced in between).
func (b *bucket) Open(ctx context.Context, key string) (objstore.Attrs, io.ReadCloser, error) {
	for attempt := 0; ; attempt++ {
		a, err := b.bkt.Object(key).Attrs(ctx)
		if err != nil {
			return objstore.Attrs{}, nil, err
		}
		if a.Size == 0 {
			return attrsOf(a), nil, nil
		}
		r, err := b.bkt.Object(key).Generation(a.Generation).NewRangeReader(ctx, 0, -1)
		if notFound(err) && attempt < 3 {
			continue // replaced since the attributes were read
		}
		if err != nil {
			return objstore.Attrs{}, nil, err
		}
		return attrsOf(a), r, nil
	}
}

// GetRange reads the generation etag names from off: GCS keeps no old
// generation unless the bucket has versioning, so a replaced one is not
// found.
func (b *bucket) GetRange(ctx context.Context, key, etag string, off int64) (io.ReadCloser, error) {
	gen, err := generation(etag)
	if err != nil {
		return nil, err
	}
	r, err := b.bkt.Object(key).Generation(gen).NewRangeReader(ctx, off, -1)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// CreateMarker writes the empty object only if no object is at key (a
// does-not-exist condition: another replica's marker is kept, not given a
// new generation).
func (b *bucket) CreateMarker(ctx context.Context, key string) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := b.bkt.Object(key).If(storage.Conditions{DoesNotExist: true}).NewWriter(wctx)
	w.ChunkSize = 0
	if err := w.Close(); err != nil && !preconditionFailed(err) {
		return err
	}
	return nil
}

// Delete removes the object at key, if there is one.
func (b *bucket) Delete(ctx context.Context, key string) error {
	if err := b.bkt.Object(key).Delete(ctx); err != nil && !notFound(err) {
		return err
	}
	return nil
}

// DeleteExisting removes the object at key: one request, which GCS
// answers 404 if there was none.
func (b *bucket) DeleteExisting(ctx context.Context, key string) error {
	return b.bkt.Object(key).Delete(ctx)
}

// fileAttrs are what a listing of files asks for.
var fileAttrs = []string{"Name", "Size", "Generation", "Updated", "Metadata"}

// List lists every object under prefix with the attributes a listing of
// files needs (or only names).
func (b *bucket) List(ctx context.Context, prefix string, namesOnly bool, fn func(objstore.Attrs) error) error {
	q := &storage.Query{Prefix: prefix}
	attrs := fileAttrs
	if namesOnly {
		attrs = []string{"Name"}
	}
	if err := q.SetAttrSelection(attrs); err != nil {
		return err
	}
	it := b.bkt.Objects(ctx, q)
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(attrsOf(a)); err != nil {
			return err
		}
	}
}

// AnyUnder reports whether some object's name starts with prefix.
func (b *bucket) AnyUnder(ctx context.Context, prefix string) (bool, error) {
	q := &storage.Query{Prefix: prefix}
	if err := q.SetAttrSelection([]string{"Name"}); err != nil {
		return false, err
	}
	it := b.bkt.Objects(ctx, q)
	it.PageInfo().MaxSize = 1
	_, err := it.Next()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, iterator.Done):
		return false, nil
	default:
		return false, err
	}
}

// Copy is a server-side rewrite (which GCS does in as many calls as the
// object's size needs), keeping content type and metadata.
func (b *bucket) Copy(ctx context.Context, src, dst string) error {
	_, err := b.bkt.Object(dst).CopierFrom(b.bkt.Object(src)).Run(ctx)
	return err
}
