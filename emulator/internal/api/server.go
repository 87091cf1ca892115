// Package api is the emulator's control plane: the /v1 routes of the Files
// API (and execute), the /_emulator admin routes, auth, validation and the
// error envelope. Every other request goes to the storage face.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/tenancy"
)

// Server is the control plane. Build it with New.
type Server struct {
	Tenants *tenancy.Registry
	Store   *store.Store
	Clock   *clock.Clock
	Face    face.Face
	Log     *slog.Logger
	// Info is merged into GET /_emulator/info (version, isolation, ...).
	Info func() map[string]any
	// AdminToken, if set, is required as a Bearer token on /_emulator/
	// routes other than health.
	AdminToken string
	// Exec is the execution service; nil when execute is not available.
	Exec Executor

	router *mux.Router
}

// Handler returns the root handler: /v1, /_emulator and the face.
func (s *Server) Handler() http.Handler {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	r := mux.NewRouter()
	r.StrictSlash(false)
	v1 := r.PathPrefix("/v1/").Subrouter()
	v1.Use(s.authenticate)
	methods(v1, "/files/list", map[string]http.HandlerFunc{http.MethodPost: s.handleList})
	methods(v1, "/files/upload_url", map[string]http.HandlerFunc{http.MethodPost: s.handleUploadURL})
	methods(v1, "/files/download_url", map[string]http.HandlerFunc{http.MethodPost: s.handleDownloadURL})
	methods(v1, "/files", map[string]http.HandlerFunc{http.MethodDelete: s.handleDelete})
	s.executeRoutes(v1)
	v1.PathPrefix("/").HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFoundf("no route %s %s", r.Method, r.URL.Path))
	})
	r.Path("/v1").HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFoundf("no route %s %s", r.Method, r.URL.Path))
	})

	admin := r.PathPrefix("/_emulator/").Subrouter()
	s.adminRoutes(admin)
	admin.PathPrefix("/").HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFoundf("no admin route %s %s", r.Method, r.URL.Path))
	})

	r.PathPrefix("/").Handler(s.Face)
	s.router = r
	return recoverer(s.Log, s.logRequests(r))
}

// methods registers a path whose handlers differ by method; any other
// method gets 405 method_not_allowed with Allow (SPEC E-2).
func methods(r *mux.Router, path string, hs map[string]http.HandlerFunc) {
	allowed := make([]string, 0, len(hs))
	for m := range hs {
		allowed = append(allowed, m)
	}
	sort.Strings(allowed)
	allow := strings.Join(allowed, ", ")
	r.Path(path).HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if h, ok := hs[req.Method]; ok {
			h(w, req)
			return
		}
		w.Header().Set("Allow", allow)
		writeError(w, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
			"method %s is not allowed on %s; allowed: %s", req.Method, path, allow))
	})
}

type keyCtx struct{}

// keyFrom returns the authenticated caller's key (set by authenticate).
func keyFrom(ctx context.Context) *tenancy.Key {
	k, _ := ctx.Value(keyCtx{}).(*tenancy.Key)
	return k
}

// authenticate checks the Bearer key (SPEC A-1) and the key's rate limit
// (SPEC E-3), on the emulator clock.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			writeError(w, errorf(http.StatusUnauthorized, CodeUnauthorized,
				"missing Authorization header; send Authorization: Bearer <api key>"))
			return
		}
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			writeError(w, errorf(http.StatusUnauthorized, CodeUnauthorized,
				"Authorization header must be 'Bearer <api key>'"))
			return
		}
		key, ok := s.Tenants.Authenticate(strings.TrimSpace(token))
		if !ok {
			writeError(w, errorf(http.StatusUnauthorized, CodeUnauthorized, "invalid or revoked API key"))
			return
		}
		if ok, wait := key.Allow(s.Clock.Now()); !ok {
			secs := tenancy.RetryAfterSeconds(wait)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeError(w, errorf(http.StatusTooManyRequests, CodeRateLimited,
				"rate limit exceeded for this API key; retry after %d s", secs))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyCtx{}, key)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests logs one line per request at debug level.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.Log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		s.Log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
	})
}
