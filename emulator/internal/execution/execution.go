// Package execution is the execute service: it runs code in the sandbox on
// behalf of an organisation, one execution at a time per thread, keeps a
// bounded record of recent executions, streams their output as events that
// can be replayed and followed, and delivers results to webhooks.
package execution

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/faults"
	"github.com/localbaponi/localbaponi/emulator/internal/sandbox"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// Errors of the service; the API maps them to its envelope.
var (
	// ErrBusy: another execution is running on the thread (SPEC R-4, 409).
	ErrBusy = errors.New("an execution is already running on this thread")
	// ErrClosed: the service is shutting down.
	ErrClosed = errors.New("the execution service is closed")
)

// Delivery modes (SPEC R-8), as recorded in delivery_mode.
const (
	ModeSync   = "sync"
	ModeStream = "stream"
	ModeAsync  = "async"
)

// StatusRunning is the status of an execution that has not finished.
const StatusRunning = "running"

// DefaultMaxRecords is how many executions are remembered by default.
const DefaultMaxRecords = 1000

// timeFormat is RFC 3339 in UTC with millisecond precision.
const timeFormat = "2006-01-02T15:04:05.000Z"

// Volume is one volume of the organisation, mounted at /volumes/<Slug>.
type Volume struct {
	Slug     string
	ReadOnly bool
	// Quota is the most the volume may hold, in bytes (0: no limit).
	Quota int64
}

// Request is one validated execution request.
type Request struct {
	Org      string
	ThreadID string // "" for an empty home discarded afterwards
	// ThreadQuota is the most the thread may hold, in bytes (0: no limit).
	ThreadQuota int64
	Language    string
	Code        []byte
	Timeout     time.Duration
	// MemoryLimit in bytes (the key's limit).
	MemoryLimit int64
	Env         map[string]string
	Volumes     []Volume
	// Mode is ModeSync, ModeStream or ModeAsync.
	Mode string
	// WebhookURL, if set, receives the result as a JSON POST.
	WebhookURL string
}

// Response is the result of an execution as the execute endpoint returns it
// inline (SPEC R-1), as the last stream event carries it, and as a webhook
// receives it.
type Response struct {
	Success    bool    `json:"success"`
	Stdout     string  `json:"stdout"`
	Stderr     string  `json:"stderr"`
	ExitCode   int     `json:"exit_code"`
	Error      *string `json:"error"`
	Status     string  `json:"status"`
	DurationMS int64   `json:"duration_ms"`
	TraceID    string  `json:"trace_id"`
}

// Record is an execution as GET /v1/executions/{trace_id} returns it (SPEC R-8).
type Record struct {
	TraceID      string  `json:"trace_id"`
	Status       string  `json:"status"`
	ExitCode     *int    `json:"exit_code"`
	Stdout       string  `json:"stdout"`
	Stderr       string  `json:"stderr"`
	Error        *string `json:"error"`
	DurationMS   *int64  `json:"duration_ms"`
	DeliveryMode string  `json:"delivery_mode"`
	CreatedAt    string  `json:"created_at"`
	CompletedAt  *string `json:"completed_at"`
}

// webhookBody is what a webhook receives: the record and success.
type webhookBody struct {
	Record
	Success bool `json:"success"`
}

// Config builds a Service.
type Config struct {
	Runner *sandbox.Runner
	Store  *store.Store
	Clock  *clock.Clock
	Logger *slog.Logger
	// MaxRecords bounds the executions remembered (default 1000); the
	// oldest finished ones are forgotten first.
	MaxRecords int
	// HTTPClient posts webhooks (default: a client with a 10 s timeout
	// that ignores proxy settings, so loopback URLs work).
	HTTPClient *http.Client
	// WebhookAttempts bounds deliveries of one result (default 4), with
	// exponential backoff from WebhookBackoff (default 250 ms).
	WebhookAttempts int
	WebhookBackoff  time.Duration
	// Deliver, if set, wraps every webhook delivery attempt (the fault and
	// journal layer): it may delay or drop the attempt, or call post to
	// make it. A non-nil error counts as a failed attempt.
	Deliver func(ctx context.Context, d Delivery, post func() (status int, err error)) error
	// Mirror, if set, says that Store is a local copy of a remote store:
	// every space a run mounts is fetched before the run, and the spaces
	// it can write are pushed back after it, before the run is reported
	// finished.
	Mirror Mirror
}

