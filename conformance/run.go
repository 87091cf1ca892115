package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/localbaponi/localbaponi/emulator"
)

// Exit codes of the binary (and Result.ExitCode).
const (
	ExitPass        = 0
	ExitFailed      = 1
	ExitConfigError = 2
	ExitReportError = 3
)

// DefaultParallel is how many checks run at once unless Config.Parallel
// says otherwise: enough to hide tens of milliseconds of latency per
// request on a remote deployment, few enough for a laptop.
const DefaultParallel = 16

// Result is the outcome of a run.
type Result struct {
	RunID    string
	ExitCode int
	Report   *JSONReport
	// Compared is the run against Config.CompareURL, and Drift where the
	// two differ (both nil without CompareURL).
	Compared *JSONReport
	Drift    *Drift
}

// runState is everything the checks of one run share. Each run has its
// own, so several runs can go on in one process (compare --compare-url,
// the suite's own deviation test).
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
	threads  map[string][]keyRef // every thread created, for the final sweep
	fixtures map[string]*sharedFixture
}

// Run runs the suite against cfg's target (the embedded emulator when
// cfg.BaseURL is empty) and writes the configured reports. Runs are
// independent: several may go on in one process. The error is non-nil for
// configuration or connection problems (wrapping ErrConfig, exit code 2)
// and for reports that could not be written (ErrReport, exit 3);
// Result.ExitCode says what the binary exits with.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.CompareURL == "" {
		return run(ctx, cfg)
	}
	return runAndCompare(ctx, cfg)
}

// runAndCompare runs cfg's target, then the compare target, and writes the
// drift report. The exit code is the first run's.
func runAndCompare(ctx context.Context, cfg Config) (Result, error) {
	out := cfg.Out
	if out == nil {
		out = os.Stdout
	}
	second := cfg
	second.BaseURL = cfg.CompareURL
	if second.BaseURL == "embedded" {
		second.BaseURL = ""
	}
	// --backend picks the face of whichever side is the embedded emulator.
	if second.BaseURL != "" {
		second.Backend = ""
	}
	if cfg.BaseURL != "" {
		cfg.Backend = ""
	}
	second.APIKey, second.OtherOrgAPIKey = cfg.CompareAPIKey, cfg.CompareOtherOrgAPIKey
	second.RWVolume, second.ROVolume = cfg.CompareRWVolume, cfg.CompareROVolume
	second.SecondAPIKey, second.RateLimitedAPIKey, second.SmallMemoryAPIKey, second.RevokedAPIKey = "", "", "", ""
	second.JUnitReport, second.JSONReport, second.MarkdownReport = "", "", ""
	second.Profile = ""
	res, err := run(ctx, cfg)
	if err != nil || res.Report == nil {
		return res, err
	}
	fmt.Fprintf(out, "\nbaponi-conformance: second run, against %s\n", orDefault(second.BaseURL, "the embedded emulator"))
	res2, err := run(ctx, second)
	if err != nil || res2.Report == nil {
		return res, fmt.Errorf("compare run: %w", err)
	}
	res.Compared = res2.Report
	res.Drift = Compare(res.Report, res2.Report)
	md := res.Drift.Markdown()
	if cfg.CompareReport == "" {
		fmt.Fprint(out, "\n"+md)
	} else if err := writeFile(cfg.CompareReport, []byte(md)); err != nil {
		res.ExitCode = ExitReportError
		return res, fmt.Errorf("%w: drift report: %w", ErrReport, err)
	}
	if cfg.CompareJSON != "" {
		data, err := json.MarshalIndent(res.Drift, "", "  ")
		if err == nil {
			err = writeFile(cfg.CompareJSON, append(data, '\n'))
		}
		if err != nil {
			res.ExitCode = ExitReportError
			return res, fmt.Errorf("%w: drift report: %w", ErrReport, err)
		}
	}
	return res, nil
}

// RunTest runs the suite inside a Go test (suite_test.go); cfg usually
// comes from ConfigFromEnv. A -ginkgo.label-filter flag on the test binary
// is honoured when cfg has no filter of its own.
func RunTest(t *testing.T, cfg Config) Result {
	t.Helper()
	if cfg.LabelFilter == "" {
		suiteCfg, _ := ginkgo.GinkgoConfiguration()
		cfg.LabelFilter = suiteCfg.LabelFilter
	}
	if cfg.Out == nil {
		cfg.Out = testWriter{t}
	}
	res, err := run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("conformance run: %v", err)
	}
	if res.Report != nil {
		for _, c := range res.Report.Checks {
			if c.Status == StatusFailed {
				t.Errorf("%s (%s) %s: %s", c.Rule, c.Level, c.Name, oneLine(c.Message))
			}
		}
	}
	return res
}

// testWriter sends a run's console output to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// ConfigFromEnv is the config of `go test ./conformance/...`: the BAPONI_*
// environment over the defaults.
func ConfigFromEnv() Config {
	var cfg Config
	ApplyEnv(&cfg, os.Getenv)
	return cfg
}

func newRunID() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Sprintf("%08x", time.Now().UnixNano()&0xffffffff)
	}
	return hex.EncodeToString(b[:])
}

