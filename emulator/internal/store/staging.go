// Staging for remote stores: a whole new content (a snapshot being
// loaded) is written apart from the live spaces, under a staging prefix
// of the same bucket, then switched in with server-side copies, the old
// content kept aside until the switch is complete so that a failure
// halfway puts it back.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
)

// Staging is a whole new content for a store, written apart from the
// store's spaces and then swapped in at once.
type Staging interface {
	// Store is where the new content is written (Create, Put); its
	// modified times come from the clock the staging was made with.
	Store() Backend
	// Commit makes the staged spaces the store's spaces (those it had are
	// gone) and removes the staging area. On failure the store keeps its
	// own spaces.
	Commit(ctx context.Context) error
	// Discard removes the staging area and what was written to it.
	Discard(ctx context.Context) error
}

// Stager is a store that can stage a whole new content (the remote stores;
// the file store has NewStaging and ReplaceWith of its own).
type Stager interface {
	// NewStaging opens an empty staging area whose modified times come
	// from clk.
	NewStaging(ctx context.Context, clk *clock.Clock) (Staging, error)
}

// Keys is the raw view of a bucket that KeyStaging needs. Keys are
// relative to the store's own prefix.
type Keys interface {
	// ListKeys calls fn with every key that starts with prefix.
	ListKeys(ctx context.Context, prefix string, fn func(key string) error) error
	// CopyKey copies the object at src to dst with its content type and
	// metadata, replacing any object at dst (server-side where it can).
	CopyKey(ctx context.Context, src, dst string) error
	// DeleteKey removes the object at key; one that is not there is no error.
	DeleteKey(ctx context.Context, key string) error
}

// stagingConcurrency bounds the copies and deletes a commit has in flight.
const stagingConcurrency = 8

// KeyStaging stages under a prefix of the bucket: Sub writes there (keys
// Prefix+<live key>), Commit switches the keys in, Discard removes them.
// Live are the prefixes of the live content that Commit replaces (e.g.
// "orgs/" and the space markers' prefix); nothing else of the bucket is
// touched.
type KeyStaging struct {
	Sub    Backend // a store of the same kind rooted at Prefix
	Keys   Keys
	Prefix string   // where the staged keys are, ending in "/"
	Backup string   // where Commit keeps the old keys until it is done, ending in "/"
	Live   []string // prefixes of the live content
	Log    *slog.Logger
	// After, if set, runs after a commit or a rollback (to drop caches).
	After func()

	keepBackup bool // a rollback failed: the backup is what is left of the old keys
}

var _ Staging = (*KeyStaging)(nil)

// Store returns the staging store.
func (k *KeyStaging) Store() Backend { return k.Sub }

// Discard removes every staged key (and a backup a failed commit left).
func (k *KeyStaging) Discard(ctx context.Context) error {
	err := k.removeAll(ctx, k.Prefix)
	if !k.keepBackup {
		err = errors.Join(err, k.removeAll(ctx, k.Backup))
	}
	if cerr := k.Sub.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return fmt.Errorf("staging: discard: %w", err)
	}
	return nil
}

func (k *KeyStaging) list(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	err := k.Keys.ListKeys(ctx, prefix, func(key string) error {
		out = append(out, key)
		return nil
	})
	return out, err
}

func (k *KeyStaging) removeAll(ctx context.Context, prefix string) error {
	if prefix == "" || prefix[len(prefix)-1] != '/' {
		return fmt.Errorf("staging prefix %q is not a folder", prefix) // never the whole bucket
	}
	keys, err := k.list(ctx, prefix)
	if err != nil {
		return err
	}
	return forEach(ctx, keys, func(ctx context.Context, key string) error { return k.Keys.DeleteKey(ctx, key) })
}

// forEach runs fn on every key, stagingConcurrency at a time; after the
// first error it starts no more, and returns once those in flight are
// done (not cancelled: a cancelled request may still complete in the
// bucket after a rollback looked), with every error met.
func forEach(ctx context.Context, keys []string, fn func(ctx context.Context, key string) error) error {
	sem := make(chan struct{}, stagingConcurrency)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(errs) > 0
	}
	for _, key := range keys {
		if failed() || ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, key); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) == 0 && ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(errs...)
}

// Commit switches the staged keys in, in three steps:
//  1. every live key is copied under Backup (a failure: nothing changed);
//  2. every staged key is copied to its live key and every live key the
//     staging does not have is deleted (a failure: the keys the staging
//     added are deleted and the backed-up ones copied back);
//  3. the staging and backup keys are removed.
//
// Copies are server-side, so no byte passes through the emulator (except
// objects too large for one copy request, which the store streams). The
// caller keeps its own clients away meanwhile; other processes on the same
// bucket can see the switch half-done while step 2 runs.
func (k *KeyStaging) Commit(ctx context.Context) (err error) {
	defer func() {
		if k.After != nil {
			k.After()
		}
		if derr := k.Discard(context.WithoutCancel(ctx)); derr != nil {
			k.Log.Warn("staging: remove the staging area", "err", derr)
		}
	}()
	staged, err := k.list(ctx, k.Prefix)
	if err != nil {
		return fmt.Errorf("staging: commit: list the staged keys: %w", err)
	}
	var live []string
	for _, p := range k.Live {
		keys, err := k.list(ctx, p)
		if err != nil {
			return fmt.Errorf("staging: commit: list the live keys: %w", err)
		}
		live = append(live, keys...)
	}
	newKeys := map[string]bool{}
	for i, s := range staged {
		staged[i] = s[len(k.Prefix):]
		newKeys[staged[i]] = true
	}
	if err := forEach(ctx, live, func(ctx context.Context, key string) error {
		return k.Keys.CopyKey(ctx, key, k.Backup+key)
	}); err != nil {
		return fmt.Errorf("staging: commit: back up the live keys (nothing changed): %w", err)
	}
	var gone []string
	for _, key := range live {
		if !newKeys[key] {
			gone = append(gone, key)
		}
	}
	err = forEach(ctx, staged, func(ctx context.Context, key string) error {
		return k.Keys.CopyKey(ctx, k.Prefix+key, key)
	})
	if err == nil {
		err = forEach(ctx, gone, func(ctx context.Context, key string) error { return k.Keys.DeleteKey(ctx, key) })
	}
	if err == nil {
		return nil
	}
	if rerr := k.rollback(context.WithoutCancel(ctx), staged, live); rerr != nil {
		return fmt.Errorf("staging: commit: %w; putting the old keys back failed too (they are kept under %s): %w", err, k.Backup, rerr)
	}
	return fmt.Errorf("staging: commit (rolled back, nothing changed): %w", err)
}

// rollback puts the live keys back as they were before a failed switch.
func (k *KeyStaging) rollback(ctx context.Context, staged, live []string) error {
	old := map[string]bool{}
	for _, key := range live {
		old[key] = true
	}
	var added []string
	for _, key := range staged {
		if !old[key] {
			added = append(added, key)
		}
	}
	if err := forEach(ctx, added, func(ctx context.Context, key string) error { return k.Keys.DeleteKey(ctx, key) }); err != nil {
		return err
	}
	if err := forEach(ctx, live, func(ctx context.Context, key string) error {
		return k.Keys.CopyKey(ctx, k.Backup+key, key)
	}); err != nil {
		k.keepBackup = true
		return err
	}
	return nil
}
