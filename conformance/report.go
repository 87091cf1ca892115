package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
)

// JSONReport is the JSON report (and what Run returns).
type JSONReport struct {
	RunID      string            `json:"run_id"`
	Target     string            `json:"target"`
	Profile    string            `json:"profile"`
	StartedAt  time.Time         `json:"started_at"`
	DurationMS int64             `json:"duration_ms"`
	Config     map[string]string `json:"config"`
	Preflight  Preflight         `json:"preflight"`
	Summary    Summary           `json:"summary"`
	Checks     []CheckResult     `json:"checks"`
	// Uncovered lists rules of SPEC sections 1–3 that no check selected in
	// this run cites.
	Uncovered []string `json:"uncovered_rules,omitempty"`
}

// Summary counts checks by status.
type Summary struct {
	Total       int  `json:"total"`
	Passed      int  `json:"passed"`
	Failed      int  `json:"failed"`
	Skipped     int  `json:"skipped"`
	Observed    int  `json:"observed"`
	NotSelected int  `json:"not_selected"`
	Success     bool `json:"success"`
}

// CheckResult is one check in the JSON report.
type CheckResult struct {
	Rule  string `json:"rule"`
	Level string `json:"level"`
	Area  string `json:"area,omitempty"`
	Name  string `json:"name"`
	// Clauses are the rule's clauses this check covers (CLAUSES.md).
	Clauses    []string `json:"clauses,omitempty"`
	Status     string   `json:"status"`
	Message    string   `json:"message,omitempty"`
	Expected   string   `json:"expected,omitempty"`
	Actual     string   `json:"actual,omitempty"`
	Reproducer string   `json:"reproducer,omitempty"`
	DurationMS int64    `json:"duration_ms"`
	Steps      []string `json:"steps,omitempty"`
	// Exchanges are the requests the check sent, in order, with what came
	// back (status, error code, JSON shape): the drift report's data.
	Exchanges []Exchange `json:"exchanges,omitempty"`
	// Observations are named facts the check saw, whatever its verdict
	// (e.g. "expires_in": "900s"), for the drift report.
	Observations map[string]string `json:"observations,omitempty"`
}

// buildJSONReport puts a run's results (in registration order) into the
// JSON report.
func buildJSONReport(rs *runState, results []CheckResult, notSelected int, started time.Time) *JSONReport {
	jr := &JSONReport{
		RunID:      rs.runID,
		Target:     rs.pre.Target,
		Profile:    rs.cfg.Profile,
		StartedAt:  started.UTC(),
		DurationMS: time.Since(started).Milliseconds(),
		Config:     rs.cfg.Redacted(),
		Preflight:  rs.pre,
		Checks:     results,
	}
	if jr.Checks == nil {
		jr.Checks = []CheckResult{}
	}
	if rs.pre.Embedded {
		jr.Target = "embedded emulator (" + rs.pre.Target + ")"
	}
	jr.Summary.NotSelected = notSelected
	covered := map[string]bool{}
	for _, rec := range results {
		if rec.Status != StatusSkipped {
			covered[rec.Rule] = true
		}
		switch rec.Status {
		case StatusPassed:
			jr.Summary.Passed++
		case StatusFailed:
			jr.Summary.Failed++
		case StatusSkipped:
			jr.Summary.Skipped++
		case StatusObserved:
			jr.Summary.Observed++
		}
	}
	jr.Summary.Total = len(jr.Checks)
	jr.Summary.Success = jr.Summary.Failed == 0
	for _, r := range Rules() {
		if !covered[r.ID] {
			jr.Uncovered = append(jr.Uncovered, r.ID)
		}
	}
	return jr
}

