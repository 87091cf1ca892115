// Package control is where faults and the request journal meet every
// request: one middleware at the root of the emulator's handler classifies
// each request into a route name and Baponi concepts (org, key, thread or
// volume, path), asks the fault engine what should go wrong, applies it in
// the dialect of the surface that was hit, and records a journal entry.
//
// /v1 requests are classified in two steps: the root sees the route, and
// AfterAuth (mounted after authentication) adds the org, the key and the
// target the JSON body names. Storage-face requests are classified from the
// signed URL's object path. /_emulator/ requests pass untouched.
package control

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/faults"
	"github.com/localbaponi/localbaponi/emulator/internal/journal"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// ErrorWriter is implemented by storage faces that write an injected error
// in their provider's own format.
type ErrorWriter interface {
	WriteFaultError(w http.ResponseWriter, r *http.Request, status int, code, message string)
}

// Config builds a Controller.
type Config struct {
	Faults  *faults.Engine
	Journal *journal.Journal
	Clock   *clock.Clock
	// Face is the storage face's name ("gcs", "s3", "azure"); FaceErrors
	// writes its errors (nil: a generic XML error).
	Face       string
	FaceErrors ErrorWriter
	// CaptureBodies keeps /v1 request bodies (up to journal.MaxBody) in
	// the journal.
	CaptureBodies bool
	// KeyOrg returns the org of an API key, for /mcp requests, whose
	// faults are decided before the MCP server authenticates them.
	KeyOrg func(key string) (org string, ok bool)
	// WrapBody, if set, wraps every request body (the body idle timeout,
	// api.IdleBody), /_emulator/ ones too, in the one copy of the request
	// the controller makes: no layer below needs a copy of its own to
	// replace the body. w is the writer the layers below are given.
	WrapBody func(w http.ResponseWriter, body io.ReadCloser) io.ReadCloser
	// Context, if set, adds to the context of each request the controller
	// classifies what the layers below keep per request
	// (api.Server.RequestContext), in the controller's own copy of the
	// request, so that they need not copy it again.
	Context func(context.Context) context.Context
	Logger  *slog.Logger
}

// Controller is the middleware and the registry of requests in flight.
type Controller struct {
	cfg Config
	log *slog.Logger

	// gate is held shared by every request and exclusively by a reset.
	gate     sync.RWMutex
	mu       sync.Mutex
	inflight map[*call]struct{}
}

// New makes a controller.
func New(cfg Config) *Controller {
	c := &Controller{cfg: cfg, log: cfg.Logger, inflight: map[*call]struct{}{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Faults returns the fault engine.
func (c *Controller) Faults() *faults.Engine { return c.cfg.Faults }

// Journal returns the request journal.
func (c *Controller) Journal() *journal.Journal { return c.cfg.Journal }

type surface uint8

const (
	surfV1 surface = iota
	surfFace
	surfMCP
)

// call is one request on its way through.
type call struct {
	c      *Controller
	entry  journal.Entry
	began  time.Time
	w      *respWriter
	bodyIn atomic.Int64

	// The small fields together, so that a call fits a smaller size class.
	surf     surface
	rpcTool  bool // the /mcp request is a tools/call (see rpcID)
	cut      bool // close the connection after the handler (truncated upload)
	recorded bool // the journal entry is written
	aborted  atomic.Bool
	hijacked atomic.Bool

	// rpcID is the id of an /mcp JSON-RPC request (nil for a notification
	// or a body that is not one request).
	rpcID json.RawMessage

	tgt     atomic.Pointer[target] // org and thread, for a partial reset
	abortCh chan struct{}          // made on demand under c.mu; closed by abort
	// unscanned is the /v1 body whose target is yet to be learnt: from
	// the handler (Decoded), or, if it never says, by record.
	unscanned []byte

	// The call's response writer, body counter and body read ahead (peek,
	// at most once a call), allocated with it.
	rw     respWriter
	body   countBody
	replay replayBody
}

type callKey struct{}

func callFrom(ctx context.Context) *call {
	cl, _ := ctx.Value(callKey{}).(*call)
	return cl
}

// Handler wraps the emulator's root handler.
func (c *Controller) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_emulator/") || r.URL.Path == "/_emulator" {
			if c.cfg.WrapBody != nil && r.Body != nil && r.Body != http.NoBody {
				// A shallow copy: the server keeps its own request and
				// body, to tell after the handler whether the body was
				// read to its end.
				r2 := *r
				r2.Body = c.cfg.WrapBody(w, r.Body)
				r = &r2
			}
			next.ServeHTTP(w, r)
			return
		}
		c.gate.RLock()
		defer c.gate.RUnlock()
		cl := &call{c: c, began: time.Now()}
		cl.entry = journal.Entry{
			Time: c.cfg.Clock.Now(), Method: r.Method, URLPath: r.URL.Path,
			Scope: r.Header.Get(faults.ScopeHeader),
		}
		cl.surf = c.classify(r, &cl.entry)
		cl.publish()
		cl.rw = respWriter{ResponseWriter: w, cl: cl}
		rw := &cl.rw
		cl.w = rw
		ctx := context.WithValue(r.Context(), callKey{}, cl)
		if c.cfg.Context != nil {
			ctx = c.cfg.Context(ctx)
		}
		r = r.WithContext(ctx)
		if r.Body != nil && r.Body != http.NoBody {
			// r is the controller's copy: the server keeps its own body.
			cl.body = countBody{ReadCloser: r.Body, cl: cl}
			r.Body = &cl.body
			if c.cfg.WrapBody != nil {
				r.Body = c.cfg.WrapBody(rw, r.Body)
			}
		}
		c.mu.Lock()
		c.inflight[cl] = struct{}{}
		c.mu.Unlock()
		defer c.finish(cl)

		if cl.surf == surfMCP {
			c.mcpCaller(r, cl)
		}
		if cl.surf != surfV1 && c.cfg.Faults.Any() {
			var done bool
			if r, done = c.decide(rw, r, cl); done {
				return
			}
		}
		next.ServeHTTP(rw, r)
	})
}

