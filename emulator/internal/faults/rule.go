// Package faults is the emulator's fault engine: rules that match requests
// by Baponi concepts (route, org, key, thread or volume, path, scope) and
// decide what goes wrong with them (an error, latency, a reset connection, a
// shaped body, a forced execution status, a delayed or dropped webhook).
//
// The engine only decides; the control layer applies the decision in the
// dialect of the surface the request hit. Rules are checked in creation
// order; the first match with an action other than latency acts; the
// latencies of every match before it (and its own) add up.
package faults

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ScopeHeader carries the scope a request belongs to; a rule with a scope
// matches only requests that carry the same value, so parallel tests never
// see each other's faults.
const ScopeHeader = "X-Localbaponi-Fault-Scope"

// FiredHeader names the rule that fired on a response.
const FiredHeader = "X-Localbaponi-Fault"

// Routes are the route names a rule can match (a trailing or inner '*'
// globs, e.g. "files.*" or "mcp.*").
var Routes = []string{
	"files.list", "files.upload_url", "files.download_url", "files.delete",
	"sandbox.execute", "executions.get", "storage.put", "storage.get", "webhook",
	"mcp.*",
}

// Duration is a time.Duration that JSON and YAML spell as a Go duration
// string ("200ms", "2s", "5m"); a bare number is seconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a string such as "1.5s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads "200ms" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		return d.parse(str)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > math.MaxInt64/float64(time.Second) {
		return fmt.Errorf("%s is not a duration: give a string such as \"200ms\" or a number of seconds", s)
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// UnmarshalText reads "200ms" or a number of seconds (YAML).
func (d *Duration) UnmarshalText(b []byte) error { return d.parse(string(b)) }

