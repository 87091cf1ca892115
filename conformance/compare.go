package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Drift is where two runs of the suite (two implementations) answered
// differently, rule by rule: the drift report of `baponi-conformance
// compare A.json B.json`.
type Drift struct {
	A RunInfo `json:"a"`
	B RunInfo `json:"b"`
	// Observations are facts worth setting side by side whether or not
	// they differ (e.g. list path relativity, signed URL lifetimes).
	Observations []ObservationRow `json:"observations"`
	// Rows are the differences, in rule order.
	Rows []DriftRow `json:"rows"`
	// Compared counts checks present in both runs; Differing those with
	// at least one row.
	Compared  int      `json:"compared"`
	Differing int      `json:"differing"`
	OnlyA     []string `json:"only_in_a,omitempty"`
	OnlyB     []string `json:"only_in_b,omitempty"`
}

// RunInfo identifies one side of a comparison.
type RunInfo struct {
	RunID   string  `json:"run_id"`
	Target  string  `json:"target"`
	Profile string  `json:"profile"`
	Backend string  `json:"backend,omitempty"`
	Summary Summary `json:"summary"`
}

// ObservationRow is one observation on both sides.
type ObservationRow struct {
	Name  string `json:"name"`
	About string `json:"about"`
	A     string `json:"a"`
	B     string `json:"b"`
	Same  bool   `json:"same"`
}

// DriftRow is one difference between the two runs.
type DriftRow struct {
	Rule  string `json:"rule"`
	Level string `json:"level"`
	Check string `json:"check"`
	// Aspect is what differs: "status", "request N <method target>: status",
	// "... error code", "... shape", "observation <name>".
	Aspect string `json:"aspect"`
	A      string `json:"a"`
	B      string `json:"b"`
}

// LoadJSONReport reads a JSON report written with --json-report.
func LoadJSONReport(path string) (*JSONReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: read report: %w", ErrConfig, err)
	}
	var jr JSONReport
	if err := json.Unmarshal(b, &jr); err != nil {
		return nil, fmt.Errorf("%w: %s is not a JSON report: %w", ErrConfig, path, err)
	}
	return &jr, nil
}

// keyObservations are always shown, with what each is about.
var keyObservations = []struct{ name, about string }{
	{"list_path_relativity", `paths of a listing with a path argument (docs: full paths from the storage root; one third party saw SDK results relative to the path)`},
	{"upload_url.expires_in", "signed upload URL lifetime (docs: 15 minutes)"},
	{"download_url.expires_in", "signed download URL lifetime (docs: 15 minutes)"},
	{"storage refusal", "storage's answer to a tampered or expired signed URL"},
	{"retry_after", "Retry-After of a 429"},
	{"oom_status", "status of a run over its memory limit"},
	{"other_org_record_status", "status another organisation gets for an execution record"},
}

// Compare sets two reports side by side.
func Compare(a, b *JSONReport) *Drift {
	d := &Drift{A: runInfo(a), B: runInfo(b), Rows: []DriftRow{}}
	key := func(c CheckResult) string { return c.Rule + "\x00" + c.Name }
	inB := map[string]CheckResult{}
	for _, c := range b.Checks {
		inB[key(c)] = c
	}
	seenA := map[string]bool{}
	obsA, obsB := observations(a), observations(b)
	for _, ca := range sortedChecks(a.Checks) {
		seenA[key(ca)] = true
		cb, ok := inB[key(ca)]
		if !ok {
			d.OnlyA = append(d.OnlyA, ca.Rule+": "+ca.Name)
			continue
		}
		d.Compared++
		rows := diffCheck(ca, cb)
		if len(rows) > 0 {
			d.Differing++
			d.Rows = append(d.Rows, rows...)
		}
	}
	for _, cb := range sortedChecks(b.Checks) {
		if !seenA[key(cb)] {
			d.OnlyB = append(d.OnlyB, cb.Rule+": "+cb.Name)
		}
	}
	for _, o := range keyObservations {
		va, vb := orNone(obsA[o.name]), orNone(obsB[o.name])
		d.Observations = append(d.Observations, ObservationRow{Name: o.name, About: o.about, A: va, B: vb, Same: va == vb})
	}
	return d
}

func runInfo(jr *JSONReport) RunInfo {
	return RunInfo{RunID: jr.RunID, Target: jr.Target, Profile: jr.Profile, Backend: jr.Preflight.Backend, Summary: jr.Summary}
}

func orNone(s string) string {
	if s == "" {
		return "(not observed)"
	}
	return s
}

// observations merges every check's observations (the first value of a
// name wins, in report order).
func observations(jr *JSONReport) map[string]string {
	out := map[string]string{}
	for _, c := range jr.Checks {
		names := make([]string, 0, len(c.Observations))
		for n := range c.Observations {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if _, ok := out[n]; !ok {
				out[n] = c.Observations[n]
			}
		}
	}
	return out
}

