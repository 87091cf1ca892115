package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL reads best unqualified
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	"github.com/localbaponi/localbaponi/emulator"
)

// Exit codes of the binary (and Result.ExitCode).
const (
	ExitPass        = 0
	ExitFailed      = 1
	ExitConfigError = 2
	ExitReportError = 3
)

// Preflight is what the run learned about the target before any check.
type Preflight struct {
	Target        string        `json:"target"`
	Embedded      bool          `json:"embedded"`
	Reachable     bool          `json:"reachable"`
	Auth          string        `json:"auth"`
	Emulator      bool          `json:"emulator"`
	Name          string        `json:"name,omitempty"`
	Version       string        `json:"version,omitempty"`
	Backend       string        `json:"backend,omitempty"`
	Features      []string      `json:"features,omitempty"`
	Isolation     string        `json:"isolation,omitempty"`
	Isolated      bool          `json:"isolated"`
	ClockControl  bool          `json:"clock_control"`
	ClockOffset   time.Duration `json:"clock_offset_ns"`
	ClockSource   string        `json:"clock_source"`
	Execute       bool          `json:"execute"`
	ExecuteReason string        `json:"execute_reason,omitempty"`
	Notes         []string      `json:"notes,omitempty"`
}

// Result is the outcome of a run.
type Result struct {
	RunID    string
	ExitCode int
	Report   *JSONReport
}

// Run runs the suite against cfg's target (the embedded emulator when
// cfg.BaseURL is empty) and writes the configured reports. RunSpecs can run
// once per process, so Run can be called once per process too. The error is
// non-nil for configuration or connection problems (wrapping ErrConfig, exit
// code 2) and for reports that could not be written (ErrReport, exit 3);
// Result.ExitCode says what the binary exits with.
func Run(ctx context.Context, cfg Config) (Result, error) {
	return run(ctx, &failer{}, cfg, false)
}

// RunTest runs the suite inside a Go test (suite_test.go), honouring
// -ginkgo.* flags; cfg comes from the environment (see ConfigFromEnv).
func RunTest(t *testing.T, cfg Config) Result {
	t.Helper()
	res, err := run(t.Context(), t, cfg, true)
	if err != nil {
		t.Fatalf("conformance run: %v", err)
	}
	return res
}

// ConfigFromEnv is the config of `go test ./conformance/...`: the BAPONI_*
// environment over the defaults.
func ConfigFromEnv() Config {
	var cfg Config
	ApplyEnv(&cfg, os.Getenv)
	return cfg
}

// failer stands in for *testing.T when the binary calls RunSpecs.
type failer struct{ failed bool }

func (f *failer) Fail() { f.failed = true }

func newRunID() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Sprintf("%08x", time.Now().UnixNano()&0xffffffff)
	}
	return hex.EncodeToString(b[:])
}