func (d *Duration) parse(s string) error {
	if v, err := time.ParseDuration(s); err == nil {
		if v < 0 {
			return fmt.Errorf("%q must not be negative", s)
		}
		*d = Duration(v)
		return nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 {
		*d = Duration(f * float64(time.Second))
		return nil
	}
	return &DurationError{Value: s}
}

// DurationError is a duration that does not parse.
type DurationError struct{ Value string }

func (e *DurationError) Error() string {
	return fmt.Sprintf("%q is not a duration: give e.g. \"200ms\", \"2s\" or \"5m\"", e.Value)
}

// Rule is one fault rule. Its JSON is a contract that test scripts
// hard-code; the output-only fields are filled by the engine.
type Rule struct {
	// ID is assigned by the engine ("f1", "f2", ...) unless given.
	ID     string `json:"id,omitempty"`
	Match  Match  `json:"match"`
	Action Action `json:"action"`
	// Times is how often the rule fires before it stops; 0 is unlimited.
	Times int `json:"times,omitempty"`
	// Skip lets the first Skip matches through ("fail the second PUT" is
	// skip 1, times 1).
	Skip int `json:"skip,omitempty"`
	// Probability that a match fires (0..1]; default 1. Draws come from a
	// generator seeded with Seed, so a run repeats exactly.
	Probability *float64 `json:"probability,omitempty"`
	Seed        int64    `json:"seed,omitempty"`
	// TTL ends the rule this long after it was created, on the emulator clock.
	TTL Duration `json:"ttl,omitempty"`

	// Output only.
	Hits      int        `json:"hits"`
	Remaining *int       `json:"remaining"` // null: unlimited
	Matched   int        `json:"matched"`   // matches seen, skipped ones included
	Active    bool       `json:"active"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Match says which requests a rule applies to. Every field given must
// match; an empty field matches anything.
type Match struct {
	// Route is a route name (see Routes); '*' globs ("files.*", "mcp.*").
	Route string `json:"route,omitempty"`
	// Method is an HTTP method (e.g. only the HEAD of storage.get).
	Method string `json:"method,omitempty"`
	Org    string `json:"org,omitempty"`
	// Key is a key id as the journal shows it, or the API key itself
	// (which is turned into its key id and never stored).
	Key      string `json:"key,omitempty"`
	ThreadID string `json:"thread_id,omitempty"`
	VolumeID string `json:"volume_id,omitempty"`
	// Path is a glob on the file path: '*' matches within a segment, '**'
	// across segments; a pattern without '/' is also tried on the base
	// name, so "*.json" matches "out/a.json".
	Path string `json:"path,omitempty"`
	// Scope must equal the request's X-Localbaponi-Fault-Scope header.
	Scope string `json:"scope,omitempty"`
}

// Action is what happens to a matched request. Latency applies first; then
// network, else error; body, execute and webhook shape the request that
// goes on.
type Action struct {
	Error   *ErrorAction   `json:"error,omitempty"`
	Latency *Latency       `json:"latency,omitempty"`
	Network string         `json:"network,omitempty"` // "reset" (TCP RST) or "close" (FIN before headers)
	Body    *BodyAction    `json:"body,omitempty"`
	Execute *ExecuteAction `json:"execute,omitempty"`
	Webhook *WebhookAction `json:"webhook,omitempty"`
}

// ErrorAction answers the request with an error in the surface's dialect:
// the {error, message} envelope on /v1, the provider's XML on a face.
type ErrorAction struct {
	Status  int    `json:"status"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	// RetryAfter becomes a Retry-After header in whole seconds (rounded up).
	RetryAfter *Duration `json:"retry_after,omitempty"`
}

// Latency delays the request by Fixed plus a uniform draw in [0, Jitter).
type Latency struct {
	Fixed  Duration `json:"fixed,omitempty"`
	Jitter Duration `json:"jitter,omitempty"`
}

// BodyAction shapes a transfer's body: the upload's request body on
// storage.put, the response body elsewhere.
type BodyAction struct {
	// TruncateAfter cuts the connection after this many body bytes.
	TruncateAfter *int64 `json:"truncate_after,omitempty"`
	// StallAfter bytes, the transfer stops for StallFor.
	StallAfter *int64   `json:"stall_after,omitempty"`
	StallFor   Duration `json:"stall_for,omitempty"`
	// ThrottleBPS limits the transfer to this many bytes per second.
	ThrottleBPS int64 `json:"throttle_bps,omitempty"`
	// Corrupt flips one byte (the one at CorruptOffset, default 0).
	Corrupt       bool  `json:"corrupt,omitempty"`
	CorruptOffset int64 `json:"corrupt_offset,omitempty"`
}

// ExecuteAction forces the result of an execution.
type ExecuteAction struct {
	Status string `json:"status"` // "timeout", "oom" or "failed"
}

// WebhookAction delays or drops the delivery of a result to a webhook.
type WebhookAction struct {
	Delay Duration `json:"delay,omitempty"`
	Drop  bool     `json:"drop,omitempty"`
}

// FieldError is a rule that does not validate: Field names the offending
// field (as in the JSON), Message says what is allowed.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ExecuteStatuses are the statuses an execute action may force.
var ExecuteStatuses = []string{"timeout", "oom", "failed"}

// Validate checks a rule as given by a user.
func (r *Rule) Validate() error {
	if r.ID != "" && !validID(r.ID) {
		return fieldErr("id", "must be 1 to 64 characters of [A-Za-z0-9._-]")
	}
	if r.Match.Route != "" && !knownRoute(r.Match.Route) {
		return fieldErr("match.route", "%q is not a route; routes are %s", r.Match.Route, strings.Join(Routes, ", "))
	}
	if r.Match.Path != "" && strings.HasPrefix(r.Match.Path, "/") {
		return fieldErr("match.path", "%q must be relative, as Files API paths are (no leading '/')", r.Match.Path)
	}
	if r.Times < 0 {
		return fieldErr("times", "must not be negative (0 is unlimited)")
	}
	if r.Skip < 0 {
		return fieldErr("skip", "must not be negative")
	}
	if p := r.Probability; p != nil && (*p <= 0 || *p > 1 || math.IsNaN(*p)) {
		return fieldErr("probability", "must be greater than 0 and at most 1, got %v", *p)
	}
	a := r.Action
	if a.Error == nil && a.Latency == nil && a.Network == "" && a.Body == nil && a.Execute == nil && a.Webhook == nil {
		return fieldErr("action", "give at least one of error, latency, network, body, execute, webhook")
	}
	if e := a.Error; e != nil {
		if e.Status < 400 || e.Status > 599 {
			return fieldErr("action.error.status", "must be an HTTP error status from 400 to 599, got %d", e.Status)
		}
	}
	switch a.Network {
	case "", "reset", "close":
	default:
		return fieldErr("action.network", `must be "reset" (TCP RST) or "close" (close before headers), not %q`, a.Network)
	}
	if b := a.Body; b != nil {
		if b.TruncateAfter != nil && *b.TruncateAfter < 0 {
			return fieldErr("action.body.truncate_after", "must not be negative")
		}
		if b.StallAfter != nil && *b.StallAfter < 0 {
			return fieldErr("action.body.stall_after", "must not be negative")
		}
		if b.StallAfter != nil && b.StallFor <= 0 {
			return fieldErr("action.body.stall_for", "is required with stall_after (e.g. \"30s\")")
		}
		if b.ThrottleBPS < 0 {
			return fieldErr("action.body.throttle_bps", "must not be negative")
		}
		if b.CorruptOffset < 0 {
			return fieldErr("action.body.corrupt_offset", "must not be negative")
		}
	}
	if x := a.Execute; x != nil {
		ok := false
		for _, s := range ExecuteStatuses {
			ok = ok || x.Status == s
		}
		if !ok {
			return fieldErr("action.execute.status", "must be one of %s, not %q", strings.Join(ExecuteStatuses, ", "), x.Status)
		}
	}
	return nil
}

// acts tells whether a rule does more than add latency (the first such
// match acts and ends the search).
func (a Action) acts() bool {
	return a.Error != nil || a.Network != "" || a.Body != nil || a.Execute != nil || a.Webhook != nil
}

func knownRoute(pattern string) bool {
	for _, r := range Routes {
		if r == pattern || Glob(pattern, r, true) || Glob(r, pattern, true) {
			return true
		}
	}
	return strings.HasPrefix(pattern, "mcp.") || strings.HasPrefix(pattern, "storage.") || pattern == "*"
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
