package faults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
)

// Request is what a rule is matched against: one request (or one webhook
// delivery) classified into Baponi concepts.
type Request struct {
	Route    string
	Method   string
	Org      string
	KeyID    string
	ThreadID string
	VolumeID string
	Path     string
	Scope    string
}

// Decision is what the matched rules want done with a request. The zero
// value changes nothing.
type Decision struct {
	// RuleID is the rule that acted, else the first rule that added latency.
	RuleID string
	// Fired lists every rule that fired on the request, in order.
	Fired   []string
	Latency time.Duration
	Network string
	Error   *ErrorAction
	Body    *BodyAction
	Execute *ExecuteAction
	Webhook *WebhookAction
}

// ErrNotFound is returned for an unknown rule id.
var ErrNotFound = errors.New("no such fault rule")

// ErrExists is returned when a rule id is already taken.
var ErrExists = errors.New("fault rule id already exists")

type rule struct {
	Rule
	rng *rand.Rand
}

// Engine holds the rules. Safe for concurrent use; Any is one atomic load,
// so requests pay nothing while no rule is set.
type Engine struct {
	clock *clock.Clock
	log   *slog.Logger

	count atomic.Int64 // len(rules)
	mu    sync.Mutex
	rules []*rule
	seq   int
}

// New makes an engine whose TTLs run on clk.
func New(clk *clock.Clock, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{clock: clk, log: log}
}

// Any reports whether any rule is set (active or not): the hot path's check.
func (e *Engine) Any() bool { return e.count.Load() > 0 }

// Add validates and adds a rule, and returns it as stored.
func (e *Engine) Add(r Rule) (Rule, error) {
	if err := r.Validate(); err != nil {
		return Rule{}, err
	}
	if k := r.Match.Key; k != "" && !strings.HasPrefix(k, KeyIDPrefix) {
		r.Match.Key = KeyID(k) // never keep a secret
	}
	r.Hits, r.Matched, r.Remaining, r.ExpiresAt = 0, 0, nil, nil
	e.mu.Lock()
	defer e.mu.Unlock()
	if r.ID == "" {
		for {
			e.seq++
			r.ID = "f" + strconv.Itoa(e.seq)
			if e.find(r.ID) < 0 {
				break
			}
		}
	} else if e.find(r.ID) >= 0 {
		return Rule{}, fmt.Errorf("%w: %q", ErrExists, r.ID)
	}
	r.CreatedAt = e.clock.Now()
	if r.TTL > 0 {
		t := r.CreatedAt.Add(r.TTL.D())
		r.ExpiresAt = &t
	}
	seed := uint64(r.Seed)
	st := &rule{Rule: r, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	e.rules = append(e.rules, st)
	e.count.Store(int64(len(e.rules)))
	e.log.Info("fault rule added", "id", r.ID, "route", r.Match.Route, "scope", r.Match.Scope)
	return e.view(st, r.CreatedAt), nil
}

func (e *Engine) find(id string) int {
	for i, r := range e.rules {
		if r.ID == id {
			return i
		}
	}
	return -1
}

// view is the rule as the API shows it at now.
func (e *Engine) view(r *rule, now time.Time) Rule {
	out := r.Rule
	if r.Times > 0 {
		rem := max(r.Times-r.Hits, 0)
		out.Remaining = &rem
	}
	if r.ExpiresAt != nil {
		t := *r.ExpiresAt
		out.ExpiresAt = &t
	}
	out.Active = r.active(now)
	return out
}

func (r *rule) active(now time.Time) bool {
	if r.Times > 0 && r.Hits >= r.Times {
		return false
	}
	return r.ExpiresAt == nil || now.Before(*r.ExpiresAt)
}

// List returns every rule in creation order, with hits and remaining.
func (e *Engine) List() []Rule {
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Rule, 0, len(e.rules))
	for _, r := range e.rules {
		out = append(out, e.view(r, now))
	}
	return out
}

// Get returns one rule.
func (e *Engine) Get(id string) (Rule, bool) {
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if i := e.find(id); i >= 0 {
		return e.view(e.rules[i], now), true
	}
	return Rule{}, false
}

// Delete removes one rule.
func (e *Engine) Delete(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := e.find(id)
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	e.rules = append(e.rules[:i], e.rules[i+1:]...)
	e.count.Store(int64(len(e.rules)))
	return nil
}

// Clear removes every rule and returns how many there were.
func (e *Engine) Clear() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.rules)
	e.rules = nil
	e.count.Store(0)
	return n
}

