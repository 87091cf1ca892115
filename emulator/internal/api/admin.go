package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/tenancy"
)

// adminRoutes registers the emulator-only surface (SPEC M-1..M-3).
func (s *Server) adminRoutes(r *mux.Router) {
	r.Use(s.adminAuth)
	methods(r, "/health", routes{http.MethodGet: s.handleHealth})
	methods(r, "/info", routes{http.MethodGet: s.handleInfo})
	methods(r, "/clock", routes{http.MethodGet: s.handleClockGet, http.MethodPost: s.handleClockPost})
	methods(r, "/volumes", routes{http.MethodGet: s.handleVolumesList, http.MethodPost: s.handleVolumeCreate})
	methods(r, "/volumes/{org}/{slug}", routes{http.MethodGet: s.handleVolumeGet, http.MethodPatch: s.handleVolumePatch})
	methods(r, "/keys", routes{http.MethodGet: s.handleKeysList, http.MethodPost: s.handleKeyCreate})
	methods(r, "/keys/{key}", routes{http.MethodDelete: s.handleKeyRevoke})
	s.controlRoutes(r)
	s.uiRoutes(r)
}

// adminAuth requires the admin token, when one is configured, on every
// admin route but health.
func (s *Server) adminAuth(next http.Handler) http.Handler {
	return handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if s.AdminToken != "" && r.URL.Path != "/_emulator/health" && !strings.HasPrefix(r.URL.Path, UIPath) && r.URL.Path != "/_emulator/ui" {
			got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.AdminToken)) != 1 {
				return unauthorized("admin routes need Authorization: Bearer <admin token>")
			}
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) error {
	info := map[string]any{
		"name":    "localbaponi",
		"backend": s.Face.Name(),
		"now":     rfc3339(s.Clock.Now()),
	}
	features := []string{"files", "clock", "admin", "mcp"}
	if s.Exec != nil {
		features = append(features, "execute")
	}
	info["features"] = features
	info["ui"] = UIPath
	if s.Info != nil {
		for k, v := range s.Info() {
			info[k] = v
		}
	}
	if base := face.BaseURL(r.Context()); base != nil {
		info["external_url"] = base.String() // what this client's URLs start with
	}
	return writeJSON(w, http.StatusOK, info)
}

func (s *Server) clockJSON() map[string]any {
	return map[string]any{"now": s.Clock.Now().Format(time.RFC3339Nano), "frozen": s.Clock.Frozen()}
}

func (s *Server) handleClockGet(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, s.clockJSON())
}

// handleClockPost moves the clock: {"advance": "16m"} or {"set": RFC 3339}.
func (s *Server) handleClockPost(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Advance *string `json:"advance"`
		Set     *string `json:"set"`
		Reset   bool    `json:"reset"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	switch {
	case (req.Advance != nil && req.Set != nil) || (req.Reset && (req.Advance != nil || req.Set != nil)):
		return validationf("give one of advance, set or reset, not several")
	case req.Reset:
		s.Clock.Reset() // back where it started: the real time, or the frozen start

	case req.Advance != nil:
		d, err := time.ParseDuration(*req.Advance)
		if err != nil {
			return validationf("advance %q is not a duration (e.g. \"16m\", \"1h30m\")", *req.Advance)
		}
		if err := s.Clock.Advance(d); err != nil {
			return validationf("advance must not be negative; use set to move the clock backwards")
		}
	case req.Set != nil:
		t, err := time.Parse(time.RFC3339Nano, *req.Set)
		if err != nil {
			return validationf("set %q is not an RFC 3339 time (e.g. \"2026-03-04T12:00:00Z\")", *req.Set)
		}
		s.Clock.Set(t)
	default:
		return validationf(`body must have advance (a duration such as "16m"), set (an RFC 3339 time) or reset (true)`)
	}
	return writeJSON(w, http.StatusOK, s.clockJSON())
}

func (s *Server) handleVolumesList(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{"volumes": s.Tenants.Volumes(r.URL.Query().Get("org"))})
}

// tenancyError maps registry errors to the envelope.
func tenancyError(err error) error {
	switch {
	case errors.Is(err, tenancy.ErrUnknownOrg), errors.Is(err, tenancy.ErrUnknownVolume), errors.Is(err, tenancy.ErrUnknownKey):
		return notFoundf("%v", err)
	case errors.Is(err, tenancy.ErrExists):
		return errorf(CodeConflict, "%v", err)
	case errors.Is(err, store.ErrInvalidPath):
		return validationf("%v", err)
	}
	return validationf("%v", err)
}

// handleVolumeCreate is POST /_emulator/volumes {org, slug, read_only, files}.
func (s *Server) handleVolumeCreate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Org      string            `json:"org"`
		Slug     string            `json:"slug"`
		ReadOnly bool              `json:"read_only"`
		Files    map[string]string `json:"files"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Org == "" || req.Slug == "" {
		return validationf("org and slug are required")
	}
	for p := range req.Files {
		if err := store.ValidPath(p); err != nil {
			return validationf("files: %v", err)
		}
	}
	v, err := s.Tenants.CreateVolume(req.Org, req.Slug, req.ReadOnly)
	if err != nil {
		return tenancyError(err)
	}
	if err := SeedVolume(r.Context(), s.Store, v, req.Files); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

// SeedVolume creates a volume's directory and writes the given files into it.
func SeedVolume(ctx context.Context, st store.Backend, v tenancy.Volume, files map[string]string) error {
	sp := store.Space{Org: v.Org, Kind: store.Volume, ID: v.Slug}
	if err := st.Create(sp); err != nil {
		return fmt.Errorf("create volume %q: %w", v.Slug, err)
	}
	for p, content := range files {
		if _, err := st.Put(ctx, sp, p, "", int64(len(content)), strings.NewReader(content)); err != nil {
			return fmt.Errorf("seed %s of volume %q: %w", p, v.Slug, err)
		}
	}
	return nil
}

func (s *Server) handleVolumeGet(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	v, ok := s.Tenants.Volume(vars["org"], vars["slug"])
	if !ok {
		return notFoundf("volume %q of %q not found", vars["slug"], vars["org"])
	}
	return writeJSON(w, http.StatusOK, v)
}

// handleVolumePatch is PATCH /_emulator/volumes/{org}/{slug} {read_only}.
func (s *Server) handleVolumePatch(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		ReadOnly *bool `json:"read_only"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.ReadOnly == nil {
		return validationf("read_only is required (true or false)")
	}
	vars := mux.Vars(r)
	v, err := s.Tenants.SetReadOnly(vars["org"], vars["slug"], *req.ReadOnly)
	if err != nil {
		return tenancyError(err)
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) handleKeysList(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{"keys": s.Tenants.Keys()})
}

// handleKeyCreate is POST /_emulator/keys {org, key?, rate_limit?, ...}; a
// new org is created on the way.
func (s *Server) handleKeyCreate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Org string `json:"org"`
		tenancy.KeyConfig
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Org == "" {
		return validationf("org is required")
	}
	if err := s.Tenants.CreateOrg(req.Org); err != nil {
		return tenancyError(err)
	}
	k, err := s.Tenants.CreateKey(req.Org, req.KeyConfig)
	if err != nil {
		return tenancyError(err)
	}
	return writeJSON(w, http.StatusCreated, k)
}

// handleKeyRevoke is DELETE /_emulator/keys/{key}.
func (s *Server) handleKeyRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.Tenants.RevokeKey(mux.Vars(r)["key"]); err != nil {
		return tenancyError(err)
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"revoked": true})
}
