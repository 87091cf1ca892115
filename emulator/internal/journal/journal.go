// Package journal is the emulator's request journal: a bounded ring of what
// every request (and webhook delivery) was, in Baponi terms, so a test can
// assert what its code sent. A long run never grows it past its size.
package journal

import (
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultSize is how many entries a journal keeps by default.
const DefaultSize = 10000

// MaxBody is the most of a /v1 request body an entry keeps when body
// capture is on.
const MaxBody = 64 << 10

// Entry is one request.
type Entry struct {
	// Seq increases by one per entry, from 1; it survives Clear.
	Seq uint64 `json:"seq"`
	// Time is when the request arrived, on the emulator clock.
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	// Route is the route name ("files.upload_url", "storage.put", ...);
	// "" for a request that matched none.
	Route string `json:"route"`
	Org   string `json:"org"`
	// KeyID names the API key (see faults.KeyID); never the key itself.
	KeyID string `json:"key_id"`
	// Source is "thread" or "volume"; ID the thread id or volume slug.
	Source string `json:"source"`
	ID     string `json:"id"`
	Path   string `json:"path"`
	Status int    `json:"status"`
	// BytesIn and BytesOut count the request and response bodies.
	BytesIn    int64   `json:"bytes_in"`
	BytesOut   int64   `json:"bytes_out"`
	DurationMS float64 `json:"duration_ms"`
	// FaultID is the fault rule that fired on the request, "" if none.
	FaultID string `json:"fault_id"`
	// Scope is the request's X-Localbaponi-Fault-Scope header.
	Scope string `json:"scope,omitempty"`
	// URLPath is the HTTP path (never the query: it may hold a signature).
	URLPath string `json:"url_path"`
	// Body is the request body of a /v1 call when capture is on (at most
	// MaxBody bytes; BodyTruncated says when it was longer).
	Body          string `json:"body,omitempty"`
	BodyTruncated bool   `json:"body_truncated,omitempty"`
	// Error says why a request ended without a status (connection reset,
	// aborted by a reset).
	Error string `json:"error,omitempty"`
}

// Filter selects entries; empty fields select everything.
type Filter struct {
	// Route is a route name; '*' globs ("files.*").
	Route string
	Org   string
	// ThreadID selects entries of that thread (source "thread").
	ThreadID string
	// Status is an exact status ("503") or a class ("5xx").
	Status string
	// Since selects entries at or after this emulator time.
	Since time.Time
	// Scope selects entries with this X-Localbaponi-Fault-Scope.
	Scope string
	// Limit keeps the newest Limit matches (0: all).
	Limit int
}

// Journal is a bounded ring of entries. Safe for concurrent use.
type Journal struct {
	mu   sync.Mutex
	size int     // capacity
	buf  []Entry // made by the first Add: most emulators a test starts record little
	next int     // where the next entry goes
	n    int     // entries held
	seq  uint64
}

// New makes a journal that keeps the newest size entries (DefaultSize if
// size is 0; a negative size keeps none).
func New(size int) *Journal {
	if size == 0 {
		size = DefaultSize
	}
	return &Journal{size: max(size, 0)}
}

// Size is the journal's capacity.
func (j *Journal) Size() int { return j.size }

// Add records an entry (its Seq is assigned here).
func (j *Journal) Add(e Entry) {
	if j.size == 0 {
		return
	}
	j.mu.Lock()
	if j.buf == nil {
		j.buf = make([]Entry, j.size)
	}
	j.seq++
	e.Seq = j.seq
	j.buf[j.next] = e
	j.next = (j.next + 1) % len(j.buf)
	if j.n < len(j.buf) {
		j.n++
	}
	j.mu.Unlock()
}

// List returns the entries the filter selects, oldest first.
func (j *Journal) List(f Filter) []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := []Entry{}
	start := (j.next - j.n + len(j.buf)) % max(len(j.buf), 1)
	for i := 0; i < j.n; i++ {
		e := &j.buf[(start+i)%len(j.buf)]
		if f.selects(e) {
			out = append(out, *e)
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out
}

// Clear empties the journal and returns how many entries it held.
func (j *Journal) Clear() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := j.n
	clear(j.buf)
	j.n, j.next = 0, 0
	return n
}

// ClearWhere removes the entries of one org (and thread, if given).
func (j *Journal) ClearWhere(org, thread string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	start := (j.next - j.n + len(j.buf)) % max(len(j.buf), 1)
	kept := make([]Entry, 0, j.n)
	for i := 0; i < j.n; i++ {
		e := j.buf[(start+i)%len(j.buf)]
		if e.Org == org && (thread == "" || (e.Source == "thread" && e.ID == thread)) {
			continue
		}
		kept = append(kept, e)
	}
	removed := j.n - len(kept)
	clear(j.buf)
	copy(j.buf, kept)
	j.n = len(kept)
	j.next = 0
	if len(j.buf) > 0 {
		j.next = j.n % len(j.buf)
	}
	return removed
}

func (f *Filter) selects(e *Entry) bool {
	if f.Route != "" && f.Route != e.Route && !glob(f.Route, e.Route) {
		return false
	}
	if f.Org != "" && f.Org != e.Org {
		return false
	}
	if f.ThreadID != "" && (e.Source != "thread" || e.ID != f.ThreadID) {
		return false
	}
	if f.Scope != "" && f.Scope != e.Scope {
		return false
	}
	if !f.Since.IsZero() && e.Time.Before(f.Since) {
		return false
	}
	if f.Status != "" {
		s := strconv.Itoa(e.Status)
		if len(f.Status) == 3 && strings.HasSuffix(strings.ToLower(f.Status), "xx") {
			if s[:1] != f.Status[:1] {
				return false
			}
		} else if s != f.Status {
			return false
		}
	}
	return true
}

// glob matches route names, where '*' may cross dots.
func glob(pattern, s string) bool {
	ok, err := path.Match(strings.ReplaceAll(pattern, ".", "/"), strings.ReplaceAll(s, ".", "/"))
	if err == nil && ok {
		return true
	}
	if strings.HasSuffix(pattern, "*") {
		return strings.HasPrefix(s, strings.TrimSuffix(pattern, "*"))
	}
	return false
}
