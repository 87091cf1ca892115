package api

// The dashboard (issue 15): static files embedded in the binary under
// /_emulator/ui/, and GET /_emulator/orgs, which tells the page each
// organisation's keys (the page calls /v1 with one, as a client would),
// volumes and threads.

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

//go:embed ui
var uiFiles embed.FS

// UIPath is where the dashboard is served.
const UIPath = "/_emulator/ui/"

// uiAsset is one file of the dashboard, ready to serve.
type uiAsset struct {
	body        []byte
	etag        string
	contentType string
}

// uiStylesheet is the link that index.html has in the tree and that the
// served page has replaced by the stylesheet itself, so the first paint
// waits for no second request.
const uiStylesheet = `<link rel="stylesheet" href="style.css">`

// loadUIAssets reads the embedded files once: index.html with the
// stylesheet inlined, each with a strong ETag from its content, and the
// Content-Security-Policy that allows exactly that inline stylesheet.
func loadUIAssets() (map[string]uiAsset, string) {
	read := func(name string) []byte {
		b, err := uiFiles.ReadFile("ui/" + name)
		if err != nil {
			panic(err) // the embedded tree is fixed at build time
		}
		return b
	}
	css := read("style.css")
	page := read("index.html")
	if !bytes.Contains(page, []byte(uiStylesheet)) {
		panic("ui/index.html lost its stylesheet link")
	}
	page = bytes.Replace(page, []byte(uiStylesheet), slices.Concat([]byte("<style>"), css, []byte("</style>")), 1)
	cssHash := sha256.Sum256(css)
	csp := "default-src 'self'; connect-src *; img-src 'self' data:; style-src 'self' 'sha256-" +
		base64.StdEncoding.EncodeToString(cssHash[:]) + "'"
	assets := map[string]uiAsset{}
	for name, a := range map[string]struct {
		body  []byte
		ctype string
	}{
		"":          {page, "text/html; charset=utf-8"},
		"app.js":    {read("app.js"), "text/javascript; charset=utf-8"},
		"style.css": {css, "text/css; charset=utf-8"},
	} {
		sum := sha256.Sum256(a.body)
		assets[name] = uiAsset{body: a.body, contentType: a.ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	return assets, csp
}

// uiRoutes registers the dashboard and its admin endpoints on the admin
// router. The static files carry no data and are served without the admin
// token (a browser cannot send it on navigation); everything they show is
// fetched from token-protected routes.
func (s *Server) uiRoutes(r *mux.Router) {
	methods(r, "/orgs", routes{http.MethodGet: s.handleOrgs})
	methods(r, "/files", routes{http.MethodGet: s.handleAdminFiles})
	methods(r, "/executions", routes{http.MethodGet: s.handleAdminExecutions})
	assets, csp := loadUIAssets()
	r.PathPrefix("/ui/").Handler(handlerFunc(func(w http.ResponseWriter, req *http.Request) error {
		name := strings.TrimPrefix(req.URL.Path, UIPath)
		if name == "index.html" {
			name = ""
		}
		a, ok := assets[name]
		if !ok {
			return notFoundf("the dashboard has no file %q", name)
		}
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			return errorf(CodeMethodNotAllowed, "%s is not allowed on the dashboard's files", req.Method)
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("ETag", a.etag) // ServeContent answers If-None-Match with 304
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", csp)
		http.ServeContent(w, req, name, time.Time{}, bytes.NewReader(a.body))
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
