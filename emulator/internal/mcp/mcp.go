// Package mcp serves the emulator's MCP endpoint, POST /mcp: the Model
// Context Protocol over Streamable HTTP, stateless, with two tools,
// sandbox_execute and files_download, that act through the same validation
// and services as the /v1 routes (SPEC section MCP, rules MC-1 …).
//
// The protocol itself is the official Go SDK's
// (github.com/modelcontextprotocol/go-sdk). What this package adds in front
// of it is the emulator's own edge, applied before the SDK sees a request:
// DNS-rebinding protection that knows about --external-url, the control
// plane's key check and rate limit, the request-size limit, and errors in
// the /v1 envelope; and it chooses, per request, between a plain JSON
// answer and an SSE stream carrying progress notifications.
package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Path is where the endpoint is served.
const Path = "/mcp"

// ProtocolVersion is the MCP protocol version Baponi documents; initialize
// negotiates it (or an older one the client asks for).
const ProtocolVersion = "2025-11-25"

// protocolVersions are the versions initialize may negotiate, newest
// first. The SDK also knows a newer draft (2026-07-28); it is left out so
// that every client ends up on the documented version.
var protocolVersions = []string{ProtocolVersion, "2025-06-18", "2025-03-26", "2024-11-05"}

// MaxBodyBytes is the largest request body accepted, as on /v1 (SPEC E-2).
const MaxBodyBytes = 4 << 20

// Backend is the control plane the tools act through. Every method acts as
// the caller whose key authenticated the request; the key is in ctx (put
// there by Config.Authenticate). Errors that the /v1 routes would answer
// with an envelope are *Error.
type Backend interface {
	// StartExecution decodes and validates args exactly as POST
	// /v1/sandbox/execute decodes and validates its body, and starts the
	// execution (streamed: its output is followed as it comes), cancelled
	// when ctx is.
	StartExecution(ctx context.Context, args json.RawMessage, streamed bool) (Run, error)
	// Download decodes and validates args as POST /v1/files/download_url
	// does and signs a URL for the file. When the file holds at most
	// inlineMax bytes, Content holds them.
	Download(ctx context.Context, args json.RawMessage, inlineMax int64) (Download, error)
}

// Run is a started execution.
type Run interface {
	// Done is closed when the execution has finished.
	Done() <-chan struct{}
	// Result is the result; complete once Done is closed.
	Result() Result
	// Follow calls fn with every event of the execution (one JSON object:
	// {"event": "stdout"|"stderr", "data": …}, …, {"event": "result", …}),
	// those already emitted first, until the result or ctx is done.
	Follow(ctx context.Context, fn func(event []byte) error) error
}

// Result is an execution's result with the REST result's field names
// (SPEC R-1, MC-7): sandbox_execute's structuredContent.
type Result struct {
	Success    bool    `json:"success"`
	Stdout     string  `json:"stdout"`
	Stderr     string  `json:"stderr"`
	ExitCode   int     `json:"exit_code"`
	Error      *string `json:"error"`
	Status     string  `json:"status"`
	TraceID    string  `json:"trace_id"`
	DurationMS int64   `json:"duration_ms"`
}

// Download is a signed download URL (the download_url answer) and what the
// tool may show inline.
type Download struct {
	URL       string
	Method    string
	Headers   map[string]string
	ExpiresAt string
	// Size of the file in bytes.
	Size int64
	// Content is the file's bytes when it is at most the inline cap, else nil.
	Content []byte
}