// finish cuts a connection a fault asked to cut, and records the entry.
func (c *Controller) finish(cl *call) {
	if cl.cut && !cl.hijacked.Load() {
		c.hijack(cl, false)
	}
	c.mu.Lock()
	delete(c.inflight, cl)
	c.mu.Unlock()
	if !cl.recorded {
		c.record(cl)
	}
}

// record adds the call's journal entry.
func (c *Controller) record(cl *call) {
	cl.recorded = true
	if cl.unscanned != nil {
		cl.scanTarget(cl.unscanned)
		cl.unscanned = nil
	}
	e := &cl.entry
	switch {
	case cl.hijacked.Load():
		e.Status = 0
	case cl.w.status != 0:
		e.Status = cl.w.status
	default:
		e.Status = http.StatusOK
	}
	if cl.aborted.Load() && e.Error == "" {
		e.Error = "aborted by a reset"
	}
	e.BytesIn = cl.bodyIn.Load()
	e.BytesOut = cl.w.bytes
	e.DurationMS = float64(time.Since(cl.began).Microseconds()) / 1000
	c.cfg.Journal.Add(*e)
}

// classify names the route and, for a storage face, the target.
func (c *Controller) classify(r *http.Request, e *journal.Entry) surface {
	p := r.URL.Path
	switch {
	case p == "/v1" || strings.HasPrefix(p, "/v1/"):
		e.Route = v1Route(p)
		return surfV1
	case p == "/mcp" || strings.HasPrefix(p, "/mcp/"):
		e.Route = "mcp." + strings.ToLower(r.Method) // refined from the body by mcpCaller
		return surfMCP
	}
	switch r.Method {
	case http.MethodPut:
		e.Route = "storage.put"
	case http.MethodGet, http.MethodHead:
		e.Route = "storage.get"
	default:
		e.Route = "storage." + strings.ToLower(r.Method)
	}
	rest := strings.TrimPrefix(p, "/")
	if c.cfg.Face == "azure" {
		_, rest, _ = strings.Cut(rest, "/") // the account
	}
	_, key, _ := strings.Cut(rest, "/") // the bucket or container
	if sp, path, err := store.ParseObjectKey(key); err == nil {
		e.Org, e.Source, e.ID, e.Path = sp.Org, string(sp.Kind), sp.ID, path
	}
	return surfFace
}

func v1Route(p string) string {
	switch p {
	case "/v1/files/list":
		return "files.list"
	case "/v1/files/upload_url":
		return "files.upload_url"
	case "/v1/files/download_url":
		return "files.download_url"
	case "/v1/files":
		return "files.delete"
	case "/v1/sandbox/execute":
		return "sandbox.execute"
	}
	if rest, ok := strings.CutPrefix(p, "/v1/executions/"); ok && rest != "" {
		if strings.HasSuffix(rest, "/output") {
			return "executions.output"
		}
		if !strings.Contains(rest, "/") {
			return "executions.get"
		}
	}
	return ""
}

// request is what the fault engine matches.
func (cl *call) request() faults.Request {
	e := &cl.entry
	req := faults.Request{Route: e.Route, Method: e.Method, Org: e.Org, KeyID: e.KeyID, Path: e.Path, Scope: e.Scope}
	switch e.Source {
	case string(store.Thread):
		req.ThreadID = e.ID
	case string(store.Volume):
		req.VolumeID = e.ID
	}
	return req
}

// Authenticated tells the call in ctx who the caller is; the API key is
// turned into its key id here and not kept.
func Authenticated(ctx context.Context, org, key string) {
	if cl := callFrom(ctx); cl != nil {
		cl.entry.Org = org
		cl.entry.KeyID = faults.KeyID(key)
	}
}

// Target tells the call in ctx what it is about, for layers (MCP) that
// know it better than the HTTP request does.
func Target(ctx context.Context, route, source, id, path string) {
	if cl := callFrom(ctx); cl != nil {
		if route != "" {
			cl.entry.Route = route
		}
		cl.entry.Source, cl.entry.ID, cl.entry.Path = source, id, path
	}
}

// sleep waits d unless ctx ends or a reset aborts the call first.
func (cl *call) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	c := cl.c
	c.mu.Lock()
	if cl.abortCh == nil {
		cl.abortCh = make(chan struct{})
		if cl.aborted.Load() {
			close(cl.abortCh)
		}
	}
	abort := cl.abortCh
	c.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-abort:
	}
	return false
}

// mcpCaller classifies an /mcp request: its route and target from the
// JSON-RPC body, its org and key id from the Bearer key.
func (c *Controller) mcpCaller(r *http.Request, cl *call) {
	if r.Method == http.MethodPost && r.Body != nil && r.Body != http.NoBody {
		cl.peek(r, false)
	}
	if c.cfg.KeyOrg != nil {
		if scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
			token = strings.TrimSpace(token)
			if org, ok := c.cfg.KeyOrg(token); ok {
				cl.entry.Org, cl.entry.KeyID = org, faults.KeyID(token)
			}
		}
	}
	cl.publish()
}
