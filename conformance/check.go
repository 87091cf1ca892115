package conformance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Status of a check in the reports.
const (
	StatusPassed   = "passed"
	StatusFailed   = "failed"
	StatusSkipped  = "skipped"
	StatusObserved = "observed"
)

// checkDef is one registered check: what it is called, what it cites and
// its body. The registry is filled by package initialisation (the spec
// files' var _ = area(...) blocks) and never changes afterwards, so runs
// can share it.
type checkDef struct {
	index   int
	rule    string
	level   string
	area    string
	name    string
	labels  []string // rule, level, area, extra labels, clause IDs
	clauses []string
	serial  bool // moves the target's clock: runs alone, after the parallel phase
	body    func(c *checkRun)
}

// registry holds every check in registration (= report) order.
var registry struct {
	sync.Mutex
	defs        []*checkDef
	currentArea string
	areaLabels  []string
}

// area registers the checks body declares under an area name (the file's
// subject: "list", "upload", ...). Use as var _ = area("list", nil, func() {...}).
func area(name string, extra []string, body func()) bool {
	registry.Lock()
	registry.currentArea, registry.areaLabels = name, extra
	registry.Unlock()
	body()
	registry.Lock()
	registry.currentArea, registry.areaLabels = "", nil
	registry.Unlock()
	return true
}

// labels is a list of labels for check (extra selection labels: "clock",
// "slow", another area's name, or clause IDs like "R-8.c").
func labels(ls ...string) []string { return ls }

// check registers one conformance check of rule at level, named name. It
// is selected by --label-filter on its rule ID, level, area, clause IDs and
// extra labels. A label "clock" (or "serial") marks a check that moves the
// target's clock: it runs alone, after the parallel phase, so that no
// expiry or rate-limit check sees the clock jump.
func check(rule, level, name string, extra []string, body func(c *checkRun)) bool {
	registry.Lock()
	defer registry.Unlock()
	d := &checkDef{index: len(registry.defs), rule: rule, level: level, area: registry.currentArea, name: name, body: body}
	d.labels = append(d.labels, rule, level)
	if d.area != "" {
		d.labels = append(d.labels, d.area)
	}
	for _, l := range append(slices.Clone(registry.areaLabels), extra...) {
		if isClauseID(l) {
			d.clauses = append(d.clauses, l)
		}
		if l == "clock" || l == "serial" {
			d.serial = true
		}
		if !slices.Contains(d.labels, l) {
			d.labels = append(d.labels, l)
		}
	}
	registry.defs = append(registry.defs, d)
	return true
}

// isClauseID tells "R-8.c" (a clause of rule R-8) from other labels.
func isClauseID(l string) bool {
	rule, sub, ok := strings.Cut(l, ".")
	dash := strings.IndexByte(rule, '-')
	return ok && sub != "" && len(rule) >= 3 && (dash == 1 || dash == 2)
}

// defs returns the registered checks.
func defs() []*checkDef {
	registry.Lock()
	defer registry.Unlock()
	return slices.Clone(registry.defs)
}

// CheckInfo describes one registered check (for listings and the clause
// table).
type CheckInfo struct {
	Rule    string   `json:"rule"`
	Level   string   `json:"level"`
	Area    string   `json:"area"`
	Name    string   `json:"name"`
	Labels  []string `json:"labels"`
	Clauses []string `json:"clauses,omitempty"`
}

// Checks lists every check of the suite in report order.
func Checks() []CheckInfo {
	var out []CheckInfo
	for _, d := range defs() {
		out = append(out, CheckInfo{Rule: d.rule, Level: d.level, Area: d.area, Name: d.name, Labels: slices.Clone(d.labels), Clauses: slices.Clone(d.clauses)})
	}
	return out
}

// checkRun is one run of one check: what its body works with. HTTP
// helpers remember the last request (for the reproducer); assertions
// record what was expected and what was seen. A failed assertion panics
// with checkFailure, which run turns into the check's status.
type checkRun struct {
	ctx      context.Context
	rs       *runState
	def      *checkDef
	rec      CheckResult
	last     *Response
	cleanups []func(ctx context.Context)
	mu       sync.Mutex // guards rec.Exchanges and rec.Observations (helpers may run in goroutines)
}

type checkFailure struct{ msg string }
type checkSkip struct{ reason string }

// execute runs the check's body and returns its record.
func (c *checkRun) execute() CheckResult {
	d := c.def
	c.rec.Rule, c.rec.Level, c.rec.Area, c.rec.Name = d.rule, d.level, d.area, d.name
	c.rec.Clauses = d.clauses
	start := time.Now()
	outcome := c.protect(func() { d.body(c) })
	c.runCleanups()
	c.rec.DurationMS = time.Since(start).Milliseconds()
	switch o := outcome.(type) {
	case nil:
		c.rec.Status = StatusPassed
	case checkSkip:
		c.rec.Status = StatusSkipped
		c.rec.Message = o.reason
	case checkFailure:
		c.rec.Message = o.msg
		c.attachReproducer()
		c.rec.Status = StatusFailed
		if d.level == EMU && c.rs.profile == ProfileDeployment {
			c.rec.Status = StatusObserved
		}
	default:
		c.rec.Status = StatusFailed
		c.rec.Message = fmt.Sprintf("check panicked: %v", o)
		c.attachReproducer()
	}
	return c.rec
}

// protect runs f and returns what it panicked with (nil if nothing).
func (c *checkRun) protect(f func()) (outcome any) {
	defer func() { outcome = recover() }()
	f()
	return nil
}

func (c *checkRun) runCleanups() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), time.Minute)
	defer cancel()
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		c.protect(func() { c.cleanups[i](ctx) })
	}
}

// deferCleanup registers f to run after the check's body, last first.
func (c *checkRun) deferCleanup(f func(ctx context.Context)) {
	c.cleanups = append(c.cleanups, f)
}

func (c *checkRun) attachReproducer() {
	if c.rec.Reproducer == "" && c.last != nil && c.last.Req != nil {
		c.rec.Reproducer = c.last.Req.Curl()
	}
}

// fail fails the check with expected and actual values and r's request as
// the reproducer (r may be nil).
func (c *checkRun) fail(r *Response, expected, actual, format string, args ...any) {
	c.rec.Expected, c.rec.Actual = expected, actual
	if r != nil && r.Req != nil {
		c.rec.Reproducer = r.Req.Curl()
	}
	panic(checkFailure{fmt.Sprintf(format, args...)})
}

// skip skips the check with a reason printed in every report.
func (c *checkRun) skip(format string, args ...any) {
	panic(checkSkip{fmt.Sprintf(format, args...)})
}

// step notes a step of the check in its record (shown with -v).
func (c *checkRun) step(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rec.Steps = append(c.rec.Steps, fmt.Sprintf(format, args...))
}

// observe records a named observation for the drift report (compare):
// something about the target's behaviour that is worth setting side by
// side with another implementation, whatever the verdict.
func (c *checkRun) observe(name, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec.Observations == nil {
		c.rec.Observations = map[string]string{}
	}
	c.rec.Observations[name] = value
}