// Error is an error the /v1 routes answer with their envelope: the HTTP
// status they would use, the envelope's code and its message. A tool
// reports it as a tool error (isError) reading "<code>: <message>".
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Config builds the handler.
type Config struct {
	// Backend runs the tools. Required.
	Backend Backend
	// Authenticate checks the caller's key and rate limit and puts the key
	// in the request's context; it answers 401/429 itself (SPEC A-1, E-3).
	// It runs after the host check and before anything else. Required.
	Authenticate func(http.Handler) http.Handler
	// AllowedHosts are host names (no port) that may appear in Host and
	// Origin on a loopback listener besides loopback names: the host of
	// --external-url.
	AllowedHosts []string
	// AnyHost turns the Host check off (Origin is still checked): for an
	// emulator behind a reverse proxy it trusts (--trust-forwarded-headers),
	// whose Host is whatever name the proxy serves.
	AnyHost bool
	// Version is the emulator's version, reported as serverInfo.version.
	Version string
	// Logger receives the SDK's log lines; nil discards them.
	Logger *slog.Logger
}

// handler is the /mcp endpoint.
type handler struct {
	cfg     Config
	allowed map[string]bool
	auth    http.Handler
	json    http.Handler // answers application/json
	sse     http.Handler // answers text/event-stream (progress notifications)
}

// New returns the /mcp handler.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{cfg: cfg, allowed: map[string]bool{}}
	for _, host := range cfg.AllowedHosts {
		if host != "" {
			h.allowed[strings.ToLower(host)] = true
		}
	}
	srv := newServer(cfg)
	getServer := func(*http.Request) *sdk.Server { return srv }
	opts := sdk.StreamableHTTPOptions{
		Stateless: true,
		// The host check is ours (checkOrigin), so that --external-url and
		// Origin are honoured and the refusal is enveloped.
		DisableLocalhostProtection: true,
		MaxRequestBodyBytes:        MaxBodyBytes,
		Logger:                     cfg.Logger,
	}
	jsonOpts := opts
	jsonOpts.JSONResponse = true
	h.json = sdk.NewStreamableHTTPHandler(getServer, &jsonOpts)
	h.sse = sdk.NewStreamableHTTPHandler(getServer, &opts)
	h.auth = cfg.Authenticate(http.HandlerFunc(h.serve))
	return h
}

// ServeHTTP checks the Host and Origin, then authenticates, then serves.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.checkOrigin(r); err != nil {
		writeError(w, err)
		return
	}
	h.auth.ServeHTTP(w, r)
}

type reqCtxKey struct{}

// callInfo is what the tool handlers need to know about the HTTP request
// that carried the call.
type callInfo struct {
	// ctx is the HTTP request's own context: it ends when the client goes
	// away. The SDK hands tool handlers a context that keeps the request's
	// values but not its cancellation (for protocol versions before
	// 2026-07-28), so the handlers take cancellation from here.
	ctx context.Context
	// stream is true when the answer is an SSE stream, so progress
	// notifications reach the client.
	stream bool
}

func callInfoFrom(ctx context.Context) callInfo {
	ci, _ := ctx.Value(reqCtxKey{}).(callInfo)
	if ci.ctx == nil {
		ci.ctx = ctx
	}
	return ci
}