// maxRowsPerCheck keeps one broken check from drowning the report.
const maxRowsPerCheck = 6

// diffCheck lists how one check's outcome and exchanges differ.
func diffCheck(a, b CheckResult) []DriftRow {
	var rows []DriftRow
	add := func(aspect, va, vb string) {
		if len(rows) < maxRowsPerCheck {
			rows = append(rows, DriftRow{Rule: a.Rule, Level: a.Level, Check: a.Name, Aspect: aspect, A: va, B: vb})
		}
	}
	if a.Status != b.Status {
		add("status", a.Status+explain(a), b.Status+explain(b))
	}
	n := min(len(a.Exchanges), len(b.Exchanges))
	for i := range n {
		xa, xb := a.Exchanges[i], b.Exchanges[i]
		if xa.Method != xb.Method || xa.Target != xb.Target {
			add(fmt.Sprintf("request %d", i+1), xa.Method+" "+xa.Target, xb.Method+" "+xb.Target)
			break // the sequences diverged; later pairs mean nothing
		}
		what := fmt.Sprintf("request %d %s %s", i+1, xa.Method, xa.Target)
		if xa.Status != xb.Status {
			add(what+": HTTP status", statusText(xa), statusText(xb))
		}
		if xa.Code != xb.Code {
			add(what+": error code", orNone(xa.Code), orNone(xb.Code))
		}
		if xa.Shape != xb.Shape && xa.Status == xb.Status {
			add(what+": JSON shape", clip(orNone(xa.Shape)), clip(orNone(xb.Shape)))
		}
	}
	if len(a.Exchanges) != len(b.Exchanges) && a.Status == b.Status {
		add("requests sent", fmt.Sprint(len(a.Exchanges)), fmt.Sprint(len(b.Exchanges)))
	}
	names := map[string]bool{}
	for k := range a.Observations {
		names[k] = true
	}
	for k := range b.Observations {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		if a.Observations[k] != b.Observations[k] {
			add("observation "+k, orNone(a.Observations[k]), orNone(b.Observations[k]))
		}
	}
	return rows
}

func explain(c CheckResult) string {
	if c.Status == StatusPassed || c.Message == "" {
		return ""
	}
	return ": " + clip(oneLine(c.Message))
}

func statusText(x Exchange) string {
	if x.Err != "" {
		return "transport error: " + x.Err
	}
	return fmt.Sprint(x.Status)
}

func clip(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

// Markdown renders the drift report for people.
func (d *Drift) Markdown() string {
	var b strings.Builder
	b.WriteString("# Baponi conformance drift report\n\n")
	b.WriteString("| | A | B |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| target | %s | %s |\n", cell(d.A.Target), cell(d.B.Target))
	fmt.Fprintf(&b, "| run | `%s` | `%s` |\n", d.A.RunID, d.B.RunID)
	fmt.Fprintf(&b, "| profile | %s | %s |\n", d.A.Profile, d.B.Profile)
	fmt.Fprintf(&b, "| backend | %s | %s |\n", orNone(d.A.Backend), orNone(d.B.Backend))
	fmt.Fprintf(&b, "| result | %s | %s |\n", summaryText(d.A.Summary), summaryText(d.B.Summary))
	fmt.Fprintf(&b, "\n%d checks in both runs, %d answered differently.\n", d.Compared, d.Differing)

	b.WriteString("\n## Observations\n\n| observation | about | A | B | |\n|---|---|---|---|---|\n")
	for _, o := range d.Observations {
		mark := "same"
		if !o.Same {
			mark = "**differs**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", o.Name, cell(o.About), cell(o.A), cell(o.B), mark)
	}

	b.WriteString("\n## Differences, rule by rule\n")
	if len(d.Rows) == 0 {
		b.WriteString("\nNone: every check present in both runs answered alike.\n")
	}
	rule := ""
	for _, r := range d.Rows {
		if r.Rule != rule {
			rule = r.Rule
			fmt.Fprintf(&b, "\n### %s (%s)\n\n| check | aspect | A | B |\n|---|---|---|---|\n", r.Rule, r.Level)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(r.Check), cell(r.Aspect), cell(r.A), cell(r.B))
	}
	if len(d.OnlyA) > 0 || len(d.OnlyB) > 0 {
		b.WriteString("\n## Checks in one run only\n\n")
		for _, c := range d.OnlyA {
			fmt.Fprintf(&b, "- only in A: %s\n", c)
		}
		for _, c := range d.OnlyB {
			fmt.Fprintf(&b, "- only in B: %s\n", c)
		}
	}
	return b.String()
}

func summaryText(s Summary) string {
	return fmt.Sprintf("%d passed, %d failed, %d observed, %d skipped", s.Passed, s.Failed, s.Observed, s.Skipped)
}

func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