// Mirror keeps a local copy of a remote store's spaces (package mirror).
type Mirror interface {
	// Fetch brings the local copy of sp in step with the remote store.
	Fetch(ctx context.Context, sp store.Space) error
	// Push sends what changed in the local copy of sp to the remote store.
	Push(ctx context.Context, sp store.Space) error
}

// Delivery is one webhook delivery attempt.
type Delivery struct {
	Org, ThreadID, TraceID, URL string
	Attempt                     int
}

// Service runs executions. Safe for concurrent use.
type Service struct {
	cfg    Config
	log    *slog.Logger
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	busy    map[store.Space]bool
	records map[string]*Execution
	order   []string // trace IDs, oldest first
}

// New makes a service.
func New(cfg Config) *Service {
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = DefaultMaxRecords
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	}
	if cfg.WebhookAttempts <= 0 {
		cfg.WebhookAttempts = 4
	}
	if cfg.WebhookBackoff <= 0 {
		cfg.WebhookBackoff = 250 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base, cancel := context.WithCancel(context.Background())
	return &Service{cfg: cfg, log: log, base: base, cancel: cancel,
		busy: map[store.Space]bool{}, records: map[string]*Execution{}}
}

// Close cancels running executions and waits for them and for pending
// webhook deliveries.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// Start begins an execution and returns at once. With ModeSync or
// ModeStream, cancelling ctx (the client went away) cancels the execution;
// a ModeAsync execution runs until it ends. ErrBusy if the thread is busy.
func (s *Service) Start(ctx context.Context, req Request) (*Execution, error) {
	spec := sandbox.Spec{
		Language: req.Language, Code: req.Code, Env: req.Env,
		Timeout: req.Timeout, MemoryLimit: req.MemoryLimit,
	}
	force := faults.ForcedStatus(ctx)
	var thread store.Space
	if req.ThreadID != "" {
		thread = store.Space{Org: req.Org, Kind: store.Thread, ID: req.ThreadID}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if thread.ID != "" {
		if s.busy[thread] {
			s.mu.Unlock()
			return nil, fmt.Errorf("thread %q: %w", req.ThreadID, ErrBusy)
		}
		s.busy[thread] = true
	}
	s.wg.Add(1)
	s.mu.Unlock()
	// unlock frees the thread; it runs before the result is published, so
	// a client that starts its next execution as soon as it has the result
	// never finds the thread still busy.
	var unlockOnce sync.Once
	unlock := func() {
		unlockOnce.Do(func() {
			if thread.ID != "" {
				s.mu.Lock()
				delete(s.busy, thread)
				s.mu.Unlock()
			}
		})
	}
	release := func() {
		unlock()
		s.wg.Done()
	}

	var written []store.Space // the spaces the code can write to
	var mounted []store.Space // every space the code sees
	if thread.ID != "" {
		written = append(written, thread)
		mounted = append(mounted, thread)
		// An execution creates its thread (SPEC S-4).
		if err := s.cfg.Store.Create(thread); err != nil {
			release()
			return nil, fmt.Errorf("execution: %w", err)
		}
		spec.HomeDir = s.cfg.Store.SpaceDir(thread)
		spec.HomeQuota = req.ThreadQuota
	}
	for _, v := range req.Volumes {
		sp := store.Space{Org: req.Org, Kind: store.Volume, ID: v.Slug}
		mounted = append(mounted, sp)
		if err := s.cfg.Store.Create(sp); err != nil {
			release()
			return nil, fmt.Errorf("execution: volume %q: %w", v.Slug, err)
		}
		if !v.ReadOnly {
			written = append(written, sp)
		}
		m := sandbox.Mount{HostDir: s.cfg.Store.SpaceDir(sp), Slug: v.Slug, ReadOnly: v.ReadOnly}
		if !v.ReadOnly {
			m.Quota = v.Quota
		}
		spec.Volumes = append(spec.Volumes, m)
	}

	id, err := newTraceID()
	if err != nil {
		release()
		return nil, err
	}
	e := &Execution{
		org:      req.Org,
		thread:   req.ThreadID,
		language: req.Language,
		changed:  make(chan struct{}),
		done:     make(chan struct{}),
		rec: Record{TraceID: id, Status: StatusRunning, Stdout: "", Stderr: "",
			DeliveryMode: req.Mode, CreatedAt: s.cfg.Clock.Now().Format(timeFormat)},
	}
	runCtx, cancel := context.WithCancel(s.base)
	e.cancel = cancel
	e.emit(map[string]any{"event": "status", "trace_id": id, "status": StatusRunning})
	outW, errW := &streamWriter{e: e, kind: "stdout"}, &streamWriter{e: e, kind: "stderr"}
	spec.Stdout, spec.Stderr = outW, errW
	s.remember(e)

	stop := func() bool { return true }
	if req.Mode != ModeAsync {
		stop = context.AfterFunc(ctx, cancel)
	}
	// Code writes into these spaces behind the store's back: the store
	// walks them instead of using its listing index until the run is over
	// and they are stamped.
	modified := make([]func(), 0, len(written))
	for _, sp := range written {
		modified = append(modified, s.cfg.Store.Modifying(sp))
	}
	go func() {
		defer release()
		defer cancel()
		defer stop()
		started := time.Now()
		err := s.fetch(runCtx, mounted)
		var res sandbox.Result
		if err == nil {
			s.usage(runCtx, &spec, thread, req.Org)
			stopPush := s.pushWhileRunning(written)
			res, err = s.cfg.Runner.Run(runCtx, spec)
			stopPush()
		}
		if err != nil {
			s.log.Error("execution: sandbox failure", "trace_id", id, "err", err)
			res = sandbox.Result{ExitCode: -1, Status: sandbox.StatusFailed, Error: "internal error: " + err.Error(),
				Duration: time.Since(started)}
		}
		if force != "" {
			res = forced(res, force, req)
		}
		res.Error = hideHostPaths(res.Error, spec, s.cfg.Store.Dir())
		// Files the code wrote, in its thread and in writable volumes, get
		// modified times from the emulator clock.
		since := started
		if !res.Started.IsZero() {
			since = res.Started
		}
		for i, sp := range written {
			if err := s.cfg.Store.TouchSince(sp, since); err != nil {
				s.log.Warn("execution: stamping files written by code", "trace_id", id, "space", sp.Key(), "err", err)
			}
			modified[i]()
		}
		if err := s.push(written); err != nil {
			s.log.Error("execution: saving files to the store", "trace_id", id, "err", err)
			res.ExitCode, res.Status = -1, sandbox.StatusFailed
			res.Error = "internal error: saving the files the code wrote: " + err.Error()
		}
		outW.flush()
		errW.flush()
		unlock()
		e.finish(res, s.cfg.Clock.Now())
		if req.WebhookURL != "" {
			s.deliver(req.WebhookURL, e)
		}
	}()
	return e, nil
}

// fetch brings the local copies of the spaces a run mounts in step with
// the remote store (with a Mirror; else it does nothing).
func (s *Service) fetch(ctx context.Context, spaces []store.Space) error {
	if s.cfg.Mirror == nil {
		return nil
	}
	for _, sp := range spaces {
		if err := s.cfg.Mirror.Fetch(ctx, sp); err != nil {
			return err
		}
	}
	return nil
}

// push sends what a run changed in the spaces it could write to the remote
// store (with a Mirror). It runs on the service's context, not the run's:
// a cancelled or timed-out run still keeps what it wrote, as on the file
// store.
func (s *Service) push(spaces []store.Space) error {
	if s.cfg.Mirror == nil {
		return nil
	}
	var errs []error
	for _, sp := range spaces {
		errs = append(errs, s.cfg.Mirror.Push(context.WithoutCancel(s.base), sp))
	}
	return errors.Join(errs...)
}

// pushInterval is how often, with a Mirror, what running code has written
// so far is pushed to the remote store, so that the Files API shows it
// while the code runs (as on the file store, where it is there at once).
const pushInterval = 250 * time.Millisecond

// pushWhileRunning pushes the written spaces every pushInterval until the
// returned stop is called (which waits for a push in progress).
func (s *Service) pushWhileRunning(spaces []store.Space) (stop func()) {
	if s.cfg.Mirror == nil || len(spaces) == 0 {
		return func() {}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(pushInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := s.push(spaces); err != nil {
					s.log.Warn("execution: pushing files while code runs", "err", err)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// usage fills in how much the thread and the writable volumes with a size
// limit already hold, so the sandbox can hold the code to what is left. A
// space whose size cannot be found counts as empty (the sandbox still
// watches it while the code runs).
func (s *Service) usage(ctx context.Context, spec *sandbox.Spec, thread store.Space, org string) {
	if spec.HomeQuota > 0 && thread.ID != "" {
		n, err := s.cfg.Store.Usage(ctx, thread)
		if err != nil {
			s.log.Warn("execution: size of the thread", "thread", thread.ID, "err", err)
		}
		spec.HomeUsed = n
	}
	for i := range spec.Volumes {
		m := &spec.Volumes[i]
		if m.ReadOnly || m.Quota <= 0 {
			continue
		}
		n, err := s.cfg.Store.Usage(ctx, store.Space{Org: org, Kind: store.Volume, ID: m.Slug})
		if err != nil {
			s.log.Warn("execution: size of the volume", "volume", m.Slug, "err", err)
		}
		m.Used = n
	}
}

// Get returns an execution of the organisation; executions of other
// organisations are not found.
func (s *Service) Get(org, traceID string) (*Execution, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.records[traceID]
	if !ok || e.org != org {
		return nil, false
	}
	return e, true
}

// Summary is one execution as the dashboard's list shows it: who ran it,
// where, in which language, and its record.
type Summary struct {
	Org      string `json:"org"`
	ThreadID string `json:"thread_id"`
	Language string `json:"language"`
	Record
}

// Recent returns up to limit of the executions remembered, newest first,
// of org ("" for every organisation). They come from the same bounded set
// as Get (Config.MaxRecords).
func (s *Service) Recent(org string, limit int) []Summary {
	s.mu.Lock()
	var es []*Execution
	for i := len(s.order) - 1; i >= 0 && len(es) < limit; i-- {
		if e := s.records[s.order[i]]; e != nil && (org == "" || e.org == org) {
			es = append(es, e)
		}
	}
	s.mu.Unlock()
	out := make([]Summary, 0, len(es))
	for _, e := range es {
		out = append(out, Summary{Org: e.org, ThreadID: e.thread, Language: e.language, Record: e.Record()})
	}
	return out
}

// remember keeps e, forgetting the oldest finished executions beyond the bound.
func (s *Service) remember(e *Execution) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[e.rec.TraceID] = e
	s.order = append(s.order, e.rec.TraceID)
	for i := 0; len(s.records) > s.cfg.MaxRecords && i < len(s.order); {
		old := s.records[s.order[i]]
		select {
		case <-old.done:
			delete(s.records, s.order[i])
			s.order = append(s.order[:i], s.order[i+1:]...)
		default:
			i++ // still running: kept
		}
	}
}

// deliver posts the result to the webhook, retrying a few times with
// exponential backoff on errors and non-2xx answers.
func (s *Service) deliver(url string, e *Execution) {
	body, err := json.Marshal(webhookBody{Record: e.Record(), Success: e.Response().Success})
	if err != nil {
		s.log.Error("execution: webhook body", "err", err)
		return
	}
	wait := s.cfg.WebhookBackoff
	for attempt := 1; ; attempt++ {
		err := s.post(url, body, e, attempt)
		if err == nil {
			s.log.Debug("execution: webhook delivered", "trace_id", e.TraceID(), "url", url, "attempt", attempt)
			return
		}
		if attempt >= s.cfg.WebhookAttempts {
			s.log.Warn("execution: webhook not delivered", "trace_id", e.TraceID(), "url", url, "attempts", attempt, "err", err)
			return
		}
		select {
		case <-time.After(wait):
		case <-s.base.Done():
			return
		}
		wait *= 2
	}
}

func (s *Service) post(url string, body []byte, e *Execution, attempt int) error {
	send := func() (int, error) {
		req, err := http.NewRequestWithContext(s.base, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.cfg.HTTPClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return resp.StatusCode, fmt.Errorf("webhook answered %s", resp.Status)
		}
		return resp.StatusCode, nil
	}
	if s.cfg.Deliver != nil {
		d := Delivery{Org: e.org, ThreadID: e.thread, TraceID: e.TraceID(), URL: url, Attempt: attempt}
		return s.cfg.Deliver(s.base, d, send)
	}
	_, err := send()
	return err
}

// forced turns a result into the one an execute fault asks for; the code
// has run, its output is kept.
func forced(res sandbox.Result, status string, req Request) sandbox.Result {
	res.Status = status
	switch status {
	case sandbox.StatusTimeout:
		res.ExitCode = sandbox.ExitTimeout
		res.Error = fmt.Sprintf("Execution timed out after %s (injected by a fault rule)", req.Timeout)
	case sandbox.StatusOOM:
		res.ExitCode = sandbox.ExitKilled
		res.Error = fmt.Sprintf("Memory limit exceeded (%d MiB) (injected by a fault rule)", req.MemoryLimit>>20)
	default:
		if res.ExitCode == 0 {
			res.ExitCode = 1
		}
		res.Error = "Execution failed (injected by a fault rule)"
	}
	return res
}

// Forget cancels the running executions of org (and thread, if given; all
// of them when org is "") and forgets them and the finished ones, as a
// reset does.
func (s *Service) Forget(org, thread string) {
	s.mu.Lock()
	var gone []*Execution
	kept := s.order[:0]
	for _, id := range s.order {
		e := s.records[id]
		if org == "" || (e.org == org && (thread == "" || e.thread == thread)) {
			gone = append(gone, e)
			delete(s.records, id)
			continue
		}
		kept = append(kept, id)
	}
	s.order = kept
	s.mu.Unlock()
	for _, e := range gone {
		if e.cancel != nil {
			e.cancel()
		}
	}
	for _, e := range gone {
		<-e.done
	}
}

func newTraceID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("execution: trace id: %w", err)
	}
	return "exec_" + hex.EncodeToString(b[:]), nil
}

// Execution is one execution: its record and its event stream.
type Execution struct {
	org      string
	thread   string
	language string
	cancel   context.CancelFunc

	mu      sync.Mutex
	rec     Record
	resp    Response
	events  [][]byte      // JSON lines, without the newline
	changed chan struct{} // closed and replaced when events grow
	done    chan struct{} // closed when the execution has finished
}

// TraceID identifies the execution.
func (e *Execution) TraceID() string { return e.rec.TraceID }

// Done is closed when the execution has finished.
func (e *Execution) Done() <-chan struct{} { return e.done }

// Response is the result; complete once Done is closed.
func (e *Execution) Response() Response {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.resp
}

// Record is the execution's record as it stands.
func (e *Execution) Record() Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rec
}

// Follow calls fn with every event of the execution, as one JSON object
// without a newline: first those already emitted, then new ones as they
// come, until the result event or ctx is done.
func (e *Execution) Follow(ctx context.Context, fn func(event []byte) error) error {
	next := 0
	for {
		e.mu.Lock()
		batch := e.events[next:]
		next = len(e.events)
		changed := e.changed
		finished := isClosed(e.done)
		e.mu.Unlock()
		for _, ev := range batch {
			if err := fn(ev); err != nil {
				return err
			}
		}
		if finished && len(batch) == 0 {
			return nil
		}
		if finished {
			continue // pick up anything appended with the result
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// emit appends an event and wakes followers.
func (e *Execution) emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return // only maps of strings and numbers are emitted
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.appendLocked(b)
}

func (e *Execution) appendLocked(b []byte) {
	e.events = append(e.events, b)
	close(e.changed)
	e.changed = make(chan struct{})
}

// finish records the result, emits the result event and closes Done.
func (e *Execution) finish(res sandbox.Result, now time.Time) {
	var errMsg *string
	if res.Error != "" {
		errMsg = &res.Error
	}
	ms := res.Duration.Milliseconds()
	code := res.ExitCode
	completed := now.Format(timeFormat)
	resp := Response{
		Success: res.Status == sandbox.StatusSuccess && code == 0, Stdout: string(res.Stdout), Stderr: string(res.Stderr),
		ExitCode: code, Error: errMsg, Status: res.Status, DurationMS: ms, TraceID: e.rec.TraceID,
	}
	ev, _ := json.Marshal(struct {
		Event string `json:"event"`
		Response
	}{"result", resp})
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resp = resp
	e.rec.Status, e.rec.ExitCode, e.rec.Error = res.Status, &code, errMsg
	e.rec.Stdout, e.rec.Stderr = resp.Stdout, resp.Stderr
	e.rec.DurationMS, e.rec.CompletedAt = &ms, &completed
	e.appendLocked(ev)
	close(e.done)
}

// streamWriter turns the sandbox's live output into stdout/stderr events.
// It holds back an incomplete UTF-8 sequence at the end of a chunk so that
// a character split between two reads is not mangled by JSON encoding.
type streamWriter struct {
	e       *Execution
	kind    string
	pending []byte
}

func (w *streamWriter) Write(p []byte) (int, error) {
	n := len(p)
	b := append(w.pending, p...)
	cut := len(b)
	// Look back at most 3 bytes for the start of an unfinished rune.
	for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				cut = i
			}
			break
		}
	}
	w.pending = append([]byte(nil), b[cut:]...)
	if cut > 0 {
		w.e.emit(map[string]string{"event": w.kind, "data": string(b[:cut])})
	}
	return n, nil
}

