package emulator

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/api"
	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/tenancy"
)

// SnapshotFormat and SnapshotVersion name the snapshot archive format this
// emulator writes and reads.
const (
	SnapshotFormat  = "localbaponi-snapshot"
	SnapshotVersion = 1
)

// ErrSnapshot is wrapped by every reason a snapshot is refused; nothing of
// it has been loaded then.
var ErrSnapshot = errors.New("snapshot not loaded, nothing changed")

// snapshotManifest is the archive's first entry, manifest.json.
type snapshotManifest struct {
	Format          string         `json:"format"`
	Version         int            `json:"version"`
	EmulatorVersion string         `json:"emulator_version"`
	Created         time.Time      `json:"created"`
	Clock           snapshotClock  `json:"clock"`
	Tenants         tenancy.Config `json:"tenants"` // orgs, keys and volumes (no signing identity)
}

type snapshotClock struct {
	Now    time.Time `json:"now"`
	Frozen bool      `json:"frozen"`
}

const (
	manifestName = "manifest.json"
	filesPrefix  = "files/"
	// paxContentType carries a file's content type in its tar header.
	paxContentType = "LOCALBAPONI.content_type"
)

// Reset returns the whole emulator to its start state: files, executions,
// keys and volumes created at run time, the clock's offset, fault rules and
// the journal (as POST /_emulator/reset). Requests in flight are aborted
// first; an emulator started from a snapshot goes back to the snapshot.
func (e *Emulator) Reset() error { return e.reset(context.Background(), "", "") }

// ResetOrg removes what one org holds (threads, executions, fault rules
// naming it, its journal entries) and returns its keys and volumes to the
// config's.
func (e *Emulator) ResetOrg(org string) error { return e.reset(context.Background(), org, "") }

// ResetThread removes one thread of an org, its executions, the fault rules
// naming it and its journal entries.
func (e *Emulator) ResetThread(org, thread string) error {
	return e.reset(context.Background(), org, thread)
}

func (e *Emulator) reset(ctx context.Context, org, thread string) error {
	if org == "" && thread != "" {
		return errors.New("reset: a thread needs its org")
	}
	var staged *stagedSnapshot
	if org == "" && e.opts.Snapshot != "" {
		var err error
		if staged, err = e.stageSnapshotFile(ctx, e.opts.Snapshot); err != nil {
			return fmt.Errorf("reset to %s: %w", e.opts.Snapshot, err)
		}
	}
	return e.ctl.Quiesce(org, thread, func() error {
		if e.exec != nil && e.exec.svc != nil {
			e.exec.svc.Forget(org, thread)
		}
		switch {
		case thread != "":
			e.faults.ClearWhere(org, thread)
			e.journal.ClearWhere(org, thread)
			return e.store.RemoveSpace(store.Space{Org: org, Kind: store.Thread, ID: thread})
		case org != "":
			e.faults.ClearWhere(org, "")
			e.journal.ClearWhere(org, "")
			if err := e.store.RemoveOrg(org); err != nil {
				return err
			}
			if err := e.tenants.ResetOrg(e.cfg, org); err != nil {
				return err
			}
			return e.seedVolumes(org, false)
		}
		e.faults.Clear()
		e.journal.Clear()
		e.clock.Reset()
		if staged != nil {
			return e.commitSnapshot(ctx, staged)
		}
		if err := e.store.RemoveOrg(""); err != nil {
			return err
		}
		if err := e.tenants.Replace(e.cfg); err != nil {
			return err
		}
		return e.seedVolumes("", false)
	})
}

