// Staging (loading a snapshot): the new content is written under
// .staging/<random>/ of the store's prefix, then switched in with
// server-side copies by store.KeyStaging.
package s3store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// stagingDir holds staging areas, beside orgs/ and .spaces/ under the
// store's prefix.
const stagingDir = ".staging/"

// MaxCopySize is the largest object S3 copies in one CopyObject (5 GiB);
// larger ones are copied by streaming them through the store (a multipart
// upload, bounded memory).
const MaxCopySize = 5 << 30

var (
	_ store.Stager = (*Store)(nil)
	_ store.Keys   = (*Store)(nil)
)

// NewStaging opens an empty staging area under .staging/<random>/ of the
// store's prefix, whose modified times come from clk; Commit switches it
// in. A staging area a killed emulator left behind stays in the bucket,
// out of every listing (a lifecycle rule on the .staging/ prefix, or
// deleting it by hand, reclaims it).
func (s *Store) NewStaging(ctx context.Context, clk *clock.Clock) (store.Staging, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := stagingDir + hex.EncodeToString(b[:])
	sub := s.sibling(s.prefix+name+"/", clk)
	return &store.KeyStaging{
		Sub: sub, Keys: s, Prefix: name + "/", Backup: name + ".old/",
		Live: []string{"orgs/", spacesDir}, Log: s.log, After: s.forgetAll,
	}, nil
}

// sibling is a store on the same client, bucket and part buffers, rooted
// at prefix, with clock clk.
func (s *Store) sibling(prefix string, clk *clock.Clock) *Store {
	return &Store{
		c: s.c, bucket: s.bucket, prefix: prefix, partSize: s.partSize, conc: s.conc,
		clk: clk, log: s.log, bufs: s.bufs, meta: map[string]cachedMeta{}, spaces: map[string]bool{},
		copyLimit: s.copyLimit,
	}
}

// forgetAll drops what the store remembers of objects and spaces.
func (s *Store) forgetAll() {
	s.mu.Lock()
	s.meta = map[string]cachedMeta{}
	s.spaces = map[string]bool{}
	s.mu.Unlock()
}

// ListKeys calls fn with every key under prefix (relative to the store's prefix).
func (s *Store) ListKeys(ctx context.Context, prefix string, fn func(key string) error) error {
	return s.listAll(ctx, s.prefix+prefix, func(o types.Object) error {
		return fn(strings.TrimPrefix(aws.ToString(o.Key), s.prefix))
	})
}

// DeleteKey removes the object at key (relative to the store's prefix).
func (s *Store) DeleteKey(ctx context.Context, key string) error {
	k := s.prefix + key
	if _, err := s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &k}); err != nil && !notFound(err) {
		return err
	}
	s.forget(k)
	return nil
}

// copySource is CopyObject's x-amz-copy-source: bucket/key, each segment
// URL-encoded, "+" too (servers decode it as a query value would, where a
// bare "+" is a space).
func (s *Store) copySource(key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = strings.ReplaceAll(url.PathEscape(seg), "+", "%2B")
	}
	return url.PathEscape(s.bucket) + "/" + strings.Join(segs, "/")
}

// CopyKey copies the object at src to dst (both relative to the store's
// prefix) with its content type and metadata: one server-side CopyObject,
// or, above the copy limit (MaxCopySize), a multipart upload of its bytes
// streamed through the store.
func (s *Store) CopyKey(ctx context.Context, src, dst string) error {
	sk, dk := s.prefix+src, s.prefix+dst
	h, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &sk})
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	size := aws.ToInt64(h.ContentLength)
	limit := s.copyLimit
	if limit == 0 {
		limit = MaxCopySize
	}
	if size <= limit {
		if _, err := s.c.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket: &s.bucket, Key: &dk, CopySource: aws.String(s.copySource(sk)),
			MetadataDirective: types.MetadataDirectiveCopy,
		}); err != nil {
			return fmt.Errorf("copy %s to %s: %w", src, dst, err)
		}
		s.forget(dk)
		return nil
	}
	// Too large for one copy: stream it, keeping its type and modified time.
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &sk, IfMatch: h.ETag})
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer out.Body.Close()
	o := s.describe(sk, src, size, h.ContentType, h.ETag, h.LastModified, h.Metadata)
	cp := s.sibling(s.prefix, clock.NewFrozen(o.Modified)) // the object's own modified time
	if _, _, err := cp.putMultipart(ctx, dk, o.ContentType, size, out.Body, nil, nil); err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	s.forget(dk)
	return nil
}
