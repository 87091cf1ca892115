// Package mirror runs code on a remote store: before a run it brings a
// local copy of each space (in a file store, which the sandbox mounts) in
// step with the remote store, fetching only what changed since this
// replica last saw it (by ETag); after the run it uploads the files the
// code added or changed and deletes the ones it removed.
package mirror

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// Remote is a store that can say, for every file of a space, the version
// (ETag) it holds.
type Remote interface {
	store.Backend
	// Versions maps each addressable file of sp to its ETag; empty (no
	// error) if sp does not exist.
	Versions(ctx context.Context, sp store.Space) (map[string]string, error)
}

// version is what one file was when this replica last synced it.
type version struct {
	remote string // the remote ETag
	local  string // the local file store's ETag of the same bytes
}

// Mirror keeps a file store's spaces in step with a remote store's. Safe for
// concurrent use: calls for one space run one at a time (a volume's local
// copy is shared by every run that mounts it, so one run's Push can meet
// another's Fetch), calls for different spaces run in parallel.
type Mirror struct {
	remote Remote
	local  *store.Store

	mu     sync.Mutex
	seen   map[string]map[string]version // space key → path → version
	spaces map[string]*sync.Mutex        // space key → held by Fetch and Push
}

// New makes a mirror of remote in local.
func New(remote Remote, local *store.Store) *Mirror {
	return &Mirror{remote: remote, local: local, seen: map[string]map[string]version{}, spaces: map[string]*sync.Mutex{}}
}

// lock takes sp's lock and returns its release. Without it a Push could
// find a file that a concurrent Fetch has just downloaded but not yet
// recorded, take it for one the code wrote, and upload it back over a
// delete made through the API meanwhile.
func (m *Mirror) lock(sp store.Space) func() {
	m.mu.Lock()
	l := m.spaces[sp.Key()]
	if l == nil {
		l = new(sync.Mutex)
		m.spaces[sp.Key()] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func (m *Mirror) versions(sp store.Space) map[string]version {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.seen[sp.Key()]
	if v == nil {
		v = map[string]version{}
		m.seen[sp.Key()] = v
	}
	return v
}

// localFiles maps each file of the local copy of sp to its local ETag.
func (m *Mirror) localFiles(ctx context.Context, sp store.Space) (map[string]string, error) {
	entries, err := m.local.List(ctx, sp, "")
	if errors.Is(err, store.ErrNotFound) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		if e.IsDir {
			continue
		}
		o, err := m.local.Stat(ctx, sp, e.Path)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[e.Path] = o.ETag
	}
	return out, nil
}

// Fetch makes the local copy of sp (created if needed) hold what the
// remote store holds: files this replica has at the version the remote
// has are kept; others are downloaded; local files the remote does not
// have are removed — except files written locally and not pushed yet,
// which stay for Push.
func (m *Mirror) Fetch(ctx context.Context, sp store.Space) error {
	fail := func(err error) error { return fmt.Errorf("mirror: fetch %s: %w", sp.Key(), err) }
	defer m.lock(sp)()
	if err := m.local.Create(sp); err != nil {
		return fail(err)
	}
	// The space exists from the run on, even if the code leaves no file
	// in it (SPEC S-4).
	if err := m.remote.Create(sp); err != nil {
		return fail(err)
	}
	remote, err := m.remote.Versions(ctx, sp)
	if err != nil {
		return fail(err)
	}
	local, err := m.localFiles(ctx, sp)
	if err != nil {
		return fail(err)
	}
	seen := m.versions(sp)
	// pending: written in the local copy since the last sync and not pushed
	// yet — by a run still going that shares this copy (a volume), or one
	// whose push failed. Fetch leaves those alone; Push sends them.
	pending := func(p string) bool {
		le, has := local[p]
		m.mu.Lock()
		v, ok := seen[p]
		m.mu.Unlock()
		return has && (!ok || le != v.local)
	}
	for p := range local {
		if _, ok := remote[p]; !ok && !pending(p) {
			if err := m.local.Delete(ctx, sp, p); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fail(err)
			}
			m.mu.Lock()
			delete(seen, p)
			m.mu.Unlock()
		}
	}
	for p, etag := range remote {
		m.mu.Lock()
		v, ok := seen[p]
		m.mu.Unlock()
		if ok && v.remote == etag && local[p] == v.local && v.local != "" {
			continue // unchanged on both sides since the last sync
		}
		if pending(p) {
			continue // the local write wins when it is pushed (last writer wins)
		}
		if err := m.download(ctx, sp, p, etag, seen); err != nil {
			return fail(err)
		}
	}
	return nil
}

func (m *Mirror) download(ctx context.Context, sp store.Space, p, etag string, seen map[string]version) error {
	rd, err := m.remote.Open(ctx, sp, p)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted since the listing
	}
	if err != nil {
		return err
	}
	defer rd.Close()
	o, err := m.local.Put(ctx, sp, p, rd.ContentType, rd.Size, rd)
	if err != nil {
		return err
	}
	m.mu.Lock()
	seen[p] = version{remote: rd.ETag, local: o.ETag}
	m.mu.Unlock()
	return nil
}

// Push sends what changed in the local copy of sp since Fetch to the
// remote store: files removed there are deleted, files added or changed
// are uploaded (the last writer wins if another replica changed them
// meanwhile).
func (m *Mirror) Push(ctx context.Context, sp store.Space) error {
	fail := func(err error) error { return fmt.Errorf("mirror: push %s: %w", sp.Key(), err) }
	defer m.lock(sp)()
	local, err := m.localFiles(ctx, sp)
	if err != nil {
		return fail(err)
	}
	seen := m.versions(sp)
	m.mu.Lock()
	var gone []string
	for p := range seen {
		if _, ok := local[p]; !ok {
			gone = append(gone, p)
		}
	}
	m.mu.Unlock()
	for _, p := range gone {
		if err := m.remote.Delete(ctx, sp, p); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fail(err)
		}
		m.mu.Lock()
		delete(seen, p)
		m.mu.Unlock()
	}
	for p, etag := range local {
		m.mu.Lock()
		v, ok := seen[p]
		m.mu.Unlock()
		if ok && v.local == etag {
			continue
		}
		if err := m.upload(ctx, sp, p, seen); err != nil {
			return fail(err)
		}
	}
	return nil
}

func (m *Mirror) upload(ctx context.Context, sp store.Space, p string, seen map[string]version) error {
	rd, err := m.local.Open(ctx, sp, p)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	defer rd.Close()
	o, err := m.remote.Put(ctx, sp, p, rd.ContentType, rd.Size, rd)
	if err != nil {
		return err
	}
	m.mu.Lock()
	seen[p] = version{remote: o.ETag, local: rd.ETag}
	m.mu.Unlock()
	return nil
}
