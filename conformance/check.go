package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL reads best unqualified
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
)

// Status of a check in the reports.
const (
	StatusPassed   = "passed"
	StatusFailed   = "failed"
	StatusSkipped  = "skipped"
	StatusObserved = "observed"
)

// capability is something a check needs from the target or the config.
type capability int

const (
	needRW capability = iota
	needRO
	needOther
	needExecute
	needClock
	needEmulator
	needIsolation
	needLoopback
)

// runState is everything the specs share during one run. Ginkgo keeps its
// spec tree in process-global state and runs it once per process, so the
// specs reach the run through active (set by run before RunSpecs); nothing
// else in the package is mutable at package level.
type runState struct {
	cfg     Config
	cl      *client
	key     keyRef
	other   keyRef
	runID   string
	prefix  string // "conf-<run id>", on every thread ID and volume path
	profile string
	pre     Preflight
	seq     atomic.Int64
	out     io.Writer

	mu       sync.Mutex
	threads  map[string]keyRef // every thread created, for the final sweep
	fixtures map[string]*fixture
	report   *types.Report
}

var active atomic.Pointer[runState]

func state() *runState {
	rs := active.Load()
	if rs == nil {
		Fail("conformance: specs run outside conformance.Run (call Run or RunTest)")
	}
	return rs
}

