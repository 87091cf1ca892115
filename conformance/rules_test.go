package conformance

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEveryRuleHasACheck keeps SPEC sections 1–3 covered: every rule ID is
// cited by at least one registered check, and every check cites a rule.
func TestEveryRuleHasACheck(t *testing.T) {
	cited := map[string]bool{}
	for _, c := range Checks() {
		cited[c.Rule] = true
		if ruleLevel(c.Rule) == "" {
			t.Errorf("check %q cites %s, which is not a rule of the table", c.Name, c.Rule)
		}
	}
	for _, r := range Rules() {
		if !cited[r.ID] {
			t.Errorf("rule %s (%s) has no check", r.ID, r.Title)
		}
	}
}

// TestNoGinkgoContainers guards the registry: checks are registered with
// area and check; a Ginkgo Describe or It in a spec file would never run.
func TestNoGinkgoContainers(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\s*(var _ = )?(Describe|Context|It|When)\(`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if loc := re.FindIndex(b); loc != nil {
			t.Errorf("%s uses a Ginkgo container (%q): register checks with area(...) and check(...)", f, strings.TrimSpace(string(b[loc[0]:loc[1]])))
		}
	}
}

func TestTamperFlipsOnlyTheSignature(t *testing.T) {
	tests := []struct{ name, in, param string }{
		{"gcs", "http://h/b/o?X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Signature=abcdef0123456789", "X-Goog-Signature"},
		{"s3", "http://h/b/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ffff9999", "X-Amz-Signature"},
		{"azure", "http://h/c/b?sv=2021-08-06&se=2026-01-01T00%3A00%3A00Z&sp=cw&sr=b&sig=AbC%2Bz%3D", "sig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tamper(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if out == tt.in {
				t.Fatal("URL unchanged")
			}
			if len(out) != len(tt.in) {
				t.Fatalf("length changed: %q", out)
			}
			diff := 0
			for i := range out {
				if out[i] != tt.in[i] {
					diff++
					if !strings.Contains(out[:i], tt.param+"=") {
						t.Errorf("changed a character outside %s: %q", tt.param, out)
					}
				}
			}
			if diff != 1 {
				t.Errorf("changed %d characters, want 1", diff)
			}
			if providerOf(tt.in) != tt.name {
				t.Errorf("providerOf = %q, want %q", providerOf(tt.in), tt.name)
			}
		})
	}
	if _, err := tamper("http://h/x?a=b"); err == nil {
		t.Error("tamper of an unsigned URL: want an error")
	}
}

func TestLabelFilterExcludesSlow(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "!slow"},
		{"upload", "(upload) && !slow"},
		{"slow", "slow"},
		{"U-2 && slow", "U-2 && slow"},
	}
	for _, tt := range tests {
		got, err := labelFilter(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("labelFilter(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := labelFilter("upload &&"); err == nil {
		t.Error("a broken filter: want an error")
	}
}

func TestParseUTC(t *testing.T) {
	for _, s := range []string{"2026-03-04T12:15:00Z", "2026-03-04T12:15:00.5Z", "2026-03-04T12:15:00+00:00"} {
		if _, err := parseUTC(s); err != nil {
			t.Errorf("parseUTC(%q): %v", s, err)
		}
	}
	for _, s := range []string{"2026-03-04T12:15:00+01:00", "2026-03-04 12:15:00", "", "1709554500"} {
		if _, err := parseUTC(s); err == nil {
			t.Errorf("parseUTC(%q): want an error", s)
		}
	}
}

// TestRulesMarkdownUpToDate fails when RULES.md and conformance.Rules()
// drift; go generate ./conformance rewrites it.
func TestRulesMarkdownUpToDate(t *testing.T) {
	b, err := os.ReadFile("RULES.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != RulesMarkdown() {
		t.Error("RULES.md is not what conformance.Rules() renders: run go generate ./conformance")
	}
}

// TestEveryClauseHasACheck: every clause of the rule table is cited by a
// check, every clause a check cites exists, and clause IDs belong to
// their rule.
func TestEveryClauseHasACheck(t *testing.T) {
	known := map[string]bool{}
	for _, r := range Rules() {
		for _, cl := range r.Clauses {
			if !strings.HasPrefix(cl.ID, r.ID+".") {
				t.Errorf("clause %s is listed under rule %s", cl.ID, r.ID)
			}
			if known[cl.ID] {
				t.Errorf("clause %s listed twice", cl.ID)
			}
			known[cl.ID] = true
		}
	}
	cited := map[string]bool{}
	for _, c := range Checks() {
		for _, cl := range c.Clauses {
			cited[cl] = true
			if !known[cl] {
				t.Errorf("check %q cites clause %s, which is not in the table", c.Name, cl)
			}
		}
	}
	for id := range known {
		if !cited[id] {
			t.Errorf("clause %s has no check", id)
		}
	}
}