func run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{ExitCode: ExitConfigError}, err
	}
	out := cfg.Out
	if out == nil {
		out = os.Stdout
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Minute
	}
	if cfg.Parallel == 0 {
		cfg.Parallel = DefaultParallel
	}
	filter, err := labelFilter(cfg.LabelFilter)
	if err != nil {
		return Result{ExitCode: ExitConfigError}, err
	}
	match, _ := types.ParseLabelFilter(filter)
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	rs := &runState{
		runID:    newRunID(),
		out:      out,
		threads:  map[string][]keyRef{},
		fixtures: map[string]*sharedFixture{},
	}
	rs.prefix = "conf-" + rs.runID
	started := time.Now()

	if cfg.BaseURL == "" {
		emu, err := emulator.Start(emulator.Options{Addr: "127.0.0.1:0", Backend: cfg.Backend})
		if err != nil {
			return Result{RunID: rs.runID, ExitCode: ExitConfigError}, fmt.Errorf("%w: start the embedded emulator: %w", ErrConfig, err)
		}
		defer emu.Close()
		rs.pre.Embedded = true
		cfg.BaseURL = emu.URL()
		cfg.APIKey = orDefault(cfg.APIKey, emu.APIKey())
		cfg.OtherOrgAPIKey = orDefault(cfg.OtherOrgAPIKey, emu.OtherAPIKey())
		cfg.RWVolume = orDefault(cfg.RWVolume, DevRWVolume)
		cfg.ROVolume = orDefault(cfg.ROVolume, DevROVolume)
		cfg.Profile = orDefault(cfg.Profile, ProfileEmulator)
		fmt.Fprintf(out, "baponi-conformance: embedded emulator at %s\n", cfg.BaseURL)
	}
	rs.cl = newClient(cfg.BaseURL, 2*time.Minute)
	rs.cl.admin = cfg.EmulatorAdminToken
	if err := preflight(ctx, rs, &cfg); err != nil {
		rs.cfg = cfg
		fmt.Fprintf(out, "baponi-conformance: preflight failed: %v\n", err)
		return Result{RunID: rs.runID, ExitCode: ExitConfigError}, err
	}
	rs.cfg = cfg
	rs.profile = cfg.Profile
	rs.key = keyRef{cfg.APIKey, "BAPONI_API_KEY"}
	rs.other = keyRef{cfg.OtherOrgAPIKey, "BAPONI_OTHER_ORG_API_KEY"}
	printPreflight(out, rs)

	var selected []*checkDef
	notSelected := 0
	for _, d := range defs() {
		if match(d.labels) {
			selected = append(selected, d)
		} else {
			notSelected++
		}
	}
	prog := newProgress(out, len(selected), cfg.Verbose, progressWanted(out, os.Getenv))
	results := rs.runChecks(ctx, selected, cfg.Parallel, prog)
	prog.finish()

	if !cfg.Keep {
		n := finalSweep(context.WithoutCancel(ctx), rs)
		if n > 0 {
			fmt.Fprintf(out, "baponi-conformance: final sweep removed %d leftover file(s) under %s\n", n, rs.prefix)
		}
	}
	jr := buildJSONReport(rs, results, notSelected, started)
	res := Result{RunID: rs.runID, Report: jr, ExitCode: ExitPass}
	if !jr.Summary.Success {
		res.ExitCode = ExitFailed
	}
	fmt.Fprint(out, consoleSummary(jr))
	if err := writeReports(cfg, jr); err != nil {
		res.ExitCode = ExitReportError
		return res, err
	}
	return res, nil
}

// runChecks runs the selected checks: the independent ones on a pool of
// parallel workers, then the ones that move the target's clock one at a
// time. Results come back in registration order whatever order they
// finished in, so reports are deterministic.
func (rs *runState) runChecks(ctx context.Context, selected []*checkDef, parallel int, prog *progress) []CheckResult {
	results := make([]CheckResult, len(selected))
	runAt := func(i int) {
		results[i] = rs.runOne(ctx, selected[i])
		prog.done(results[i])
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range max(1, parallel) {
		wg.Go(func() {
			for i := range jobs {
				runAt(i)
			}
		})
	}
	for i, d := range selected {
		if !d.serial {
			jobs <- i
		}
	}
	close(jobs)
	wg.Wait()
	for i, d := range selected {
		if d.serial {
			runAt(i)
		}
	}
	return results
}

// runOne runs one check with its own checkRun.
func (rs *runState) runOne(ctx context.Context, d *checkDef) CheckResult {
	c := &checkRun{ctx: ctx, rs: rs, def: d}
	if err := ctx.Err(); err != nil {
		return CheckResult{Rule: d.rule, Level: d.level, Area: d.area, Name: d.name, Clauses: d.clauses,
			Status: StatusFailed, Message: fmt.Sprintf("not run: the run was stopped (%v)", context.Cause(ctx))}
	}
	return c.execute()
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// labelFilter adds "!slow" unless the filter names slow checks itself.
func labelFilter(user string) (string, error) {
	f := strings.TrimSpace(user)
	switch {
	case f == "":
		f = "!slow"
	case !strings.Contains(f, "slow"):
		f = "(" + f + ") && !slow"
	}
	if _, err := types.ParseLabelFilter(f); err != nil {
		return "", fmt.Errorf("%w: label filter %q: %w", ErrConfig, user, err)
	}
	return f, nil
}

// finalSweep deletes what is left of this run: every file of its threads
// and everything under "conf-<run id>/" in the read-write volume.
func finalSweep(ctx context.Context, rs *runState) int {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	rs.mu.Lock()
	threads := make(map[string][]keyRef, len(rs.threads))
	for id, ks := range rs.threads {
		threads[id] = ks
	}
	rs.mu.Unlock()
	n := 0
	for id, ks := range threads {
		for _, k := range ks {
			n += rs.sweepSpace(ctx, space{"thread", id}, "", k)
		}
	}
	if rs.cfg.RWVolume != "" {
		n += rs.sweepSpace(ctx, space{"volume", rs.cfg.RWVolume}, rs.prefix+"/", rs.key)
	}
	return n
}