// checkRecord is what a check leaves in the report.
type checkRecord struct {
	Rule       string `json:"rule"`
	Level      string `json:"level"`
	Area       string `json:"area,omitempty"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	Message    string `json:"message,omitempty"`
	Expected   string `json:"expected,omitempty"`
	Actual     string `json:"actual,omitempty"`
	Reproducer string `json:"reproducer,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

const entryName = "conformance-check"

type checkFailure struct{ msg string }
type checkSkip struct{ reason string }

// Check is the handle a check's body works with: HTTP helpers that remember
// the last request (for the reproducer) and assertions that record expected
// and actual values.
type Check struct {
	ctx   context.Context
	rs    *runState
	rule  string
	level string
	name  string
	rec   checkRecord
	last  *Response
	g     gomega.Gomega
}

// check registers one conformance check: a Ginkgo It named "<rule>: name",
// labelled with the rule ID, the level and labels.
func check(rule, level, name string, labels []string, body func(c *Check)) bool {
	lbls := append([]string{rule, level}, labels...)
	return It(rule+": "+name, Label(lbls...), func(ctx SpecContext) {
		rs := state()
		c := &Check{ctx: ctx, rs: rs, rule: rule, level: level, name: name}
		c.g = gomega.NewGomega(func(msg string, _ ...int) { panic(checkFailure{msg}) })
		c.rec = checkRecord{Rule: rule, Level: level, Name: name, Area: areaOf(CurrentSpecReport().Labels())}
		c.run(body)
	})
}

var areas = []string{"auth", "errors", "paths", "list", "upload", "download", "delete", "limits", "readonly", "isolation", "signed_urls", "execute", "flows"}

func areaOf(labels []string) string {
	for _, l := range labels {
		if slices.Contains(areas, l) {
			return l
		}
	}
	return ""
}

func (c *Check) run(body func(c *Check)) {
	start := time.Now()
	var outcome any
	func() {
		defer func() {
			if r := recover(); r != nil {
				switch r.(type) {
				case checkFailure, checkSkip:
					outcome = r
				default:
					c.rec.Status = StatusFailed
					c.rec.Message = fmt.Sprint(r)
					c.attachReproducer()
					c.rec.DurationMS = time.Since(start).Milliseconds()
					AddReportEntry(entryName, c.rec, ReportEntryVisibilityNever)
					panic(r)
				}
			}
		}()
		body(c)
	}()
	c.rec.DurationMS = time.Since(start).Milliseconds()
	switch o := outcome.(type) {
	case nil:
		c.rec.Status = StatusPassed
		AddReportEntry(entryName, c.rec, ReportEntryVisibilityNever)
	case checkSkip:
		c.rec.Status = StatusSkipped
		c.rec.Message = o.reason
		AddReportEntry(entryName, c.rec, ReportEntryVisibilityNever)
		Skip(o.reason)
	case checkFailure:
		c.rec.Message = o.msg
		c.attachReproducer()
		if c.level == EMU && c.rs.profile == ProfileDeployment {
			c.rec.Status = StatusObserved
			AddReportEntry(entryName, c.rec, ReportEntryVisibilityNever)
			GinkgoWriter.Printf("observed (EMU rule, profile deployment): %s\n", o.msg)
			return
		}
		c.rec.Status = StatusFailed
		AddReportEntry(entryName, c.rec, ReportEntryVisibilityNever)
		msg := o.msg
		if c.rec.Reproducer != "" {
			msg += "\nreproducer: " + c.rec.Reproducer
		}
		Fail(msg)
	}
}

func (c *Check) attachReproducer() {
	if c.rec.Reproducer == "" && c.last != nil {
		c.rec.Reproducer = c.last.Req.Curl()
	}
}

// Expect is Gomega's Expect; a failure fails (or, for EMU under profile
// deployment, is recorded as observed by) the check.
func (c *Check) Expect(actual any, extra ...any) gomega.Assertion {
	return c.g.Expect(actual, extra...)
}

// Fail fails the check with expected and actual values and r's request as
// the reproducer (r may be nil).
func (c *Check) Fail(r *Response, expected, actual, format string, args ...any) {
	c.rec.Expected, c.rec.Actual = expected, actual
	if r != nil && r.Req != nil {
		c.rec.Reproducer = r.Req.Curl()
	}
	panic(checkFailure{fmt.Sprintf(format, args...)})
}

// Skip skips the check with a reason printed in every report.
func (c *Check) Skip(format string, args ...any) {
	panic(checkSkip{fmt.Sprintf(format, args...)})
}

// Need skips the check unless the target and config provide caps.
func (c *Check) Need(caps ...capability) {
	p := c.rs.pre
	for _, cp := range caps {
		switch cp {
		case needRW:
			if c.rs.cfg.RWVolume == "" {
				c.Skip("no read-write volume configured (--rw-volume)")
			}
		case needRO:
			if c.rs.cfg.ROVolume == "" {
				c.Skip("no read-only volume configured (--ro-volume)")
			}
		case needOther:
			if c.rs.cfg.OtherOrgAPIKey == "" {
				c.Skip("no second organisation's key configured (--other-org-api-key)")
			}
		case needExecute:
			if !p.Execute {
				c.Skip("the target does not offer code execution: %s", p.ExecuteReason)
			}
		case needClock:
			if !p.ClockControl {
				c.Skip("the target offers no clock control (/_emulator/clock)")
			}
		case needEmulator:
			if !p.Emulator {
				c.Skip("the target does not declare itself an emulator (/_emulator/info)")
			}
		case needIsolation:
			if p.Emulator && p.Isolation != "" && !p.Isolated {
				c.Skip("the target reports no sandbox isolation (%s)", p.Isolation)
			}
		case needLoopback:
			u, err := url.Parse(c.rs.cl.base)
			if err != nil || !isLoopbackHost(u.Hostname()) {
				c.Skip("the target is not on this machine, so it cannot reach a webhook served here")
			}
		}
	}
}

func isLoopbackHost(h string) bool {
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}

// Step logs a step of the check.
func (c *Check) Step(format string, args ...any) { By(fmt.Sprintf(format, args...)) }

// ---- requests ----

// send performs q and remembers it; a transport error fails the check.
func (c *Check) send(q *request) *Response {
	r := c.rs.cl.do(c.ctx, q)
	c.last = r
	if r.Err != nil {
		c.Fail(r, "an HTTP response", r.Err.Error(), "%s %s: %v", q.Method, q.URL, r.Err)
	}
	return r
}

// API sends a control-plane request with the given key (nil: no auth).
func (c *Check) API(method, path string, key *keyRef, body any) *Response {
	return c.send(c.rs.cl.api(method, path, key, body))
}

// Call sends a control-plane request with the organisation's key.
func (c *Check) Call(method, path string, body any) *Response {
	return c.API(method, path, &c.rs.key, body)
}

// Key returns the organisation's key; Other the second organisation's.
func (c *Check) Key() *keyRef   { k := c.rs.key; return &k }
func (c *Check) Other() *keyRef { k := c.rs.other; return &k }

// Status requires one of the statuses.
func (c *Check) Status(r *Response, want ...int) {
	if slices.Contains(want, r.Status) {
		return
	}
	exp := make([]string, len(want))
	for i, w := range want {
		exp[i] = "HTTP " + strconv.Itoa(w)
	}
	c.Fail(r, strings.Join(exp, " or "), r.Summary(), "%s %s: want %s, got %s", r.Req.Method, r.Req.URL, strings.Join(exp, " or "), r.Summary())
}

// OK requires 200.
func (c *Check) OK(r *Response) { c.Status(r, http.StatusOK) }

// Error requires status and the envelope's error code.
func (c *Check) Error(r *Response, status int, code string) {
	want := fmt.Sprintf("HTTP %d with error %q", status, code)
	if r.Status != status || errorCode(r) != code {
		c.Fail(r, want, r.Summary(), "%s %s: want %s, got %s", r.Req.Method, r.Req.URL, want, r.Summary())
	}
}

// Refused requires a 4xx status: what DOC asks of anything the service must not do.
func (c *Check) Refused(r *Response) {
	if r.Status < 400 || r.Status > 499 {
		c.Fail(r, "HTTP 4xx", r.Summary(), "%s %s: want a 4xx refusal, got %s", r.Req.Method, r.Req.URL, r.Summary())
	}
}

// Envelope requires the E-1 shape: JSON {"error": code, "message": text},
// Content-Type application/json, and the code that belongs to the status.
func (c *Check) Envelope(r *Response) {
	want := `Content-Type application/json and body {"error": "<code>", "message": "<text>"}`
	if mt := r.MediaType(); mt != "application/json" {
		c.Fail(r, want, r.Summary(), "error response has Content-Type %q, want application/json", r.Header.Get("Content-Type"))
	}
	var env map[string]any
	if err := json.Unmarshal(r.Body, &env); err != nil {
		c.Fail(r, want, r.Summary(), "error body is not a JSON object: %v", err)
	}
	code, ok := env["error"].(string)
	if !ok || code == "" {
		c.Fail(r, want, r.Summary(), `error body has no string "error" field`)
	}
	msg, ok := env["message"].(string)
	if !ok || strings.TrimSpace(msg) == "" {
		c.Fail(r, want, r.Summary(), `error body has no non-empty string "message" field`)
	}
	if wantCode, known := statusCodes[r.Status]; known && code != wantCode {
		c.Fail(r, fmt.Sprintf("error %q for HTTP %d", wantCode, r.Status), r.Summary(), "HTTP %d carries error %q, want %q", r.Status, code, wantCode)
	}
}

// statusCodes are the envelope codes of E-1.
var statusCodes = map[int]string{
	400: "validation_error", 401: "unauthorized", 403: "forbidden",
	404: "not_found", 409: "conflict", 429: "rate_limited",
}

// MessageHas requires the envelope's message to contain every word (case-insensitively).
func (c *Check) MessageHas(r *Response, words ...string) {
	msg := errorMessage(r)
	for _, w := range words {
		if !strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
			c.Fail(r, fmt.Sprintf("message naming %q", w), msg, "error message %q does not mention %q", msg, w)
		}
	}
}