// serve handles an authenticated request.
func (h *handler) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		// Stateless: there is no session to hold a GET stream for, and
		// nothing to DELETE (MCP transports: 405 says so).
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, &Error{http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("method %s is not allowed on %s; allowed: POST (this MCP server is stateless: no SSE stream over GET, no sessions to DELETE)", r.Method, Path)})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		got := r.Header.Get("Content-Type")
		if got == "" {
			got = "none"
		}
		writeError(w, &Error{http.StatusUnsupportedMediaType, "unsupported_media_type",
			fmt.Sprintf("Content-Type must be application/json (a JSON-RPC 2.0 message); got %s. With curl, add -H 'Content-Type: application/json'", got)})
		return
	}
	if v := r.Header.Get("Mcp-Protocol-Version"); v != "" && v < "2026-07-28" && !slices.Contains(protocolVersions, v) {
		// Newer versions are the SDK's to refuse, with a JSON-RPC error
		// that lists the supported ones (SEP-2575).
		writeError(w, &Error{http.StatusBadRequest, "validation_error",
			fmt.Sprintf("MCP-Protocol-Version %q is not supported; supported: %s", v, strings.Join(protocolVersions, ", "))})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			writeError(w, &Error{http.StatusRequestEntityTooLarge, "payload_too_large",
				fmt.Sprintf("request body exceeds the maximum of %d bytes (4 MiB)", MaxBodyBytes)})
			return
		}
		writeError(w, &Error{http.StatusBadRequest, "validation_error", fmt.Sprintf("reading the request body: %v", err)})
		return
	}
	if !json.Valid(body) {
		writeError(w, &Error{http.StatusBadRequest, "validation_error",
			"request body is not valid JSON; send one JSON-RPC 2.0 message"})
		return
	}
	jsonOK, sseOK := accepts(r.Header.Values("Accept"))
	stream := sseOK && (!jsonOK || wantsProgress(body))

	// What the SDK sees: every request as a well-behaved client sends it.
	// Sessions do not exist here, so a session id is dropped whatever the
	// SDK's compatibility settings say; Accept is what the SDK insists on,
	// the choice of answer having been made above.
	r2 := r.Clone(context.WithValue(r.Context(), reqCtxKey{}, callInfo{ctx: r.Context(), stream: stream}))
	r2.Header.Del("Mcp-Session-Id")
	r2.Header.Set("Accept", "application/json, text/event-stream")
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	if stream {
		h.sse.ServeHTTP(w, r2)
		return
	}
	h.json.ServeHTTP(w, r2)
}

// accepts reads Accept: does the client take JSON, and an SSE stream? No
// Accept at all, or one naming neither, is answered with JSON: JSON works
// for every client.
func accepts(values []string) (jsonOK, sseOK bool) {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, _, _ := strings.Cut(part, ";")
			switch strings.ToLower(strings.TrimSpace(mt)) {
			case "application/json", "application/*", "*/*":
				jsonOK = true
			case "text/event-stream":
				sseOK = true
			}
		}
	}
	if !sseOK {
		jsonOK = true
	}
	return jsonOK, sseOK
}

// wantsProgress reports whether body is a single tools/call asking for
// progress notifications (params._meta.progressToken).
func wantsProgress(body []byte) bool {
	var msg struct {
		Method string `json:"method"`
		Params struct {
			Meta struct {
				ProgressToken json.RawMessage `json:"progressToken"`
			} `json:"_meta"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Method != "tools/call" {
		return false
	}
	t := string(msg.Params.Meta.ProgressToken)
	return t != "" && t != "null"
}

// checkOrigin is the DNS-rebinding protection MCP asks of local servers: on
// a loopback listener, a Host that is not a loopback name, and anywhere an
// Origin that is neither loopback nor the request's own host, are refused
// unless the emulator was told about the host (--external-url).
func (h *handler) checkOrigin(r *http.Request) error {
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && la != nil && !h.cfg.AnyHost && isLoopback(hostOf(la.String())) {
		if host := hostOf(r.Host); !isLoopback(host) && !h.allowed[host] {
			return &Error{http.StatusForbidden, "forbidden", fmt.Sprintf(
				"Host %q is not allowed on a loopback listener (DNS-rebinding protection); connect through localhost or 127.0.0.1, or start the emulator with --external-url naming this host", r.Host)}
		}
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		host := ""
		if err == nil {
			host = strings.ToLower(u.Hostname())
		}
		if host == "" || !isLoopback(host) && !h.allowed[host] && host != hostOf(r.Host) {
			return &Error{http.StatusForbidden, "forbidden", fmt.Sprintf(
				"Origin %q is not allowed (DNS-rebinding protection); only loopback origins, the request's own host and the --external-url host are", o)}
		}
	}
	return nil
}

// hostOf returns the lower-cased host of a host[:port], without brackets.
func hostOf(hostport string) string {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	return strings.ToLower(strings.Trim(host, "[]"))
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// writeError writes the /v1 envelope (SPEC E-1).
func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{http.StatusInternalServerError, "internal_error", err.Error()}
	}
	body, _ := json.Marshal(map[string]string{"error": e.Code, "message": e.Message})
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}
