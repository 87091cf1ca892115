package control

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/localbaponi/localbaponi/emulator/internal/faults"
	"github.com/localbaponi/localbaponi/emulator/internal/flatjson"
	"github.com/localbaponi/localbaponi/emulator/internal/journal"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// peekMax bounds how much of a /v1 body is read ahead to learn its target:
// the API refuses bodies over 4 MiB anyway.
const peekMax = 4<<20 + 1

// AfterAuth is the /v1 half of the middleware, mounted after
// authentication: it reads the JSON body's target (source, id, path or
// thread_id) for the journal and the fault rules, keeps the body when
// capture is on, and applies the faults that match.
func AfterAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cl := callFrom(r.Context())
		if cl == nil {
			next.ServeHTTP(w, r)
			return
		}
		c := cl.c
		faulty := c.cfg.Faults.Any()
		if r.Body != nil && r.Body != http.NoBody {
			// With no fault rule nothing needs the target before the
			// handler runs: the handler tells it (Decoded) from its own
			// decoding, and a body it does not decode is scanned when the
			// entry is recorded.
			cl.peek(r, !faulty)
		}
		cl.publish()
		if faulty {
			var done bool
			if r, done = c.decide(w, r, cl); done {
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// replayBody gives the handler the bytes read ahead, then the rest.
type replayBody struct {
	io.Reader
	io.Closer
	// whole is the entire body when the read-ahead reached its end; ahead
	// reads it.
	whole []byte
	ahead *bytes.Reader
	buf   bytes.Reader // what ahead points to
}

// WholeBody returns the entire body, if it was read ahead whole and nothing
// of it has been read since, and consumes it: the handler decodes the bytes
// already in memory instead of reading them again.
func (b *replayBody) WholeBody() ([]byte, bool) {
	if b.whole == nil || b.ahead.Len() != len(b.whole) {
		return nil, false
	}
	b.ahead.Reset(nil)
	return b.whole, true
}

// peek reads the body ahead (replayBody) and learns its target from it;
// with lazy, it keeps the bytes for Decoded or record to learn it from.
func (cl *call) peek(r *http.Request, lazy bool) {
	buf, err := readAhead(r.Body, r.ContentLength)
	rb := &cl.replay // allocated with the call, its reader inside
	*rb = replayBody{Closer: r.Body}
	rb.buf.Reset(buf)
	ahead := &rb.buf
	rb.Reader = ahead
	if err != nil || len(buf) == peekMax {
		// Let the handler see the same stream (and fail as it would).
		rb.Reader = io.MultiReader(ahead, errReader{err: err, r: r.Body})
	} else {
		rb.whole, rb.ahead = buf, ahead
	}
	r.Body = rb
	if err == nil && len(buf) < peekMax && cl.surf == surfMCP {
		cl.mcpTarget(buf)
	} else if err == nil && len(buf) < peekMax {
		if lazy {
			cl.unscanned = buf
		} else {
			cl.scanTarget(buf)
		}
	}
	if cl.c.cfg.CaptureBodies {
		n := min(len(buf), journal.MaxBody)
		cl.entry.Body = string(buf[:n])
		cl.entry.BodyTruncated = len(buf) > n
	}
}

// scanTarget learns the call's target from its whole /v1 body, as
// json.Unmarshal would decode it.
func (cl *call) scanTarget(buf []byte) {
	var t peekTarget
	if !t.scan(buf) {
		t = peekTarget{}
		_ = json.Unmarshal(buf, &t) // what fails to decode is the handler's to report
	}
	cl.setTarget(t)
}

// setTarget puts in the entry what the route takes of a body's target: an
// execution's thread, or the thread or volume and path of a Files API call.
func (cl *call) setTarget(t peekTarget) {
	e := &cl.entry
	if e.Route == "sandbox.execute" {
		if t.ThreadID != "" {
			e.Source, e.ID = string(store.Thread), t.ThreadID
		}
	} else if t.Source == string(store.Thread) || t.Source == string(store.Volume) {
		e.Source, e.ID, e.Path = t.Source, t.ID, t.Path
	}
}

// Decoded tells the call in ctx what its handler decoded from its /v1
// body: the target the journal would otherwise scan the body for. The
// handler calls it once its body decoded as a whole (a body that does not
// decode is scanned as before when the entry is recorded), with source, id
// and path, or thread_id, as the body gave them. It does nothing unless the
// body's scan was left to it (no fault rule was set when the call began:
// rules need the target before the handler runs).
func Decoded(ctx context.Context, source, id, path, threadID string) {
	cl := callFrom(ctx)
	if cl == nil || cl.unscanned == nil {
		return
	}
	cl.unscanned = nil
	cl.setTarget(peekTarget{Source: source, ID: id, Path: path, ThreadID: threadID})
	cl.publish()
}

// peekTarget is what the journal and the fault rules take from a /v1 body.
type peekTarget struct {
	Source   string `json:"source"`
	ID       string `json:"id"`
	Path     string `json:"path"`
	ThreadID string `json:"thread_id"`
}

// scan fills t from a flat body (flatjson) as json.Unmarshal would, without
// its cost, and reports whether it could; else json.Unmarshal decides. It
// gives up on anything where the two could differ: a key that matches a
// field only when case is folded (json.Unmarshal would take it), a key that
// is not ASCII, a non-string value for a field.
func (t *peekTarget) scan(buf []byte) bool {
	var text string // one copy of a small buf backs every field
	const sharedCopyMax = 1 << 10
	return flatjson.Scan(buf, func(key []byte, v flatjson.Value) bool {
		var f *string
		switch string(key) {
		case "source":
			f = &t.Source
		case "id":
			f = &t.ID
		case "path":
			f = &t.Path
		case "thread_id":
			f = &t.ThreadID
		default:
			for _, c := range key {
				if c >= 0x80 {
					return false
				}
			}
			for _, name := range [...]string{"source", "id", "path", "thread_id"} {
				if strings.EqualFold(name, string(key)) {
					return false
				}
			}
			return true
		}
		switch v.Kind {
		case flatjson.String:
			// A later duplicate wins, as in json.Unmarshal.
			if len(buf) > sharedCopyMax {
				*f = string(v.Str) // the journal keeps it: never pin a big body
				break
			}
			if text == "" {
				text = string(buf)
			}
			off := cap(buf) - cap(v.Str) // v.Str is a slice of buf
			*f = text[off : off+len(v.Str)]
		case flatjson.Null:
		default:
			return false
		}
		return true
	})
}

// readAhead reads up to peekMax bytes of body, as io.ReadAll of a
// LimitReader does, into a buffer of the declared length (and one byte
// more, to see the end) when there is one: a small body is one small
// allocation instead of io.ReadAll's 512 bytes.
func readAhead(body io.Reader, declared int64) ([]byte, error) {
	n := int64(512)
	if declared >= 0 && declared < peekMax {
		n = declared + 1
	}
	buf := make([]byte, 0, n)
	for len(buf) < peekMax {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow, as io.ReadAll does
		}
		m, err := body.Read(buf[len(buf):min(cap(buf), peekMax)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

type errReader struct {
	err error
	r   io.Reader
}

func (e errReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return e.r.Read(p)
}

// decide asks the engine and applies what it says. It returns the request
// to serve on and whether the request has been answered (or cut) already.
func (c *Controller) decide(w http.ResponseWriter, r *http.Request, cl *call) (*http.Request, bool) {
	dec := c.cfg.Faults.Decide(cl.request())
	if dec == nil {
		return r, false
	}
	cl.entry.FaultID = dec.RuleID
	if !cl.sleep(r.Context(), dec.Latency) {
		cl.entry.Error = "ended during injected latency"
		return r, true
	}
	switch dec.Network {
	case "reset":
		cl.entry.Error = "connection reset by fault " + dec.RuleID
		c.hijack(cl, true)
		return r, true
	case "close":
		cl.entry.Error = "connection closed by fault " + dec.RuleID
		c.hijack(cl, false)
		return r, true
	}
	w.Header().Set(faults.FiredHeader, dec.RuleID)
	if e := dec.Error; e != nil {
		c.writeError(w, r, cl, dec.RuleID, e)
		return r, true
	}
	if b := dec.Body; b != nil {
		sh := &shaper{a: b, c: c, cl: cl, ctx: r.Context()}
		if cl.entry.Route == "storage.put" {
			r.Body = &shapedBody{ReadCloser: r.Body, sh: sh}
		} else {
			cl.w.shape = sh
		}
	}
	if x := dec.Execute; x != nil {
		r = r.WithContext(faults.WithForcedStatus(r.Context(), x.Status))
	}
	return r, false
}

// hijack takes the connection over and closes it: with rst, SO_LINGER 0
// makes the close a TCP RST; else the peer sees a plain end of stream after
// whatever was already written.
func (c *Controller) hijack(cl *call, rst bool) {
	rc := http.NewResponseController(cl.w.ResponseWriter)
	if !rst && cl.w.status != 0 {
		// Hijack flushes the header but drops bytes still in the
		// response's buffer: flush them first.
		_ = rc.Flush()
	}
	conn, buf, err := rc.Hijack()
	if err != nil {
		c.log.Warn("fault: cannot take over the connection", "err", err, "path", cl.entry.URLPath)
		panic(http.ErrAbortHandler)
	}
	cl.hijacked.Store(true)
	if !rst && buf != nil {
		_ = buf.Flush()
	}
	if tc, ok := conn.(*net.TCPConn); ok && rst {
		_ = tc.SetLinger(0)
	}
	// The entry is in the journal before the client sees the connection end.
	c.record(cl)
	_ = conn.Close()
}

// writeError answers in the dialect of the surface.
func (c *Controller) writeError(w http.ResponseWriter, r *http.Request, cl *call, id string, e *faults.ErrorAction) {
	if e.RetryAfter != nil {
		secs := int64(math.Ceil(e.RetryAfter.D().Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	msg := e.Message
	if msg == "" {
		msg = "injected by fault rule " + id
	}
	if cl.surf == surfFace {
		code := providerCode(c.cfg.Face, e.Status, e.Code)
		if c.cfg.FaceErrors != nil {
			c.cfg.FaceErrors.WriteFaultError(w, r, e.Status, code, msg)
			return
		}
		genericXML(w, r, e.Status, code, msg)
		return
	}
	code := e.Code
	if code == "" {
		code = envelopeCode(e.Status)
	}
	// /mcp answers 401 and 429 over HTTP before any JSON-RPC (as the real
	// endpoint does); any other failure reaches the client in JSON-RPC.
	if cl.surf == surfMCP && cl.rpcID != nil && e.Status != http.StatusUnauthorized && e.Status != http.StatusTooManyRequests {
		writeRPCError(w, cl, e.Status, code, msg)
		return
	}
	body, _ := json.Marshal(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{code, msg})
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// writeRPCError answers an /mcp request as the endpoint does when the API
// behind a tool fails: a tool call gets a tool result with isError and the
// text "<code>: <message>" (SPEC MC-8), any other method a JSON-RPC error
// (-32603, internal error) whose data holds the status and the envelope.
func writeRPCError(w http.ResponseWriter, cl *call, status int, code, msg string) {
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type result struct {
		Content []text `json:"content"`
		IsError bool   `json:"isError"`
	}
	type rpcErr struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    any    `json:"data"`
	}
	out := struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Result  *result         `json:"result,omitempty"`
		Error   *rpcErr         `json:"error,omitempty"`
	}{JSONRPC: "2.0", ID: cl.rpcID}
	if cl.rpcTool {
		out.Result = &result{Content: []text{{"text", code + ": " + msg}}, IsError: true}
	} else {
		out.Error = &rpcErr{Code: -32603, Message: code + ": " + msg, Data: map[string]any{
			"status": status, "error": code, "message": msg}}
	}
	body, _ := json.Marshal(out)
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func envelopeCode(status int) string {
	switch status {
	case 400:
		return "validation_error"
	case 401:
		return "unauthorized"
	case 403:
		return "forbidden"
	case 404:
		return "not_found"
	case 409:
		return "conflict"
	case 429:
		return "rate_limited"
	case 503:
		return "service_unavailable"
	}
	if status >= 500 {
		return "internal_error"
	}
	return "error"
}

// providerCode is the error code a face answers with: the rule's code when
// it is in the provider's CamelCase, else the provider's usual code for
// the status.
func providerCode(face string, status int, code string) string {
	if code != "" && code[0] >= 'A' && code[0] <= 'Z' {
		return code
	}
	azure := face == "azure"
	switch status {
	case 400:
		if azure {
			return "InvalidInput"
		}
		return "InvalidArgument"
	case 403:
		if azure {
			return "AuthorizationFailure"
		}
		return "AccessDenied"
	case 404:
		if azure {
			return "BlobNotFound"
		}
		return "NoSuchKey"
	case 408:
		if azure {
			return "OperationTimedOut"
		}
		return "RequestTimeout"
	case 409:
		if azure {
			return "BlobAlreadyExists"
		}
		return "Conflict"
	case 429:
		if azure {
			return "ServerBusy"
		}
		return "SlowDown"
	case 500:
		return "InternalError"
	case 503:
		if azure {
			return "ServerBusy"
		}
		if face == "s3" {
			return "SlowDown"
		}
		return "ServiceUnavailable"
	}
	if azure {
		return "InternalError"
	}
	return "InternalError"
}

func genericXML(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	body, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
	}{Code: code, Message: msg})
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// errTruncated ends a transfer a fault truncated.
var errTruncated = errors.New("transfer truncated by a fault rule")

// errAborted ends a transfer that a reset (or the client) aborted.
var errAborted = errors.New("transfer aborted")

// publish makes the call's org and thread visible to a partial reset.
func (cl *call) publish() {
	t := target{org: cl.entry.Org}
	if cl.entry.Source == string(store.Thread) {
		t.thread = cl.entry.ID
	}
	// belongs never matches org "": no target is the same as an empty one.
	if cur := cl.tgt.Load(); cur == nil && t.org == "" || cur != nil && *cur == t {
		return
	}
	nt := t // only a target that is stored goes to the heap
	cl.tgt.Store(&nt)
}

type target struct{ org, thread string }

// mcpTarget names an MCP call's route from its JSON-RPC body: a tool call
// is "mcp." and the tool's name (mcp.files_list), any other method "mcp."
// and the method (mcp.initialize); the tool's arguments give the target.
func (cl *call) mcpTarget(buf []byte) {
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Name      string `json:"name"`
			Arguments struct {
				Source   string `json:"source"`
				ID       string `json:"id"`
				Path     string `json:"path"`
				ThreadID string `json:"thread_id"`
			} `json:"arguments"`
		} `json:"params"`
	}
	if json.Unmarshal(buf, &msg) != nil || msg.Method == "" {
		return
	}
	e := &cl.entry
	e.Route = "mcp." + msg.Method
	if msg.Method == "tools/call" && msg.Params.Name != "" {
		e.Route = "mcp." + msg.Params.Name
	}
	if len(msg.ID) > 0 && string(msg.ID) != "null" {
		cl.rpcID, cl.rpcTool = msg.ID, msg.Method == "tools/call"
	}
	a := msg.Params.Arguments
	switch {
	case a.Source == string(store.Thread) || a.Source == string(store.Volume):
		e.Source, e.ID, e.Path = a.Source, a.ID, a.Path
	case a.ThreadID != "":
		e.Source, e.ID = string(store.Thread), a.ThreadID
	}
}