// True fails with expected/actual unless cond holds.
func (c *Check) True(cond bool, r *Response, expected, actual, format string, args ...any) {
	if !cond {
		c.Fail(r, expected, actual, format, args...)
	}
}

// ---- spaces, fixtures, cleanup ----

type space struct {
	Source string
	ID     string
}

func (s space) String() string { return s.Source + " " + s.ID }

func (s space) body(kv ...any) map[string]any {
	m := map[string]any{"source": s.Source, "id": s.ID}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// NewThreadID returns a fresh thread ID under the run prefix and registers
// its cleanup (every file in it is deleted after the check, unless --keep).
func (c *Check) NewThreadID(tag string) string {
	id := fmt.Sprintf("%s-%d-%s", c.rs.prefix, c.rs.seq.Add(1), tag)
	c.rs.track(id, c.rs.key)
	if !c.rs.cfg.Keep {
		DeferCleanup(func(ctx SpecContext) { c.rs.sweepThread(ctx, id, c.rs.key) })
	}
	return id
}

// Thread is a fresh thread of the organisation.
func (c *Check) Thread(tag string) space { return space{"thread", c.NewThreadID(tag)} }

// OtherThread is a fresh thread ID of the second organisation.
func (c *Check) OtherThread(tag string) space {
	id := fmt.Sprintf("%s-%d-%s", c.rs.prefix, c.rs.seq.Add(1), tag)
	c.rs.track(id, c.rs.other)
	if !c.rs.cfg.Keep {
		DeferCleanup(func(ctx SpecContext) { c.rs.sweepThread(ctx, id, c.rs.other) })
	}
	return space{"thread", id}
}

// UnknownThread is a thread ID that nothing ever uses.
func (c *Check) UnknownThread() space {
	return space{"thread", fmt.Sprintf("%s-%d-never-used", c.rs.prefix, c.rs.seq.Add(1))}
}

// RW is the read-write volume; RO the read-only one.
func (c *Check) RW() space { c.Need(needRW); return space{"volume", c.rs.cfg.RWVolume} }
func (c *Check) RO() space { c.Need(needRO); return space{"volume", c.rs.cfg.ROVolume} }

// VolPath is a fresh path in the read-write volume, under "conf-<run id>/",
// deleted after the check unless --keep.
func (c *Check) VolPath(name string) string {
	p := fmt.Sprintf("%s/%d-%s", c.rs.prefix, c.rs.seq.Add(1), name)
	if !c.rs.cfg.Keep {
		vol := c.rs.cfg.RWVolume
		DeferCleanup(func(ctx SpecContext) {
			c.rs.cl.do(ctx, c.rs.cl.api(http.MethodDelete, "/v1/files", &c.rs.key, space{"volume", vol}.body("path", p)))
		})
	}
	return p
}

func (rs *runState) track(id string, key keyRef) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.threads[id] = key
}