func writeReports(cfg Config, jr *JSONReport) error {
	var errs []string
	if cfg.JUnitReport != "" {
		if err := mkParent(cfg.JUnitReport); err != nil {
			errs = append(errs, err.Error())
		} else if err := reporters.GenerateJUnitReportWithConfig(ginkgoReport(jr), cfg.JUnitReport, reporters.JunitReportConfig{OmitTimelinesForSpecState: types.SpecStatePassed}); err != nil {
			errs = append(errs, fmt.Sprintf("JUnit report %s: %v", cfg.JUnitReport, err))
		}
	}
	if cfg.JSONReport != "" {
		data, err := json.MarshalIndent(jr, "", "  ")
		if err == nil {
			err = writeFile(cfg.JSONReport, append(data, '\n'))
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("JSON report %s: %v", cfg.JSONReport, err))
		}
	}
	if cfg.MarkdownReport != "" {
		if err := writeFile(cfg.MarkdownReport, []byte(Markdown(jr))); err != nil {
			errs = append(errs, fmt.Sprintf("Markdown report %s: %v", cfg.MarkdownReport, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrReport, strings.Join(errs, "; "))
	}
	return nil
}

// ginkgoReport shapes the results as a Ginkgo suite report, so that the
// JUnit file is Ginkgo's own format: one testcase per check, in the
// check's area.
func ginkgoReport(jr *JSONReport) types.Report {
	rep := types.Report{
		SuiteDescription: "Baponi Files API conformance",
		SuiteSucceeded:   jr.Summary.Success,
		StartTime:        jr.StartedAt,
		EndTime:          jr.StartedAt.Add(time.Duration(jr.DurationMS) * time.Millisecond),
		RunTime:          time.Duration(jr.DurationMS) * time.Millisecond,
	}
	for _, c := range jr.Checks {
		sr := types.SpecReport{
			ContainerHierarchyTexts: []string{c.Area},
			LeafNodeType:            types.NodeTypeIt,
			LeafNodeText:            c.Rule + ": " + c.Name,
			LeafNodeLabels:          append([]string{c.Rule, c.Level}, c.Clauses...),
			RunTime:                 time.Duration(c.DurationMS) * time.Millisecond,
			State:                   types.SpecStatePassed,
		}
		switch c.Status {
		case StatusFailed:
			sr.State = types.SpecStateFailed
			sr.Failure = types.Failure{Message: c.Message + reproducerSuffix(c)}
		case StatusSkipped:
			sr.State = types.SpecStateSkipped
			sr.Failure = types.Failure{Message: c.Message}
		case StatusObserved:
			sr.CapturedGinkgoWriterOutput = "observed (EMU rule, profile deployment): " + c.Message
		}
		rep.SpecReports = append(rep.SpecReports, sr)
	}
	return rep
}

func reproducerSuffix(c CheckResult) string {
	if c.Reproducer == "" {
		return ""
	}
	return "\nreproducer: " + c.Reproducer
}

func mkParent(path string) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create report directory: %w", err)
		}
	}
	return nil
}

