package emulator

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/store/gcsstore"
	"github.com/localbaponi/localbaponi/emulator/internal/store/mirror"
	"github.com/localbaponi/localbaponi/emulator/internal/store/s3store"
)

// storeOpenTimeout bounds the first request to a remote store's bucket.
const storeOpenTimeout = 30 * time.Second

// openStore opens the store Options.Store names.
func (e *Emulator) openStore() error {
	o := &e.opts
	switch {
	case o.Store == "" || o.Store == "file":
		fs, err := store.Open(o.DataDir, e.clock, e.log)
		if err != nil {
			return fmt.Errorf("open data dir: %w", err)
		}
		e.files, e.store, e.local = fs, fs, fs
		return nil
	case strings.HasPrefix(o.Store, "s3://"):
		return e.openRemote("an s3://", "an S3 bucket", func(ctx context.Context) (remoteStore, error) {
			cfg, err := s3store.ParseURL(o.Store)
			if err != nil {
				return nil, err
			}
			return s3store.Open(ctx, cfg, e.clock, e.log.With("component", "store"))
		})
	case strings.HasPrefix(o.Store, "gcs://"):
		return e.openRemote("a gcs://", "a GCS bucket", func(ctx context.Context) (remoteStore, error) {
			cfg, err := gcsstore.ParseURL(o.Store)
			if err != nil {
				return nil, err
			}
			return gcsstore.Open(ctx, cfg, e.clock, e.log.With("component", "store"))
		})
	default:
		return fmt.Errorf("store %q: want file, s3://BUCKET[/PREFIX]?endpoint=URL&region=R or gcs://BUCKET[/PREFIX]?endpoint=URL", o.Store)
	}
}

// remoteStore is what openRemote needs of a bucket store.
type remoteStore interface {
	mirror.Remote
	Describe() string
}

// openRemote opens a bucket store (kind "an s3://" or "a gcs://", the data
// kept in where) with open, bounded by storeOpenTimeout. Code runs in a
// local copy (a temporary file store), fetched before each run and pushed
// back after it.
func (e *Emulator) openRemote(kind, where string, open func(ctx context.Context) (remoteStore, error)) error {
	if e.opts.DataDir != "" {
		return fmt.Errorf("store: a data dir is for the file store; %s store keeps its data in the bucket", kind)
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
	defer cancel()
	st, err := open(ctx)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	e.store = st
	if e.local, err = store.Open("", e.clock, e.log); err != nil {
		st.Close()
		return fmt.Errorf("store: local copy for execute: %w", err)
	}
	e.mirror = mirror.New(st, e.local)
	e.log.Info("store: keeping the data in "+where, "store", st.Describe())
	return nil
}