// sweepThread deletes every file of one of this run's threads.
func (rs *runState) sweepThread(ctx context.Context, id string, key keyRef) {
	rs.sweepSpace(ctx, space{"thread", id}, "", key)
}

func (rs *runState) sweepSpace(ctx context.Context, sp space, prefix string, key keyRef) int {
	if !strings.HasPrefix(sp.ID, rs.prefix) && !strings.HasPrefix(prefix, rs.prefix) {
		return 0 // never touch anything outside this run's prefix
	}
	body := sp.body()
	if prefix != "" {
		body["path"] = prefix
	}
	r := rs.cl.do(ctx, rs.cl.api(http.MethodPost, "/v1/files/list", &key, body))
	if r.Err != nil || r.Status != http.StatusOK {
		return 0
	}
	var lr struct {
		Files []listEntry `json:"files"`
	}
	if r.JSON(&lr) != nil {
		return 0
	}
	n := 0
	for _, f := range lr.Files {
		if f.IsDirectory || !strings.HasPrefix(f.Path, prefix) {
			continue
		}
		d := rs.cl.do(ctx, rs.cl.api(http.MethodDelete, "/v1/files", &key, sp.body("path", f.Path)))
		if d.Err == nil && d.Status == http.StatusOK {
			n++
		}
	}
	return n
}

// fixture is shared state several checks use, made once by the first of
// them; it is cleaned by the final sweep.
type fixture struct {
	once sync.Once
	err  string
	val  any
}

// Fixture returns the named shared fixture, making it with mk on first use.
// A fixture that failed to build fails every check that asks for it.
func (c *Check) Fixture(name string, mk func(c *Check) any) any {
	c.rs.mu.Lock()
	f := c.rs.fixtures[name]
	if f == nil {
		f = &fixture{}
		c.rs.fixtures[name] = f
	}
	c.rs.mu.Unlock()
	f.once.Do(func() {
		func() {
			defer func() {
				if r := recover(); r != nil {
					switch v := r.(type) {
					case checkFailure:
						f.err = v.msg
					case checkSkip:
						f.err = "skip: " + v.reason
					default:
						f.err = fmt.Sprint(v)
					}
				}
			}()
			// The fixture's threads must outlive this check: build them
			// with a Check whose cleanups go to the final sweep only.
			fc := *c
			fc.rec = checkRecord{}
			f.val = mk(&fc)
		}()
	})
	if f.err != "" {
		if reason, ok := strings.CutPrefix(f.err, "skip: "); ok {
			c.Skip("%s", reason)
		}
		c.Fail(c.last, "fixture "+name+" built", f.err, "shared fixture %q could not be built: %s", name, f.err)
	}
	return f.val
}

