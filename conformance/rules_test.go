package conformance

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEveryRuleHasACheck keeps SPEC sections 1–3 covered: every rule ID is
// cited by at least one check("<ID>", ...) in the spec files.
func TestEveryRuleHasACheck(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`check\("([A-Z]-\d+)", (DOC|EMU|[a-z.]+),`)
	cited := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			cited[m[1]] = true
		}
	}
	for _, r := range Rules() {
		if !cited[r.ID] {
			t.Errorf("rule %s (%s) has no check", r.ID, r.Title)
		}
	}
	for id := range cited {
		if ruleLevel(id) == "" {
			t.Errorf("a check cites %s, which is not a rule of SPEC sections 1–3", id)
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