// flush emits what was held back (output that ended mid-character).
func (w *streamWriter) flush() {
	if len(w.pending) > 0 {
		w.e.emit(map[string]string{"event": w.kind, "data": string(w.pending)})
		w.pending = nil
	}
}

// hideHostPaths replaces, in a message meant for the client, the host
// directories of an execution by what the code sees (/home/baponi,
// /volumes/<slug>), the data directory by "<data-dir>" and the host's temp
// directory by "<tmp>": where the emulator keeps things on the host is none
// of the client's or the code's business (issue 8 defect 9).
func hideHostPaths(msg string, spec sandbox.Spec, dataDir string) string {
	if msg == "" {
		return msg
	}
	var pairs []string
	if spec.HomeDir != "" {
		pairs = append(pairs, spec.HomeDir, "/home/baponi")
	}
	for _, v := range spec.Volumes {
		if v.HostDir != "" {
			pairs = append(pairs, v.HostDir, "/volumes/"+v.Slug)
		}
	}
	if dataDir != "" {
		pairs = append(pairs, dataDir, "<data-dir>")
	}
	// The sandbox's own scratch directories (its root) live in the host's
	// temp directory; the data directory may too, and wins (it comes first).
	if tmp := strings.TrimSuffix(os.TempDir(), "/"); tmp != "" {
		pairs = append(pairs, tmp+"/", "<tmp>/")
	}
	if len(pairs) == 0 {
		return msg
	}
	// strings.Replacer tries the pairs in order at each position: the
	// space directories (longer, under the data directory) come first.
	return strings.NewReplacer(pairs...).Replace(msg)
}