// SharedThread is a thread ID for a fixture: registered for the final
// sweep, not cleaned after the check that made it.
func (c *Check) SharedThread(tag string) space {
	id := fmt.Sprintf("%s-%d-%s", c.rs.prefix, c.rs.seq.Add(1), tag)
	c.rs.track(id, c.rs.key)
	return space{"thread", id}
}

// ---- files API helpers ----

// signed is an upload_url or download_url answer.
type signed struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt string            `json:"expires_at"`
	resp      *Response
}

// UploadURLResp asks for an upload URL and returns the raw response.
func (c *Check) UploadURLResp(sp space, path, contentType string, n int64) *Response {
	b := sp.body("path", path, "content_length", n)
	if contentType != "" {
		b["content_type"] = contentType
	}
	return c.Call(http.MethodPost, "/v1/files/upload_url", b)
}

// UploadURL asks for an upload URL and requires a usable answer.
func (c *Check) UploadURL(sp space, path, contentType string, n int64) signed {
	r := c.UploadURLResp(sp, path, contentType, n)
	c.OK(r)
	return c.parseSigned(r)
}

func (c *Check) parseSigned(r *Response) signed {
	var s signed
	if err := r.JSON(&s); err != nil {
		c.Fail(r, "JSON {url, method, headers, expires_at}", r.Summary(), "%v", err)
	}
	if s.URL == "" {
		c.Fail(r, `a non-empty "url"`, r.Summary(), "signed URL answer has no url")
	}
	if _, err := url.Parse(s.URL); err != nil {
		c.Fail(r, "an absolute URL", s.URL, "url does not parse: %v", err)
	}
	s.resp = r
	return s
}

// PutReq builds the PUT of body to an upload URL, with exactly its headers.
func (c *Check) PutReq(s signed, body []byte) *request {
	q := &request{Method: http.MethodPut, URL: s.URL, Header: http.Header{}, Body: body}
	if s.Method != "" {
		q.Method = s.Method
	}
	for k, v := range s.Headers {
		q.Header.Set(k, v)
	}
	if body == nil {
		q.Body = []byte{}
	}
	return q
}

// Put sends body to an upload URL with exactly the returned headers.
func (c *Check) Put(s signed, body []byte) *Response { return c.send(c.PutReq(s, body)) }

// Stored requires a 2xx answer from storage.
func (c *Check) Stored(r *Response) {
	if r.Status < 200 || r.Status > 299 {
		c.Fail(r, "HTTP 2xx from storage", r.Summary(), "upload to the signed URL failed: %s", r.Summary())
	}
}

// Upload stores data at path through a signed URL.
func (c *Check) Upload(sp space, path, contentType string, data []byte) signed {
	s := c.UploadURL(sp, path, contentType, int64(len(data)))
	c.Stored(c.Put(s, data))
	return s
}

// DownloadURLResp asks for a download URL.
func (c *Check) DownloadURLResp(sp space, path string) *Response {
	return c.Call(http.MethodPost, "/v1/files/download_url", sp.body("path", path))
}

// DownloadURL asks for a download URL and requires a usable answer.
func (c *Check) DownloadURL(sp space, path string) signed {
	r := c.DownloadURLResp(sp, path)
	c.OK(r)
	return c.parseSigned(r)
}

// Get fetches a download URL with its headers plus extra ones.
func (c *Check) Get(s signed, extra map[string]string) *Response {
	q := &request{Method: http.MethodGet, URL: s.URL, Header: http.Header{}}
	for k, v := range s.Headers {
		q.Header.Set(k, v)
	}
	for k, v := range extra {
		q.Header.Set(k, v)
	}
	return c.send(q)
}

// Download returns the bytes stored at path.
func (c *Check) Download(sp space, path string) *Response {
	s := c.DownloadURL(sp, path)
	r := c.Get(s, nil)
	c.OK(r)
	return r
}

// listEntry is one entry of a listing.
type listEntry struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	Modified    string `json:"modified"`
	IsDirectory bool   `json:"is_directory"`
}

// ListResp lists a space; prefix nil omits path.
func (c *Check) ListResp(sp space, prefix *string) *Response {
	b := sp.body()
	if prefix != nil {
		b["path"] = *prefix
	}
	return c.Call(http.MethodPost, "/v1/files/list", b)
}