func run(ctx context.Context, t GinkgoTestingT, cfg Config, inTest bool) (Result, error) {
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
	filter, err := labelFilter(cfg.LabelFilter)
	if err != nil {
		return Result{ExitCode: ExitConfigError}, err
	}
	rs := &runState{
		runID:    newRunID(),
		out:      out,
		threads:  map[string]keyRef{},
		fixtures: map[string]*fixture{},
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

	suiteCfg, repCfg := GinkgoConfiguration()
	if !inTest || cfg.LabelFilter != "" || suiteCfg.LabelFilter == "" {
		suiteCfg.LabelFilter = filter
	}
	suiteCfg.Timeout = cfg.Timeout
	if !inTest {
		repCfg.NoColor = !isTerminal(out)
		repCfg.Verbose = cfg.Verbose
		repCfg.Succinct = !cfg.Verbose
	}
	if !active.CompareAndSwap(nil, rs) {
		return Result{RunID: rs.runID, ExitCode: ExitConfigError}, fmt.Errorf("%w: a conformance run is already active in this process", ErrConfig)
	}
	defer active.Store(nil)
	gomega.RegisterFailHandler(Fail)
	RunSpecs(t, "Baponi Files API conformance", suiteCfg, repCfg)

	if !cfg.Keep {
		n := finalSweep(context.WithoutCancel(ctx), rs)
		if n > 0 {
			fmt.Fprintf(out, "baponi-conformance: final sweep removed %d leftover file(s) under %s\n", n, rs.prefix)
		}
	}
	rs.mu.Lock()
	rep := rs.report
	rs.mu.Unlock()
	if rep == nil {
		return Result{RunID: rs.runID, ExitCode: ExitFailed}, errors.New("the suite produced no report")
	}
	jr := buildJSONReport(rs, *rep, started)
	res := Result{RunID: rs.runID, Report: jr, ExitCode: ExitPass}
	if jr.Summary.Failed > 0 || !rep.SuiteSucceeded {
		res.ExitCode = ExitFailed
	}
	fmt.Fprint(out, consoleSummary(jr))
	if err := writeReports(cfg, *rep, jr); err != nil {
		res.ExitCode = ExitReportError
		return res, err
	}
	return res, nil
}

// The suite-level report node hands Ginkgo's final report to run.
var _ = ReportAfterSuite("conformance report", func(r Report) {
	if rs := active.Load(); rs != nil {
		rs.mu.Lock()
		rs.report = &r
		rs.mu.Unlock()
	}
})

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

// preflight checks reachability, auth and the clock, learns what the target
// offers, and fills in defaults that depend on the target.
func preflight(ctx context.Context, rs *runState, cfg *Config) error {
	p := &rs.pre
	p.Target = cfg.BaseURL
	cl := rs.cl
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	// Is it an emulator? Only then is /_emulator/ trusted.
	r := cl.do(pctx, cl.api(http.MethodGet, "/_emulator/info", nil, nil))
	if r.Err != nil {
		return fmt.Errorf("%w: target %s is not reachable: %w", ErrConfig, cfg.BaseURL, r.Err)
	}
	p.Reachable = true
	if r.Status == http.StatusOK {
		var info struct {
			Name      string         `json:"name"`
			Version   string         `json:"version"`
			Backend   string         `json:"backend"`
			Features  []string       `json:"features"`
			Isolation map[string]any `json:"isolation"`
		}
		if json.Unmarshal(r.Body, &info) == nil && info.Name == "localbaponi" {
			p.Emulator, p.Name, p.Version, p.Backend, p.Features = true, info.Name, info.Version, info.Backend, info.Features
			p.Isolation, p.Isolated = describeIsolation(info.Isolation)
		}
	}
	if cfg.Profile == "" {
		cfg.Profile = ProfileDeployment
		if p.Emulator {
			cfg.Profile = ProfileEmulator
		}
	}
	if p.Emulator && !p.Embedded {
		// A localbaponi called without keys is called with its dev fixture.
		if cfg.APIKey == "" {
			cfg.APIKey = DevAPIKey
			p.Notes = append(p.Notes, "no API key given: using the emulator's dev key")
		}
		if cfg.APIKey == DevAPIKey {
			if cfg.OtherOrgAPIKey == "" {
				cfg.OtherOrgAPIKey = DevOtherAPIKey
			}
			if cfg.RWVolume == "" {
				cfg.RWVolume = DevRWVolume
			}
			if cfg.ROVolume == "" {
				cfg.ROVolume = DevROVolume
			}
		}
	}
	if cfg.APIKey == "" {
		return fmt.Errorf("%w: no API key (--api-key or BAPONI_API_KEY)", ErrConfig)
	}

	// Auth: the key must open a listing (a thread never used answers 404).
	key := keyRef{cfg.APIKey, "BAPONI_API_KEY"}
	probe := space{"thread", "conf-" + rs.runID + "-preflight"}
	localBefore := time.Now()
	r = cl.do(pctx, cl.api(http.MethodPost, "/v1/files/list", &key, probe.body()))
	localAfter := time.Now()
	if r.Err != nil {
		return fmt.Errorf("%w: POST /v1/files/list: %w", ErrConfig, r.Err)
	}
	switch r.Status {
	case http.StatusOK, http.StatusNotFound:
		p.Auth = "API key accepted"
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w: the API key was rejected: %s", ErrConfig, r.Summary())
	default:
		// Not a config problem: the checks will say what is wrong.
		p.Auth = "API key not rejected"
		p.Notes = append(p.Notes, "listing an unused thread answered "+r.Summary()+" (want 404)")
	}
	if d, err := http.ParseTime(r.Header.Get("Date")); err == nil {
		mid := localBefore.Add(localAfter.Sub(localBefore) / 2)
		p.ClockOffset = d.Sub(mid).Round(time.Second)
		p.ClockSource = "Date header"
	} else {
		p.ClockSource = "none (assuming no offset)"
	}
	if cfg.OtherOrgAPIKey != "" {
		other := keyRef{cfg.OtherOrgAPIKey, "BAPONI_OTHER_ORG_API_KEY"}
		r = cl.do(pctx, cl.api(http.MethodPost, "/v1/files/list", &other, probe.body()))
		if r.Err != nil || r.Status == http.StatusUnauthorized {
			return fmt.Errorf("%w: the other organisation's API key was rejected: %s", ErrConfig, r.Summary())
		}
		if cfg.OtherOrgAPIKey == cfg.APIKey {
			return fmt.Errorf("%w: --other-org-api-key is the same key as --api-key", ErrConfig)
		}
	}
	for _, v := range []struct{ slug, flag string }{{cfg.RWVolume, "--rw-volume"}, {cfg.ROVolume, "--ro-volume"}} {
		if v.slug == "" {
			continue
		}
		r = cl.do(pctx, cl.api(http.MethodPost, "/v1/files/list", &key, space{"volume", v.slug}.body()))
		if r.Err != nil || r.Status != http.StatusOK {
			return fmt.Errorf("%w: %s %q cannot be listed: %s", ErrConfig, v.flag, v.slug, r.Summary())
		}
	}

	// Clock control, and the offset from the target's own clock.
	if p.Emulator {
		before := time.Now()
		r = cl.do(pctx, cl.api(http.MethodGet, "/_emulator/clock", nil, nil))
		after := time.Now()
		var ck struct {
			Now string `json:"now"`
		}
		if r.Err == nil && r.Status == http.StatusOK && json.Unmarshal(r.Body, &ck) == nil {
			if now, err := time.Parse(time.RFC3339Nano, ck.Now); err == nil {
				p.ClockControl = true
				p.ClockOffset = now.Sub(before.Add(after.Sub(before) / 2)).Round(time.Millisecond)
				p.ClockSource = "/_emulator/clock"
			}
		}
	}
	if p.ClockOffset > 5*time.Minute || p.ClockOffset < -5*time.Minute {
		p.Notes = append(p.Notes, fmt.Sprintf("the target's clock is %v away from ours; time checks correct for it", p.ClockOffset))
	}

	// Execution: an emulator says whether it has it; anything else is asked.
	switch {
	case p.Emulator && !containsStr(p.Features, "execute"):
		p.ExecuteReason = "/_emulator/info lists no \"execute\" feature"
	default:
		r = cl.do(pctx, cl.api(http.MethodPost, "/v1/sandbox/execute", &key, map[string]any{"code": "print('ok')", "language": "python"}))
		switch {
		case r.Err != nil:
			return fmt.Errorf("%w: POST /v1/sandbox/execute: %w", ErrConfig, r.Err)
		case r.Status == http.StatusNotFound && !p.Emulator:
			p.ExecuteReason = "POST /v1/sandbox/execute answers 404"
		default:
			p.Execute = true
			if r.Status != http.StatusOK {
				p.Notes = append(p.Notes, "probe execution answered "+r.Summary())
			}
		}
	}
	return nil
}

// describeIsolation reads /_emulator/info's isolation object.
func describeIsolation(m map[string]any) (string, bool) {
	if m == nil {
		return "", true
	}
	mode, _ := m["mode"].(string)
	isolated := true
	if v, ok := m["isolated"].(bool); ok {
		isolated = v
	}
	if mode == "none" || mode == "subprocess" || mode == "fallback" {
		isolated = false
	}
	b, _ := json.Marshal(m)
	return string(b), isolated
}

func containsStr(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func printPreflight(w io.Writer, rs *runState) {
	p := rs.pre
	fmt.Fprintf(w, "baponi-conformance: run %s, target %s, profile %s\n", rs.runID, p.Target, rs.cfg.Profile)
	kind := "not an emulator (no /_emulator/info)"
	if p.Emulator {
		kind = fmt.Sprintf("localbaponi %s, backend %s", p.Version, p.Backend)
	}
	fmt.Fprintf(w, "  preflight: reachable; %s; %s; clock offset %v (%s); clock control %v; execute %v %s\n",
		p.Auth, kind, p.ClockOffset, p.ClockSource, p.ClockControl, p.Execute, p.ExecuteReason)
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// finalSweep deletes what is left of this run: every file of its threads
// and everything under "conf-<run id>/" in the read-write volume.
func finalSweep(ctx context.Context, rs *runState) int {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	rs.mu.Lock()
	threads := make(map[string]keyRef, len(rs.threads))
	for id, k := range rs.threads {
		threads[id] = k
	}
	rs.mu.Unlock()
	n := 0
	for id, k := range threads {
		n += rs.sweepSpace(ctx, space{"thread", id}, "", k)
	}
	if rs.cfg.RWVolume != "" {
		n += rs.sweepSpace(ctx, space{"volume", rs.cfg.RWVolume}, rs.prefix+"/", rs.key)
	}
	return n
}
