package emulator

import (
	"context"
	"errors"
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
		if o.DataDir != "" {
			return errors.New("store: a data dir is for the file store; an s3:// store keeps its data in the bucket")
		}
		cfg, err := s3store.ParseURL(o.Store)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
		defer cancel()
		st, err := s3store.Open(ctx, cfg, e.clock, e.log.With("component", "store"))
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		e.store = st
		// Code runs in a local copy (a temporary file store), fetched
		// before each run and pushed back after it.
		if e.local, err = store.Open("", e.clock, e.log); err != nil {
			return fmt.Errorf("store: local copy for execute: %w", err)
		}
		e.mirror = mirror.New(st, e.local)
		e.log.Info("store: keeping the data in an S3 bucket", "store", st.Describe())
		return nil
	case strings.HasPrefix(o.Store, "gcs://"):
		if o.DataDir != "" {
			return errors.New("store: a data dir is for the file store; a gcs:// store keeps its data in the bucket")
		}
		cfg, err := gcsstore.ParseURL(o.Store)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
		defer cancel()
		st, err := gcsstore.Open(ctx, cfg, e.clock, e.log.With("component", "store"))
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		e.store = st
		// Code runs in a local copy, as on the S3 store.
		if e.local, err = store.Open("", e.clock, e.log); err != nil {
			st.Close()
			return fmt.Errorf("store: local copy for execute: %w", err)
		}
		e.mirror = mirror.New(st, e.local)
		e.log.Info("store: keeping the data in a GCS bucket", "store", st.Describe())
		return nil
	default:
		return fmt.Errorf("store %q: want file, s3://BUCKET[/PREFIX]?endpoint=URL&region=R or gcs://BUCKET[/PREFIX]?endpoint=URL", o.Store)
	}
}