// List lists a space and requires 200 with a files array.
func (c *Check) List(sp space, prefix *string) ([]listEntry, *Response) {
	r := c.ListResp(sp, prefix)
	c.OK(r)
	var lr struct {
		Files *[]listEntry `json:"files"`
	}
	if err := r.JSON(&lr); err != nil || lr.Files == nil {
		c.Fail(r, `JSON {"files": [...]}`, r.Summary(), "list answer has no files array (%v)", err)
	}
	return *lr.Files, r
}

// Paths returns the listed paths.
func paths(es []listEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Path
	}
	return out
}

// DeleteResp deletes a file.
func (c *Check) DeleteResp(sp space, path string) *Response {
	return c.Call(http.MethodDelete, "/v1/files", sp.body("path", path))
}

// ---- time ----

// ServerNow is the target's time: its clock endpoint when it has one, else
// ours corrected by the offset measured in preflight.
func (c *Check) ServerNow() time.Time {
	if c.rs.pre.ClockControl {
		r := c.API(http.MethodGet, "/_emulator/clock", nil, nil)
		c.OK(r)
		var v struct {
			Now string `json:"now"`
		}
		if err := r.JSON(&v); err == nil {
			if t, err := time.Parse(time.RFC3339Nano, v.Now); err == nil {
				return t
			}
		}
		c.Fail(r, `{"now": RFC 3339}`, r.Summary(), "clock endpoint answer unreadable")
	}
	return time.Now().Add(c.rs.pre.ClockOffset)
}

// timeTolerance is how far the target's timestamps may stray from ours.
func (c *Check) timeTolerance() time.Duration {
	if c.rs.pre.ClockControl {
		return 3 * time.Second
	}
	return 30 * time.Second
}

// Advance moves the target's clock forward through /_emulator/clock.
func (c *Check) Advance(d time.Duration) {
	c.Need(needClock)
	r := c.API(http.MethodPost, "/_emulator/clock", nil, map[string]string{"advance": d.String()})
	c.OK(r)
}

// parseUTC parses an RFC 3339 timestamp and requires it in UTC.
func parseUTC(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not RFC 3339: %w", s, err)
	}
	if !strings.HasSuffix(s, "Z") && !strings.HasSuffix(s, "+00:00") {
		return time.Time{}, fmt.Errorf("%q is not in UTC", s)
	}
	return t, nil
}

// ---- signed URL dialects ----

// providerOf tells the storage dialect of a signed URL by its query.
func providerOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	q := u.Query()
	switch {
	case q.Has("X-Goog-Signature") || q.Has("X-Goog-Algorithm"):
		return "gcs"
	case q.Has("X-Amz-Signature") || q.Has("X-Amz-Algorithm"):
		return "s3"
	case q.Has("sig") && (q.Has("sv") || q.Has("se")):
		return "azure"
	}
	return ""
}

var sigParams = []string{"X-Goog-Signature", "X-Amz-Signature", "sig", "Signature", "signature"}

// tamper flips one character of the URL's signature parameter (whichever
// dialect), keeping it a valid hex/base64 character so that only the
// signature check can refuse it.
func tamper(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse signed URL: %w", err)
	}
	parts := strings.Split(u.RawQuery, "&")
	for _, name := range sigParams {
		for i, p := range parts {
			k, v, ok := strings.Cut(p, "=")
			if !ok || k != name || v == "" {
				continue
			}
			for j := len(v) / 2; j < len(v); j++ {
				if ch := v[j]; isAlnum(ch) {
					parts[i] = k + "=" + v[:j] + string(flip(ch)) + v[j+1:]
					u.RawQuery = strings.Join(parts, "&")
					return u.String(), nil
				}
			}
		}
	}
	return "", errors.New("no signature parameter (X-Goog-Signature, X-Amz-Signature, sig) in the signed URL")
}

func isAlnum(ch byte) bool {
	return ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z'
}

// flip changes a hex digit to another hex digit, a letter to another letter.
func flip(ch byte) byte {
	switch ch {
	case '9', 'f', 'F', 'z', 'Z':
		return ch - 1
	}
	return ch + 1
}

var xmlCodeRE = regexp.MustCompile(`<Code>([^<]+)</Code>`)

// xmlCode returns the provider error code of an XML error body.
func xmlCode(body []byte) string {
	m := xmlCodeRE.FindSubmatch(body)
	if m == nil {
		return ""
	}
	return string(m[1])
}
