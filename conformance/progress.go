package conformance

import (
	"fmt"
	"io"
	"sync"
)

// progress tells a person at a terminal how far the run is: the area of
// the check that just finished, checks done of total, failures so far. It
// rewrites one line in place, and says nothing when the output is not a
// terminal or CI is set (logs get the summary only), unless verbose asks
// for a line per check.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	total   int
	n       int
	failed  int
	live    bool // rewrite one status line (a terminal)
	verbose bool // one line per finished check
}

// progressWanted says whether w is a terminal a person watches: not when
// CI is set (most CI systems set CI=true) or w is a file or pipe.
func progressWanted(w io.Writer, getenv func(string) string) bool {
	return isTerminal(w) && getenv("CI") == ""
}

func newProgress(w io.Writer, total int, verbose, live bool) *progress {
	return &progress{w: w, total: total, live: live, verbose: verbose}
}

// done counts one finished check.
func (p *progress) done(r CheckResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if r.Status == StatusFailed {
		p.failed++
	}
	if p.verbose {
		if p.live {
			fmt.Fprint(p.w, "\r\033[K")
		}
		fmt.Fprintf(p.w, "  %-8s %s (%s) %s [%d ms]\n", r.Status, r.Rule, r.Level, r.Name, r.DurationMS)
		for _, s := range r.Steps {
			fmt.Fprintf(p.w, "           step: %s\n", s)
		}
		if r.Status == StatusFailed || r.Status == StatusObserved || r.Status == StatusSkipped {
			fmt.Fprintf(p.w, "           %s\n", oneLine(r.Message))
		}
	}
	if p.live {
		fmt.Fprintf(p.w, "\r\033[K  conformance: [%s] %d/%d checks done, %d failed", r.Area, p.n, p.total, p.failed)
	}
}

// finish ends the status line.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