// ClearScope removes the rules that match only within a scope of an org or
// thread (used by a partial reset): rules whose match names org (and, if
// thread is given, that thread).
func (e *Engine) ClearWhere(org, thread string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	kept := e.rules[:0]
	n := 0
	for _, r := range e.rules {
		if r.Match.Org == org && (thread == "" || r.Match.ThreadID == thread) {
			n++
			continue
		}
		kept = append(kept, r)
	}
	clear(e.rules[len(kept):])
	e.rules = kept
	e.count.Store(int64(len(e.rules)))
	return n
}

// Active returns the number of rules that can still fire.
func (e *Engine) Active() int {
	if !e.Any() {
		return 0
	}
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, r := range e.rules {
		if r.active(now) {
			n++
		}
	}
	return n
}

// Decide matches req against the rules and returns what to do, or nil when
// no rule fires. Hits, skips and probability draws are counted here.
func (e *Engine) Decide(req Request) *Decision {
	if !e.Any() {
		return nil
	}
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	var d *Decision
	for _, r := range e.rules {
		if !r.active(now) || !r.Match.matches(req) {
			continue
		}
		r.Matched++
		if r.Matched <= r.Skip {
			continue
		}
		if p := r.Probability; p != nil && *p < 1 && r.rng.Float64() >= *p {
			continue
		}
		r.Hits++
		if d == nil {
			d = &Decision{}
		}
		d.Fired = append(d.Fired, r.ID)
		if l := r.Action.Latency; l != nil {
			d.Latency += l.Fixed.D()
			if l.Jitter > 0 {
				d.Latency += time.Duration(r.rng.Int64N(int64(l.Jitter)))
			}
			if d.RuleID == "" {
				d.RuleID = r.ID
			}
		}
		if r.Action.acts() {
			d.RuleID = r.ID
			a := r.Action
			d.Network, d.Error, d.Body, d.Execute, d.Webhook = a.Network, a.Error, a.Body, a.Execute, a.Webhook
			break
		}
	}
	if d != nil {
		e.log.Info("fault fired", "rule", d.RuleID, "fired", d.Fired, "route", req.Route, "org", req.Org,
			"thread_id", req.ThreadID, "volume_id", req.VolumeID, "path", req.Path, "scope", req.Scope)
	}
	return d
}

func (m *Match) matches(req Request) bool {
	if m.Scope != "" && m.Scope != req.Scope {
		return false
	}
	if m.Route != "" && m.Route != req.Route && !Glob(m.Route, req.Route, true) {
		return false
	}
	if m.Method != "" && !strings.EqualFold(m.Method, req.Method) {
		return false
	}
	if m.Org != "" && m.Org != req.Org {
		return false
	}
	if m.Key != "" && m.Key != req.KeyID {
		return false
	}
	if m.ThreadID != "" && m.ThreadID != req.ThreadID {
		return false
	}
	if m.VolumeID != "" && m.VolumeID != req.VolumeID {
		return false
	}
	if m.Path != "" && !matchPath(m.Path, req.Path) {
		return false
	}
	return true
}

// matchPath globs a file path: '*' within a segment, '**' across; a
// pattern without '/' also matches the base name.
func matchPath(pattern, p string) bool {
	if p == "" {
		return false
	}
	if Glob(pattern, p, false) {
		return true
	}
	return !strings.Contains(pattern, "/") && Glob(pattern, path.Base(p), false)
}

// Glob matches s against pattern. '*' matches any run of characters; with
// anyChar false it stops at '/', and '**' crosses it. '?' matches one
// character (not '/' unless anyChar).
func Glob(pattern, s string, anyChar bool) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			star := 1
			for star < len(pattern) && pattern[star] == '*' {
				star++
			}
			cross := anyChar || star > 1
			rest := pattern[star:]
			for i := 0; i <= len(s); i++ {
				if Glob(rest, s[i:], anyChar) {
					return true
				}
				if i < len(s) && s[i] == '/' && !cross {
					return false
				}
			}
			return false
		case '?':
			if len(s) == 0 || (s[0] == '/' && !anyChar) {
				return false
			}
		default:
			if len(s) == 0 || s[0] != pattern[0] {
				return false
			}
		}
		pattern, s = pattern[1:], s[1:]
	}
	return len(s) == 0
}

type forcedKey struct{}

// WithForcedStatus marks ctx so that the execution started with it ends
// with status (an execute action).
func WithForcedStatus(ctx context.Context, status string) context.Context {
	return context.WithValue(ctx, forcedKey{}, status)
}

// ForcedStatus is the status an execute action forces on executions
// started with ctx, or "".
func ForcedStatus(ctx context.Context) string {
	s, _ := ctx.Value(forcedKey{}).(string)
	return s
}