func writeFile(path string, data []byte) error {
	if err := mkParent(path); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

var statusMark = map[string]string{
	StatusPassed: "✅ passed", StatusFailed: "❌ failed", StatusSkipped: "⏭️ skipped", StatusObserved: "👁️ observed",
}

// Markdown renders the report for people: verdict first, then what failed
// with its reproducer, observations, skips with reasons, and every check.
func Markdown(jr *JSONReport) string {
	var b strings.Builder
	verdict := "PASS — every required check passed"
	if !jr.Summary.Success {
		verdict = fmt.Sprintf("FAIL — %d required check(s) failed", jr.Summary.Failed)
	}
	fmt.Fprintf(&b, "# Baponi Files API conformance: %s\n\n", verdict)
	fmt.Fprintf(&b, "- **Target:** %s\n- **Profile:** %s (EMU rules %s)\n- **Run:** `%s`, %s, %.1f s\n",
		jr.Target, jr.Profile, map[bool]string{true: "fail the run", false: "are recorded as observations"}[jr.Profile == ProfileEmulator],
		jr.RunID, jr.StartedAt.Format(time.RFC3339), float64(jr.DurationMS)/1000)
	fmt.Fprintf(&b, "- **Result:** %d passed, %d failed, %d observed, %d skipped (%d not selected by the label filter)\n\n",
		jr.Summary.Passed, jr.Summary.Failed, jr.Summary.Observed, jr.Summary.Skipped, jr.Summary.NotSelected)

	b.WriteString("## Configuration (keys redacted)\n\n| key | value |\n|---|---|\n")
	keys := make([]string, 0, len(jr.Config))
	for k := range jr.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "| %s | `%s` |\n", k, jr.Config[k])
	}
	p := jr.Preflight
	b.WriteString("\n## Preflight\n\n")
	fmt.Fprintf(&b, "- reachable: %v; auth: %s\n", p.Reachable, p.Auth)
	if p.Emulator {
		fmt.Fprintf(&b, "- target: localbaponi %s, backend `%s`, features %v\n", p.Version, p.Backend, p.Features)
	} else {
		b.WriteString("- target: not an emulator (no `/_emulator/info`)\n")
	}
	fmt.Fprintf(&b, "- clock offset: %v (from %s); clock control: %v\n", p.ClockOffset, p.ClockSource, p.ClockControl)
	exec := "available"
	if !p.Execute {
		exec = "not available: " + p.ExecuteReason
	}
	fmt.Fprintf(&b, "- execute: %s\n", exec)
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}
	if len(jr.Uncovered) > 0 {
		fmt.Fprintf(&b, "- rules not exercised in this run: %s\n", strings.Join(jr.Uncovered, ", "))
	}

	section := func(title, status string, detail bool) {
		var list []CheckResult
		for _, c := range sortedChecks(jr.Checks) {
			if c.Status == status {
				list = append(list, c)
			}
		}
		if len(list) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n## %s (%d)\n\n", title, len(list))
		for _, c := range list {
			if !detail {
				fmt.Fprintf(&b, "- **%s** (%s) %s — %s\n", c.Rule, c.Level, c.Name, oneLine(c.Message))
				continue
			}
			fmt.Fprintf(&b, "### %s (%s, %s): %s\n\n", c.Rule, c.Level, c.Area, c.Name)
			fmt.Fprintf(&b, "%s\n\n", oneLine(c.Message))
			if c.Expected != "" || c.Actual != "" {
				fmt.Fprintf(&b, "- expected: %s\n- actual: %s\n\n", oneLine(c.Expected), oneLine(c.Actual))
			}
			if c.Reproducer != "" {
				fmt.Fprintf(&b, "```sh\n%s\n```\n\n", c.Reproducer)
			}
		}
	}
	section("Failed", StatusFailed, true)
	section("Observed (EMU rules, informational)", StatusObserved, true)
	section("Skipped", StatusSkipped, false)

	b.WriteString("\n## All checks\n\n| rule | level | area | check | status |\n|---|---|---|---|---|\n")
	for _, c := range sortedChecks(jr.Checks) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.Rule, c.Level, c.Area, strings.ReplaceAll(c.Name, "|", `\|`), statusMark[c.Status])
	}
	return b.String()
}

// sortedChecks orders checks as SPEC orders rules, then by name.
func sortedChecks(cs []CheckResult) []CheckResult {
	out := slices.Clone(cs)
	sort.SliceStable(out, func(i, j int) bool {
		ki, kj := ruleKey(out[i].Rule), ruleKey(out[j].Rule)
		if ki != kj {
			return ki < kj
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// ruleKey orders rules as SPEC does.
func ruleKey(id string) string {
	for i, r := range Rules() {
		if r.ID == id {
			return fmt.Sprintf("%03d", i)
		}
	}
	return "999" + id
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// consoleSummary is the short verdict printed at the end of a run.
func consoleSummary(jr *JSONReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nbaponi-conformance: %d passed, %d failed, %d observed, %d skipped, %d not selected (%.1f s)\n",
		jr.Summary.Passed, jr.Summary.Failed, jr.Summary.Observed, jr.Summary.Skipped, jr.Summary.NotSelected, float64(jr.DurationMS)/1000)
	for _, c := range jr.Checks {
		if c.Status == StatusFailed {
			fmt.Fprintf(&b, "  FAILED %s (%s) %s: %s\n", c.Rule, c.Level, c.Name, oneLine(c.Message))
		}
	}
	return b.String()
}