// seedVolumes creates the configured volumes of org (every org for "") and
// writes their seed files; with keep, a volume that exists keeps what it
// holds (a kept data dir).
func (e *Emulator) seedVolumes(org string, keep bool) error {
	for _, oc := range e.cfg.Orgs {
		if org != "" && oc.ID != org {
			continue
		}
		for _, vc := range oc.Volumes {
			v, ok := e.tenants.Volume(oc.ID, vc.Slug)
			if !ok {
				return fmt.Errorf("config: volume %q of %q is not in the registry built from it", vc.Slug, oc.ID)
			}
			files := vc.Files
			if keep {
				exists, err := e.store.Exists(store.Space{Org: v.Org, Kind: store.Volume, ID: v.Slug})
				if err != nil {
					return fmt.Errorf("look up volume %q of %q: %w", v.Slug, v.Org, err)
				}
				if exists {
					files = nil
				}
			}
			if err := api.SeedVolume(context.Background(), e.store, v, files); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteSnapshot writes a snapshot of the emulator's state to w as a tar
// archive: manifest.json (format version, clock, orgs, keys, volumes), then
// every space and file under files/ with its modified time and content
// type. It streams: memory use does not grow with the data. Files that
// running code changes meanwhile may be caught mid-change.
func (e *Emulator) WriteSnapshot(ctx context.Context, w io.Writer) error {
	tw := tar.NewWriter(w)
	now := e.clock.Now()
	m := snapshotManifest{Format: SnapshotFormat, Version: SnapshotVersion, EmulatorVersion: Version,
		Created: now, Clock: snapshotClock{Now: now, Frozen: e.clock.Frozen()}, Tenants: e.tenants.Export()}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o644, Size: int64(len(data)), ModTime: now, Format: tar.FormatPAX}); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	spaces, err := e.store.Spaces("")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	for _, sp := range spaces {
		if err := e.snapshotSpace(ctx, tw, sp, now); err != nil {
			return fmt.Errorf("snapshot %s: %w", sp.Key(), err)
		}
	}
	return tw.Close()
}

func (e *Emulator) snapshotSpace(ctx context.Context, tw *tar.Writer, sp store.Space, now time.Time) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: filesPrefix + sp.Key() + "/", Mode: 0o755, ModTime: now, Format: tar.FormatPAX}); err != nil {
		return err
	}
	entries, err := e.store.List(ctx, sp, "")
	if errors.Is(err, store.ErrNotFound) {
		return nil // removed since the store listed its spaces
	}
	if err != nil {
		return err
	}
	for _, en := range entries {
		if en.IsDir {
			continue // made by the files in it
		}
		rd, err := e.store.Open(ctx, sp, en.Path)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed since the listing
		}
		if err != nil {
			return err
		}
		err = tw.WriteHeader(&tar.Header{
			Name: filesPrefix + sp.ObjectKey(en.Path), Mode: 0o644, Size: rd.Size, ModTime: rd.Modified,
			Format: tar.FormatPAX, PAXRecords: map[string]string{paxContentType: rd.ContentType},
		})
		if err == nil {
			_, err = io.CopyN(tw, rd, rd.Size)
		}
		rd.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", en.Path, err)
		}
	}
	return nil
}

// stagedSnapshot is a snapshot read into a staging area, ready to swap in.
type stagedSnapshot struct {
	st store.Staging
	m  snapshotManifest
}

// fileStaging is the file store's staging store as a store.Staging: a
// directory inside the data dir, swapped in by two renames.
type fileStaging struct{ live, st *store.Store }

func (f fileStaging) Store() store.Backend { return f.st }

func (f fileStaging) Commit(context.Context) error { return f.live.ReplaceWith(f.st) }

func (f fileStaging) Discard(context.Context) error { return f.live.DiscardStaging(f.st) }

// newStaging opens an empty staging area of the emulator's store whose
// modified times come from clk: a directory inside the data dir for the
// file store, a prefix of the bucket for a remote store.
func (e *Emulator) newStaging(ctx context.Context, clk *clock.Clock) (store.Staging, error) {
	if e.files != nil {
		st, err := e.files.NewStaging(clk)
		if err != nil {
			return nil, err
		}
		return fileStaging{live: e.files, st: st}, nil
	}
	if sg, ok := e.store.(store.Stager); ok {
		return sg.NewStaging(ctx, clk)
	}
	return nil, fmt.Errorf("the store %s cannot load snapshots", e.opts.Store)
}

// LoadSnapshot replaces the emulator's files, orgs, keys, volumes and clock
// with a snapshot's (as written by WriteSnapshot). The archive is read
// into a staging area first; only a complete, valid archive is swapped in,
// so a bad one changes nothing. Executions are cancelled and forgotten;
// fault rules and the journal stay.
func (e *Emulator) LoadSnapshot(ctx context.Context, r io.Reader) error {
	staged, err := e.stageSnapshot(ctx, r)
	if err != nil {
		return err
	}
	return e.ctl.Quiesce("", "", func() error {
		if e.exec != nil && e.exec.svc != nil {
			e.exec.svc.Forget("", "")
		}
		return e.commitSnapshot(ctx, staged)
	})
}

func (e *Emulator) stageSnapshotFile(ctx context.Context, path string) (*stagedSnapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	defer f.Close()
	return e.stageSnapshot(ctx, f)
}

