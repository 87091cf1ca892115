// Package gcsstore keeps the bytes of threads and volumes in a Google Cloud
// Storage bucket (GCS itself, or an emulator of its JSON API such as
// fake-gcs-server), behind the same store.Backend as the file store: an
// objstore.Store (which has the layout, the Files API's rules and the
// listing) over this package's Bucket of GCS requests.
//
// Each file object carries its content type and the custom metadata entry
// "modified" (the emulator clock's time of the upload, RFC 3339). GCS keeps
// every object's MD5 itself, so Object.MD5 is always known. A file's ETag is
// its generation, which changes on every write: the mirror fetches by it,
// and a reader reads only the generation it opened. A GCS listing carries
// each object's metadata, so a listing needs no request per object. A
// space's marker is written with a does-not-exist condition, so replicas
// never rewrite each other's.
//
// Uploads stream with bounded memory. A body of at most smallPut bytes is
// read into one buffer, checked (length, MD5) and sent in one request; a
// larger one goes through a resumable upload of ChunkSize chunks (the
// client keeps one chunk in memory). The upload is finalised only by
// closing the writer, which happens only after exactly the declared bytes
// arrived, nothing followed them and the MD5 matched; on any failure the
// writer's context is cancelled instead, so the upload is never finalised
// and leaves no object (an unfinished resumable upload is never visible,
// and GCS drops it after a week). If the process is killed mid-upload the
// same holds: nothing finalises it.
package gcsstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/store/objstore"
)

// DefaultChunkSize is the chunk of a resumable upload: what the client
// buffers per upload and sends per request. A multiple of 256 KiB, as GCS
// requires.
const DefaultChunkSize = 8 << 20

// chunkUnit is the granularity GCS requires of chunks.
const chunkUnit = 256 << 10

// smallPut is the largest body sent in one request from one buffer.
const smallPut = 1 << 20

// metaModified is the custom metadata key of the emulator clock's time.
const metaModified = "modified"

// Config says which bucket and how to reach it.
type Config struct {
	Bucket string
	// Prefix is put before every name; "" or ending in "/".
	Prefix string
	// Endpoint is the URL of a server speaking GCS's JSON API
	// (fake-gcs-server, ...), reached without credentials; "" means GCS,
	// with Application Default Credentials.
	Endpoint string
	// ChunkSize defaults to DefaultChunkSize; rounded up to 256 KiB.
	ChunkSize int
	// Client, if set, is used instead of one built from the fields above
	// (and is not closed by Close).
	Client *storage.Client
}

// ParseURL parses gcs://BUCKET[/PREFIX]?endpoint=URL.
func ParseURL(raw string) (Config, error) {
	loc, err := objstore.ParseURL("gcs store", "gcs", "gcs://BUCKET[/PREFIX]?endpoint=URL", raw, "endpoint")
	if err != nil {
		return Config{}, err
	}
	return Config{Bucket: loc.Bucket, Prefix: loc.Prefix, Endpoint: loc.Params["endpoint"]}, nil
}

// Store is a GCS-backed store.Backend (an objstore.Store over GCS), and a
// store.Stager. Safe for concurrent use.
type Store struct {
	*objstore.Store
	c         *storage.Client
	ownClient bool
	bkt       *storage.BucketHandle
}

var (
	_ store.Backend = (*Store)(nil)
	_ store.Stager  = (*Store)(nil)
)

// Open checks that the bucket can be reached and returns the store. A nil
// clk means the real clock; a nil log discards logs.
func Open(ctx context.Context, cfg Config, clk *clock.Clock, log *slog.Logger) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("gcs store: no bucket")
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = DefaultChunkSize
	}
	cfg.ChunkSize = (cfg.ChunkSize + chunkUnit - 1) / chunkUnit * chunkUnit
	c, own := cfg.Client, false
	if c == nil {
		var err error
		if c, err = NewClient(ctx, cfg); err != nil {
			return nil, fmt.Errorf("gcs store: %w", err)
		}
		own = true
	}
	bkt := c.Bucket(cfg.Bucket)
	if _, err := bkt.Attrs(ctx); err != nil {
		if own {
			c.Close()
		}
		return nil, fmt.Errorf("gcs store: bucket %q: %w", cfg.Bucket, err)
	}
	b := &bucket{bkt: bkt, chunkSize: cfg.ChunkSize}
	return &Store{
		Store: objstore.New(b, objstore.Options{
			Name: "gcs store", Scheme: "gcs", Bucket: cfg.Bucket, Prefix: cfg.Prefix, Clock: clk, Log: log,
		}),
		c: c, ownClient: own, bkt: bkt,
	}, nil
}

// NewClient builds a GCS client for cfg: with an endpoint, one that speaks
// the JSON API (reads included) to it without credentials, as
// STORAGE_EMULATOR_HOST would; without, one on Application Default
// Credentials.
func NewClient(ctx context.Context, cfg Config) (*storage.Client, error) {
	if cfg.Endpoint == "" {
		return storage.NewClient(ctx)
	}
	return storage.NewClient(ctx,
		option.WithEndpoint(strings.TrimSuffix(cfg.Endpoint, "/")+"/storage/v1/"),
		option.WithoutAuthentication(),
		storage.WithJSONReads(),
	)
}

// Close closes the client if the store made it.
func (s *Store) Close() error {
	if s.ownClient {
		return s.c.Close()
	}
	return nil
}
