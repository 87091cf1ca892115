// Operations on whole spaces and on the whole store, for the emulator's
// reset and snapshots: list spaces, remove a space or an org, and replace
// every space at once with those of a staging store.
package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/rmtree"
)

// stagePrefix starts the name of a staging store's directory inside the
// store's directory: ".stage-<instance id>-<random>" (and, while ReplaceWith
// moves the old spaces out, "<that>.old"). The instance id says which open
// store owns it, so a later start can remove what a crash left (sweepStages).
const stagePrefix = ".stage-"

// Spaces lists the spaces that exist, of org or (org "") of every org, in
// key order.
func (s *Store) Spaces(org string) ([]Space, error) {
	orgs := []string{org}
	if org == "" {
		names, err := s.subdirNames(orgsDirName)
		if err != nil {
			return nil, err
		}
		orgs = names
	}
	var out []Space
	for _, o := range orgs {
		if ValidID(o) != nil {
			continue
		}
		for _, kind := range []Kind{Thread, Volume} {
			ids, err := s.subdirNames(orgsDirName + "/" + o + "/" + string(kind) + "s")
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				if ValidID(id) == nil {
					out = append(out, Space{Org: o, Kind: kind, ID: id})
				}
			}
		}
	}
	return out, nil
}

func (s *Store) subdirNames(dir string) ([]string, error) {
	f, err := s.root.Open(dir)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("store: list %s: %w", dir, err)
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// RemoveSpace removes a space with everything in it, and its metadata. A
// space that does not exist is not an error.
func (s *Store) RemoveSpace(sp Space) error {
	if err := validSpace(sp); err != nil {
		return fmt.Errorf("store: remove space: %w", err)
	}
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	defer s.Changed(sp)
	// rmtree: sandboxed code may have built a tree deeper than a walk with
	// one descriptor per level can remove. The path's components are the
	// store's own; below them nothing is followed.
	if err := rmtree.RemoveAll(filepath.Join(s.dir, filepath.FromSlash(sp.Key()))); err != nil {
		return fmt.Errorf("store: remove %s: %w", sp.Key(), err)
	}
	if err := s.root.RemoveAll(metaDir(sp)); err != nil {
		return fmt.Errorf("store: remove metadata of %s: %w", sp.Key(), err)
	}
	return nil
}

// RemoveOrg removes every space of org (org "" : of every org).
func (s *Store) RemoveOrg(org string) error {
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	defer s.ChangedAll()
	orgs := []string{org}
	if org == "" {
		names, err := s.subdirNames(orgsDirName)
		if err != nil {
			return err
		}
		orgs = names
	}
	for _, o := range orgs {
		if err := ValidID(o); err != nil {
			return fmt.Errorf("store: remove org: %w", err)
		}
		for _, d := range []string{orgsDirName + "/" + o, metaDirName + "/" + orgsDirName + "/" + o} {
			if err := rmtree.RemoveAll(filepath.Join(s.dir, filepath.FromSlash(d))); err != nil {
				return fmt.Errorf("store: remove %s: %w", d, err)
			}
		}
	}
	return nil
}

// NewStaging opens an empty store in a new directory inside this one (so a
// rename moves its files in), with the same file owner. The caller fills
// it, then either passes it to ReplaceWith or discards it with
// DiscardStaging.
func (s *Store) NewStaging(clk *clock.Clock) (*Store, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := stagePrefix + s.instID + "-" + hex.EncodeToString(b[:])
	st, err := Open(filepath.Join(s.dir, name), clk, s.log)
	if err != nil {
		return nil, err
	}
	if o := s.owner.Load(); o != nil {
		st.SetFileOwner(o.uid, o.gid)
	}
	return st, nil
}

// DiscardStaging closes a staging store and removes its directory.
func (s *Store) DiscardStaging(st *Store) error {
	err := st.Close()
	return errors.Join(err, rmtree.RemoveAll(st.dir))
}

// ReplaceWith makes the spaces of the staging store st the store's spaces,
// all at once (two renames), and discards st. On failure the store keeps
// its own spaces.
func (s *Store) ReplaceWith(st *Store) error {
	name, err := filepath.Rel(s.dir, st.dir)
	if err != nil || filepath.Dir(name) != "." {
		return fmt.Errorf("store: replace: %s is not a staging store of %s", st.dir, s.dir)
	}
	if err := st.Close(); err != nil {
		return fmt.Errorf("store: replace: close staging store: %w", err)
	}
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	defer s.ChangedAll()
	trash := name + ".old"
	if err := s.root.Mkdir(trash, DirMode); err != nil {
		return fmt.Errorf("store: replace: %w", err)
	}
	moved := 0
	rollback := func(cause error) error {
		for _, d := range []string{orgsDirName, metaDirName}[:moved] {
			_ = s.root.Rename(d, name+"/"+d)
			_ = s.root.Rename(trash+"/"+d, d)
		}
		_ = s.root.RemoveAll(trash)
		_ = s.root.RemoveAll(name)
		return fmt.Errorf("store: replace: %w", cause)
	}
	for _, d := range []string{orgsDirName, metaDirName} {
		if err := s.root.Rename(d, trash+"/"+d); err != nil {
			return rollback(err)
		}
		if err := s.root.Rename(name+"/"+d, d); err != nil {
			_ = s.root.Rename(trash+"/"+d, d)
			return rollback(err)
		}
		moved++
	}
	if err := rmtree.RemoveAll(filepath.Join(s.dir, trash)); err != nil {
		s.log.Warn("store: remove replaced spaces", "err", err)
	}
	if err := s.root.RemoveAll(name); err != nil {
		s.log.Warn("store: remove staging directory", "err", err)
	}
	return nil
}