func (e *Emulator) stageSnapshot(ctx context.Context, r io.Reader) (_ *stagedSnapshot, err error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrSnapshot, fmt.Sprintf(format, args...))
	}
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil {
		return nil, fail("not a tar archive: %v", err)
	}
	if hdr.Name != manifestName {
		return nil, fail("not a localbaponi snapshot: the first entry is %q, not %s", hdr.Name, manifestName)
	}
	var m snapshotManifest
	if err := json.NewDecoder(io.LimitReader(tr, 64<<20)).Decode(&m); err != nil {
		return nil, fail("%s: %v", manifestName, err)
	}
	if m.Format != SnapshotFormat {
		return nil, fail("format %q is not %q", m.Format, SnapshotFormat)
	}
	if m.Version != SnapshotVersion {
		return nil, fail("the archive is format version %d (written by localbaponi %s); this localbaponi %s reads version %d only: load it with the version that wrote it, or take a new snapshot",
			m.Version, m.EmulatorVersion, Version, SnapshotVersion)
	}
	m.Tenants.Signing = e.cfg.Signing
	if _, err := tenancy.NewRegistry(m.Tenants); err != nil {
		return nil, fail("its orgs, keys and volumes: %v", err)
	}
	orgs := map[string]bool{}
	for _, o := range m.Tenants.Orgs {
		orgs[o.ID] = true
	}
	stClock := clock.NewFrozen(m.Clock.Now)
	staging, err := e.newStaging(ctx, stClock)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	defer func() {
		if err != nil {
			if derr := staging.Discard(context.WithoutCancel(ctx)); derr != nil {
				e.log.Warn("snapshot: discard staging area", "err", derr)
			}
		}
	}()
	st := staging.Store()
	for _, o := range m.Tenants.Orgs {
		for _, v := range o.Volumes {
			if err := st.Create(store.Space{Org: o.ID, Kind: store.Volume, ID: v.Slug}); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrSnapshot, err)
			}
		}
	}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fail("archive: %v", err)
		}
		key, ok := strings.CutPrefix(hdr.Name, filesPrefix)
		if !ok {
			return nil, fail("unexpected entry %q (entries are %s and %s...)", hdr.Name, manifestName, filesPrefix)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			sp, p, err := store.ParseObjectKey(strings.TrimSuffix(key, "/") + "/x")
			if err != nil || p != "x" {
				continue // a directory inside a space: made by its files
			}
			if !orgs[sp.Org] {
				return nil, fail("%q belongs to org %q, which the manifest does not list", hdr.Name, sp.Org)
			}
			if err := st.Create(sp); err != nil {
				return nil, fail("%s: %v", hdr.Name, err)
			}
		case tar.TypeReg:
			sp, p, err := store.ParseObjectKey(key)
			if err != nil {
				return nil, fail("%q: %v", hdr.Name, err)
			}
			if !orgs[sp.Org] {
				return nil, fail("%q belongs to org %q, which the manifest does not list", hdr.Name, sp.Org)
			}
			stClock.Set(hdr.ModTime)
			if _, err := st.Put(ctx, sp, p, hdr.PAXRecords[paxContentType], hdr.Size, tr); err != nil {
				return nil, fail("%s: %v", hdr.Name, err)
			}
		default:
			return nil, fail("%q is neither a file nor a directory", hdr.Name)
		}
	}
	return &stagedSnapshot{st: staging, m: m}, nil
}

// commitSnapshot swaps a staged snapshot in; no request is served meanwhile.
func (e *Emulator) commitSnapshot(ctx context.Context, s *stagedSnapshot) error {
	// Not the request's context: a client gone away must not roll back a
	// switch that is under way.
	if err := s.st.Commit(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	if err := e.tenants.Replace(s.m.Tenants); err != nil {
		return err // validated when staged: cannot happen
	}
	e.clock.Set(s.m.Clock.Now)
	return nil
}

// stateControl is the emulator as the admin routes see it.
type stateControl struct{ e *Emulator }

func (s stateControl) Reset(ctx context.Context, org, thread string) error {
	return s.e.reset(ctx, org, thread)
}

func (s stateControl) WriteSnapshot(ctx context.Context, w io.Writer) error {
	return s.e.WriteSnapshot(ctx, w)
}

func (s stateControl) LoadSnapshot(ctx context.Context, r io.Reader) error {
	return s.e.LoadSnapshot(ctx, r)
}
