// Staging (loading a snapshot): the new content is written under
// .staging/<random>/ of the store's prefix, then switched in with
// server-side rewrites by store.KeyStaging.
package gcsstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"cloud.google.com/go/storage"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// stagingDir holds staging areas, beside orgs/ and .spaces/ under the
// store's prefix.
const stagingDir = ".staging/"

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
	sub := &Store{
		c: s.c, bkt: s.bkt, bucket: s.bucket, prefix: s.prefix + name + "/",
		chunkSize: s.chunkSize, clk: clk, log: s.log, spaces: map[string]bool{},
	}
	return &store.KeyStaging{
		Sub: sub, Keys: s, Prefix: name + "/", Backup: name + ".old/",
		Live: []string{"orgs/", spacesDir}, Log: s.log, After: s.forgetAll,
	}, nil
}

// forgetAll drops what the store remembers of spaces.
func (s *Store) forgetAll() {
	s.mu.Lock()
	s.spaces = map[string]bool{}
	s.mu.Unlock()
}

// ListKeys calls fn with every key under prefix (relative to the store's prefix).
func (s *Store) ListKeys(ctx context.Context, prefix string, fn func(key string) error) error {
	return s.listAll(ctx, s.prefix+prefix, []string{"Name"}, func(a *storage.ObjectAttrs) error {
		return fn(strings.TrimPrefix(a.Name, s.prefix))
	})
}

// DeleteKey removes the object at key (relative to the store's prefix).
func (s *Store) DeleteKey(ctx context.Context, key string) error {
	if err := s.bkt.Object(s.prefix + key).Delete(ctx); err != nil && !notFound(err) {
		return err
	}
	return nil
}

// CopyKey copies the object at src to dst (both relative to the store's
// prefix) with its content type and metadata: a server-side rewrite
// (which GCS does in as many calls as the object's size needs).
func (s *Store) CopyKey(ctx context.Context, src, dst string) error {
	if _, err := s.bkt.Object(s.prefix + dst).CopierFrom(s.bkt.Object(s.prefix + src)).Run(ctx); err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return nil
}
