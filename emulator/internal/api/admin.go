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

	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/tenancy"
)

// adminRoutes registers the emulator-only surface (SPEC M-1..M-3).
func (s *Server) adminRoutes(r *mux.Router) {
	r.Use(s.adminAuth)
	methods(r, "/health", map[string]http.HandlerFunc{http.MethodGet: s.handleHealth})
	methods(r, "/info", map[string]http.HandlerFunc{http.MethodGet: s.handleInfo})
	methods(r, "/clock", map[string]http.HandlerFunc{http.MethodGet: s.handleClockGet, http.MethodPost: s.handleClockPost})
	methods(r, "/volumes", map[string]http.HandlerFunc{http.MethodGet: s.handleVolumesList, http.MethodPost: s.handleVolumeCreate})
	methods(r, "/volumes/{org}/{slug}", map[string]http.HandlerFunc{http.MethodGet: s.handleVolumeGet, http.MethodPatch: s.handleVolumePatch})
	methods(r, "/keys", map[string]http.HandlerFunc{http.MethodGet: s.handleKeysList, http.MethodPost: s.handleKeyCreate})
	methods(r, "/keys/{key}", map[string]http.HandlerFunc{http.MethodDelete: s.handleKeyRevoke})
}

// adminAuth requires the admin token, when one is configured, on every
// admin route but health.
func (s *Server) adminAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.AdminToken != "" && r.URL.Path != "/_emulator/health" {
			got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.AdminToken)) != 1 {
				writeError(w, errorf(http.StatusUnauthorized, CodeUnauthorized, "admin routes need Authorization: Bearer <admin token>"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	info := map[string]any{
		"name":    "localbaponi",
		"backend": s.Face.Name(),
		"now":     rfc3339(s.Clock.Now()),
	}
	features := []string{"files", "clock", "admin"}
	if s.Exec != nil {
		features = append(features, "execute")
	}
	info["features"] = features
	if s.Info != nil {
		for k, v := range s.Info() {
			info[k] = v
		}
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) clockJSON() map[string]any {
	return map[string]any{"now": s.Clock.Now().Format(time.RFC3339Nano), "frozen": s.Clock.Frozen()}
}

func (s *Server) handleClockGet(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.clockJSON())
}

// handleClockPost moves the clock: {"advance": "16m"} or {"set": RFC 3339}.
func (s *Server) handleClockPost(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Advance *string `json:"advance"`
		Set     *string `json:"set"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	switch {
	case req.Advance != nil && req.Set != nil:
		writeError(w, validationf("give either advance or set, not both"))
		return
	case req.Advance != nil:
		d, err := time.ParseDuration(*req.Advance)
		if err != nil {
			writeError(w, validationf("advance %q is not a duration (e.g. \"16m\", \"1h30m\")", *req.Advance))
			return
		}
		if err := s.Clock.Advance(d); err != nil {
			writeError(w, validationf("advance must not be negative; use set to move the clock backwards"))
			return
		}
	case req.Set != nil:
		t, err := time.Parse(time.RFC3339Nano, *req.Set)
		if err != nil {
			writeError(w, validationf("set %q is not an RFC 3339 time (e.g. \"2026-03-04T12:00:00Z\")", *req.Set))
			return
		}
		s.Clock.Set(t)
	default:
		writeError(w, validationf(`body must have advance (a duration such as "16m") or set (an RFC 3339 time)`))
		return
	}
	writeJSON(w, http.StatusOK, s.clockJSON())
}

func (s *Server) handleVolumesList(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"volumes": s.Tenants.Volumes(r.URL.Query().Get("org"))})
}

// tenancyError maps registry errors to the envelope.
func tenancyError(err error) error {
	switch {
	case errors.Is(err, tenancy.ErrUnknownOrg), errors.Is(err, tenancy.ErrUnknownVolume), errors.Is(err, tenancy.ErrUnknownKey):
		return notFoundf("%v", err)
	case errors.Is(err, tenancy.ErrExists):
		return errorf(http.StatusConflict, CodeConflict, "%v", err)
	case errors.Is(err, store.ErrInvalidPath):
		return validationf("%v", err)
	}
	return validationf("%v", err)
}

// handleVolumeCreate is POST /_emulator/volumes {org, slug, read_only, files}.
func (s *Server) handleVolumeCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Org      string            `json:"org"`
		Slug     string            `json:"slug"`
		ReadOnly bool              `json:"read_only"`
		Files    map[string]string `json:"files"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Org == "" || req.Slug == "" {
		writeError(w, validationf("org and slug are required"))
		return
	}
	for p := range req.Files {
		if err := store.ValidPath(p); err != nil {
			writeError(w, validationf("files: %v", err))
			return
		}
	}
	v, err := s.Tenants.CreateVolume(req.Org, req.Slug, req.ReadOnly)
	if err != nil {
		writeError(w, tenancyError(err))
		return
	}
	if err := SeedVolume(r.Context(), s.Store, v, req.Files); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

// SeedVolume creates a volume's directory and writes the given files into it.
func SeedVolume(ctx context.Context, st *store.Store, v tenancy.Volume, files map[string]string) error {
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

func (s *Server) handleVolumeGet(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	v, ok := s.Tenants.Volume(vars["org"], vars["slug"])
	if !ok {
		writeError(w, notFoundf("volume %q of %q not found", vars["slug"], vars["org"]))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// handleVolumePatch is PATCH /_emulator/volumes/{org}/{slug} {read_only}.
func (s *Server) handleVolumePatch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ReadOnly *bool `json:"read_only"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.ReadOnly == nil {
		writeError(w, validationf("read_only is required (true or false)"))
		return
	}
	vars := mux.Vars(r)
	v, err := s.Tenants.SetReadOnly(vars["org"], vars["slug"], *req.ReadOnly)
	if err != nil {
		writeError(w, tenancyError(err))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) handleKeysList(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"keys": s.Tenants.Keys()})
}

// handleKeyCreate is POST /_emulator/keys {org, key?, rate_limit?, ...}; a
// new org is created on the way.
func (s *Server) handleKeyCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Org string `json:"org"`
		tenancy.KeyConfig
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Org == "" {
		writeError(w, validationf("org is required"))
		return
	}
	if err := s.Tenants.CreateOrg(req.Org); err != nil {
		writeError(w, tenancyError(err))
		return
	}
	k, err := s.Tenants.CreateKey(req.Org, req.KeyConfig)
	if err != nil {
		writeError(w, tenancyError(err))
		return
	}
	writeJSON(w, http.StatusCreated, k)
}

// handleKeyRevoke is DELETE /_emulator/keys/{key}.
func (s *Server) handleKeyRevoke(w http.ResponseWriter, r *http.Request) {
	if err := s.Tenants.RevokeKey(mux.Vars(r)["key"]); err != nil {
		writeError(w, tenancyError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"revoked": true})
}
