package api

// The dashboard (issue 15): static files embedded in the binary under
// /_emulator/ui/, and GET /_emulator/orgs, which tells the page each
// organisation's keys (the page calls /v1 with one, as a client would),
// volumes and threads.

import (
	"embed"
	"io/fs"
	"net/http"
	"slices"

	"github.com/gorilla/mux"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

//go:embed ui
var uiFiles embed.FS

// UIPath is where the dashboard is served.
const UIPath = "/_emulator/ui/"

// uiRoutes registers the dashboard and its admin endpoint on the admin
// router. The static files carry no data and are served without the admin
// token (a browser cannot send it on navigation); everything they show is
// fetched from token-protected routes.
func (s *Server) uiRoutes(r *mux.Router) {
	methods(r, "/orgs", routes{http.MethodGet: s.handleOrgs})
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix(UIPath, http.FileServerFS(sub))
	r.PathPrefix("/ui/").Handler(handlerFunc(func(w http.ResponseWriter, req *http.Request) error {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			return errorf(CodeMethodNotAllowed, "%s is not allowed on the dashboard's files", req.Method)
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src *; img-src 'self' data:")
		files.ServeHTTP(w, req)
		return nil
	}))
	r.Path("/ui").Handler(http.RedirectHandler(UIPath, http.StatusFound))
}

// orgJSON is one organisation as the dashboard sees it.
type orgJSON struct {
	ID      string   `json:"id"`
	Keys    []string `json:"keys"`
	Volumes []any    `json:"volumes"`
	Threads []string `json:"threads"`
}

// handleOrgs is GET /_emulator/orgs: every organisation with its active
// keys, its volumes and the threads that hold files.
func (s *Server) handleOrgs(w http.ResponseWriter, r *http.Request) error {
	byOrg := map[string]*orgJSON{}
	var out []*orgJSON
	for _, id := range s.Tenants.Orgs() {
		o := &orgJSON{ID: id, Keys: []string{}, Volumes: []any{}, Threads: []string{}}
		for _, v := range s.Tenants.Volumes(id) {
			o.Volumes = append(o.Volumes, v)
		}
		byOrg[id] = o
		out = append(out, o)
	}
	for _, k := range s.Tenants.Keys() {
		if o := byOrg[k.Org]; o != nil && !k.Revoked {
			o.Keys = append(o.Keys, k.Key)
		}
	}
	spaces, err := s.Store.Spaces("")
	if err != nil {
		return err
	}
	for _, sp := range spaces {
		if o := byOrg[sp.Org]; o != nil && sp.Kind == store.Thread {
			o.Threads = append(o.Threads, sp.ID)
		}
	}
	for _, o := range out {
		slices.Sort(o.Threads)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"orgs": out})
}
