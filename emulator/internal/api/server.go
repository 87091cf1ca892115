// Package api is the emulator's control plane: the /v1 routes of the Files
// API (and execute), the /_emulator admin routes, auth, validation and the
// error envelope. Every other request goes to the storage face.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/control"
	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/faults"
	"github.com/localbaponi/localbaponi/emulator/internal/journal"
	"github.com/localbaponi/localbaponi/emulator/internal/mcp"
	"github.com/localbaponi/localbaponi/emulator/internal/reqlog"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/tenancy"
)

// Server is the control plane. Set its fields (Tenants, Store, Clock and Face
// are required) and serve what Handler returns.
type Server struct {
	Tenants *tenancy.Registry
	Store   store.Backend
	Clock   *clock.Clock
	Face    face.Face
	Log     *slog.Logger
	// Info is merged into GET /_emulator/info (version, isolation, ...).
	Info func() map[string]any
	// Version is the version /mcp reports; "" means Info()["version"].
	// Setting it keeps Handler from calling Info, which probes the
	// sandbox (its first use): Start stays quick.
	Version string
	// AdminToken, if set, is required as a Bearer token on /_emulator/
	// routes other than health.
	AdminToken string
	// Exec is the execution service; nil when execute is not available.
	Exec Executor
	// Faults, Journal and State serve /_emulator/{faults,requests,reset,
	// snapshot}; nil leaves those routes out.
	Faults  *faults.Engine
	Journal *journal.Journal
	State   StateControl
	// RequestURLs makes signed URLs, and URLs in responses, start with the
	// scheme and host of the request they answer, instead of the face's
	// configured base URL (which stays the fallback for a request without
	// a usable Host). Set it unless an external URL was configured.
	RequestURLs bool
	// TrustForwardedHeaders takes the client's host and scheme from
	// X-Forwarded-Host and X-Forwarded-Proto, as set by a reverse proxy in
	// front of the emulator. Off, both headers are ignored.
	TrustForwardedHeaders bool
	// MCPAllowedHosts are host names besides loopback ones that /mcp
	// accepts in Host and Origin on a loopback listener (DNS-rebinding
	// protection): the host of --external-url.
	MCPAllowedHosts []string

	// lastBase is the base URL of the last request (requestBase).
	lastBase atomic.Pointer[url.URL]
}

// Handler returns the root handler: /v1, /_emulator and the face.
func (s *Server) Handler() http.Handler {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	r := mux.NewRouter()
	r.StrictSlash(false)
	r.SkipClean(true) // never redirect; guardPaths answers unclean paths (paths.go)
	v1 := r.PathPrefix("/v1/").Subrouter()
	v1.Use(s.authenticate, control.AfterAuth)
	// The Files API routes are also reached without the router's matching
	// (regular expressions and two copies of the request per call): see
	// dispatch.
	hot := map[string]http.Handler{}
	for path, hs := range map[string]routes{
		"/files/list":         {http.MethodPost: s.handleList},
		"/files/upload_url":   {http.MethodPost: s.handleUploadURL},
		"/files/download_url": {http.MethodPost: s.handleDownloadURL},
		"/files":              {http.MethodDelete: s.handleDelete},
	} {
		h := methods(v1, path, hs)
		hot["/v1"+path] = s.authenticate(control.AfterAuth(h))
	}
	s.executeRoutes(v1)
	v1.PathPrefix("/").Handler(noRoute("no route"))
	r.Path("/v1").Handler(noRoute("no route"))

	admin := r.PathPrefix("/_emulator/").Subrouter()
	s.adminRoutes(admin)
	admin.PathPrefix("/").Handler(noRoute("no admin route"))

	r.Path(mcp.Path).Handler(s.mcpHandler())

	faceOrNone := s.faceOrNoRoute()
	r.PathPrefix("/").Handler(faceOrNone)
	return recoverer(s.Log, s.logRequests(s.requestBase(s.guardPaths(s.dispatch(r, hot, faceOrNone)))))
}

// dispatch sends the requests that need no matching straight to their
// handlers, as the router would send them: an exact Files API path to its
// route (through the /v1 middleware), and a path in the face's bucket to
// the face (the router's last, catch-all route; no earlier route takes a
// bucket path). Everything else goes through the router.
func (s *Server) dispatch(r *mux.Router, hot map[string]http.Handler, faceOrNone http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := req.URL.Path
		if h, ok := hot[p]; ok {
			h.ServeHTTP(w, req)
			return
		}
		if s.facePath(p) && !routedPrefix(p) {
			faceOrNone.ServeHTTP(w, req)
			return
		}
		r.ServeHTTP(w, req)
	})
}

// routedPrefix reports whether the router has a route of its own for p,
// before its catch-all one.
func routedPrefix(p string) bool {
	return p == "/v1" || strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/_emulator/") || p == mcp.Path
}

// noRoute answers 404 for any request under a prefix that has no route for
// it; what says which part of the API it missed.
func noRoute(what string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return notFoundf("%s %s %s", what, r.Method, r.URL.Path)
	}
}

// routes are the handlers of one path by method.
type routes map[string]handlerFunc

// methods registers a path whose handlers differ by method; any other
// method gets 405 method_not_allowed with Allow (SPEC E-2). It returns the
// handler it registered.
func methods(r *mux.Router, path string, hs routes) http.Handler {
	allowed := make([]string, 0, len(hs))
	for m := range hs {
		allowed = append(allowed, m)
	}
	sort.Strings(allowed)
	allow := strings.Join(allowed, ", ")
	h := handlerFunc(func(w http.ResponseWriter, req *http.Request) error {
		h, ok := hs[req.Method]
		if !ok {
			return errMethodNotAllowed(req.Method, path, allow)
		}
		return h(w, req)
	})
	r.Path(path).Handler(h)
	return h
}

// keyFrom returns the authenticated caller's key (set by authenticate).
func keyFrom(ctx context.Context) *tenancy.Key {
	if i := infoFrom(ctx); i != nil {
		return i.key
	}
	return nil
}

// authenticate checks the Bearer key (SPEC A-1) and the key's rate limit
// (SPEC E-3), on the emulator clock, and puts the key in the request's
// reqInfo.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		key, err := s.caller(r)
		if err != nil {
			return err
		}
		if i := infoFrom(r.Context()); i != nil {
			i.key = key
		} else { // not under requestBase
			i = &reqInfo{base: face.BaseURL(r.Context()), key: key}
			r = r.WithContext(face.WithRequestInfo(r.Context(), i))
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

// caller returns the key that r authenticates with, if it is valid and
// within its rate limit.
func (s *Server) caller(r *http.Request) (*tenancy.Key, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, unauthorized("missing Authorization header; send Authorization: Bearer <api key>")
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, unauthorized("Authorization header must be 'Bearer <api key>'")
	}
	key, ok := s.Tenants.Authenticate(strings.TrimSpace(token))
	if !ok {
		return nil, unauthorized("invalid or revoked API key")
	}
	control.Authenticated(r.Context(), key.Org, key.Token)
	if ok, wait := key.Allow(s.Clock.Now()); !ok {
		return nil, errRateLimited(tenancy.RetryAfterSeconds(wait))
	}
	return key, nil
}

// logRequests logs one line per request at debug level.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.Log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := reqlog.NewRecorder(w)
		next.ServeHTTP(rec, r)
		s.Log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.StatusOr200(), "duration", time.Since(start))
	})
}
