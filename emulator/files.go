package emulator

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// Space names a thread or a volume of an organisation, for seeding and
// inspecting the emulator directly (not through the protocol).
type Space struct {
	Org  string // default org_local
	Kind string // "thread" or "volume"
	ID   string // thread ID or volume slug
}

// Thread names a thread of org_local.
func Thread(id string) Space { return Space{Org: DevOrg, Kind: string(store.Thread), ID: id} }

// Volume names a volume of org_local.
func Volume(slug string) Space { return Space{Org: DevOrg, Kind: string(store.Volume), ID: slug} }

// InOrg returns the same space in another organisation.
func (s Space) InOrg(org string) Space { s.Org = org; return s }

func (s Space) internal() (store.Space, error) {
	sp := store.Space{Org: s.Org, Kind: store.Kind(s.Kind), ID: s.ID}
	if sp.Org == "" {
		sp.Org = DevOrg
	}
	if sp.Kind != store.Thread && sp.Kind != store.Volume {
		return store.Space{}, fmt.Errorf("space kind must be %q or %q, not %q", store.Thread, store.Volume, s.Kind)
	}
	if err := store.ValidID(sp.ID); err != nil {
		return store.Space{}, fmt.Errorf("space id %q: %w", s.ID, err)
	}
	return sp, nil
}

// WriteFile stores data at path in the space, as a completed upload would
// (creating a thread if needed). Read-only volumes can be seeded this way.
func (e *Emulator) WriteFile(sp Space, path string, data []byte) error {
	return e.WriteFileType(sp, path, "", data)
}

// WriteFileType is WriteFile with a content type.
func (e *Emulator) WriteFileType(sp Space, path, contentType string, data []byte) error {
	isp, err := sp.internal()
	if err != nil {
		return err
	}
	if isp.Kind == store.Volume {
		if _, ok := e.tenants.Volume(isp.Org, isp.ID); !ok {
			return fmt.Errorf("volume %q of %q does not exist", isp.ID, isp.Org)
		}
	}
	_, err = e.store.Put(context.Background(), isp, path, contentType, int64(len(data)), bytes.NewReader(data))
	return err
}

// ReadFile returns the bytes stored at path in the space.
func (e *Emulator) ReadFile(sp Space, path string) ([]byte, error) {
	isp, err := sp.internal()
	if err != nil {
		return nil, err
	}
	r, err := e.store.Open(context.Background(), isp, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// TB is the part of testing.TB that RunT needs; *testing.T, *testing.B and
// Ginkgo's GinkgoT() all have it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
}

// RunT starts an emulator for a test and closes it when the test ends. It
// fails the test if the emulator cannot start. At most one Options may be given.
func RunT(t TB, opts ...Options) *Emulator {
	t.Helper()
	var o Options
	if len(opts) > 1 {
		t.Fatalf("emulator.RunT: at most one Options, got %d", len(opts))
	}
	if len(opts) == 1 {
		o = opts[0]
	}
	e, err := Start(o)
	if err != nil {
		t.Fatalf("emulator.RunT: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("emulator close: %v", err)
		}
	})
	return e
}
