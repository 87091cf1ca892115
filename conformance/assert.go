package conformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Requests a check sends, and the assertions on what comes back. Every
// assertion fails the check with what it expected, what it saw and the
// request as a reproducer.

// send performs q and remembers it; a transport error fails the check.
func (c *checkRun) send(q *request) *Response {
	r := c.rs.cl.do(c.ctx, q)
	c.last = r
	c.record(r)
	if r.Err != nil {
		c.fail(r, "an HTTP response", r.Err.Error(), "%s %s: %v", q.Method, q.URL, r.Err)
	}
	return r
}

// api sends a control-plane request with the given key (nil: no auth).
func (c *checkRun) api(method, path string, key *keyRef, body any) *Response {
	return c.send(c.rs.cl.api(method, path, key, body))
}

// call sends a control-plane request with the organisation's key.
func (c *checkRun) call(method, path string, body any) *Response {
	return c.api(method, path, &c.rs.key, body)
}

// key returns the organisation's key; other the second organisation's.
func (c *checkRun) key() *keyRef   { k := c.rs.key; return &k }
func (c *checkRun) other() *keyRef { k := c.rs.other; return &k }

// status requires one of the statuses.
func (c *checkRun) status(r *Response, want ...int) {
	if slices.Contains(want, r.Status) {
		return
	}
	exp := make([]string, len(want))
	for i, w := range want {
		exp[i] = "HTTP " + strconv.Itoa(w)
	}
	c.fail(r, strings.Join(exp, " or "), r.Summary(), "%s %s: want %s, got %s", r.Req.Method, r.Req.URL, strings.Join(exp, " or "), r.Summary())
}

// ok requires 200.
func (c *checkRun) ok(r *Response) { c.status(r, http.StatusOK) }

// wantError requires status and the envelope's error code.
func (c *checkRun) wantError(r *Response, status int, code string) {
	want := fmt.Sprintf("HTTP %d with error %q", status, code)
	if r.Status != status || errorCode(r) != code {
		c.fail(r, want, r.Summary(), "%s %s: want %s, got %s", r.Req.Method, r.Req.URL, want, r.Summary())
	}
}

// refused requires a 4xx status: what DOC asks of anything the service must not do.
func (c *checkRun) refused(r *Response) {
	if r.Status < 400 || r.Status > 499 {
		c.fail(r, "HTTP 4xx", r.Summary(), "%s %s: want a 4xx refusal, got %s", r.Req.Method, r.Req.URL, r.Summary())
	}
}

// envelope requires the E-1 shape: JSON {"error": code, "message": text},
// Content-Type application/json, and the code that belongs to the status.
func (c *checkRun) envelope(r *Response) {
	want := `Content-Type application/json and body {"error": "<code>", "message": "<text>"}`
	if mt := r.MediaType(); mt != "application/json" {
		c.fail(r, want, r.Summary(), "error response has Content-Type %q, want application/json", r.Header.Get("Content-Type"))
	}
	var env map[string]any
	if err := json.Unmarshal(r.Body, &env); err != nil {
		c.fail(r, want, r.Summary(), "error body is not a JSON object: %v", err)
	}
	code, ok := env["error"].(string)
	if !ok || code == "" {
		c.fail(r, want, r.Summary(), `error body has no string "error" field`)
	}
	msg, ok := env["message"].(string)
	if !ok || strings.TrimSpace(msg) == "" {
		c.fail(r, want, r.Summary(), `error body has no non-empty string "message" field`)
	}
	if wantCode, known := statusCodes[r.Status]; known && code != wantCode {
		c.fail(r, fmt.Sprintf("error %q for HTTP %d", wantCode, r.Status), r.Summary(), "HTTP %d carries error %q, want %q", r.Status, code, wantCode)
	}
}

// statusCodes are the envelope codes of E-1.
var statusCodes = map[int]string{
	400: "validation_error", 401: "unauthorized", 403: "forbidden",
	404: "not_found", 409: "conflict", 429: "rate_limited",
}

// messageHas requires the envelope's message to contain every word (case-insensitively).
func (c *checkRun) messageHas(r *Response, words ...string) {
	msg := errorMessage(r)
	for _, w := range words {
		if !strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
			c.fail(r, fmt.Sprintf("message naming %q", w), msg, "error message %q does not mention %q", msg, w)
		}
	}
}

// claim is what a check expects, what it saw, and what it means when the
// two differ: the report's expected, actual and message.
type claim struct {
	want string // what the rule asks for
	got  string // what the target did
	why  string // the failure in one sentence
}

// expect fails the check with cl unless cond holds; r is the reproducer
// (may be nil).
func (c *checkRun) expect(r *Response, cond bool, cl claim) {
	if !cond {
		c.fail(r, cl.want, cl.got, "%s", cl.why)
	}
}

// equal fails the check unless got == want; what names the value.
func equal[T comparable](c *checkRun, r *Response, what string, got, want T) {
	if got != want {
		c.fail(r, fmt.Sprintf("%v", want), fmt.Sprintf("%v", got), "%s: got %q, want %q", what, fmt.Sprint(got), fmt.Sprint(want))
	}
}

// listed fails the check unless xs holds x (listed) or does not (unlisted).
func (c *checkRun) listed(r *Response, what string, xs []string, x string) {
	if !slices.Contains(xs, x) {
		c.fail(r, x+" listed", fmt.Sprint(xs), "%s: %q is not listed", what, x)
	}
}

func (c *checkRun) unlisted(r *Response, what string, xs []string, x string) {
	if slices.Contains(xs, x) {
		c.fail(r, x+" not listed", fmt.Sprint(xs), "%s: %q is listed", what, x)
	}
}
