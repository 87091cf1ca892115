package conformance

import (
	"strings"
	"testing"
)

func TestCompareFindsDrift(t *testing.T) {
	a := &JSONReport{RunID: "a", Target: "A", Checks: []CheckResult{
		{Rule: "L-3", Level: DOC, Name: "prefix", Status: StatusPassed,
			Exchanges:    []Exchange{{Method: "POST", Target: "/v1/files/list", Status: 200, Shape: "{files:[{name:string}]}"}},
			Observations: map[string]string{"list_path_relativity": "root-relative"}},
		{Rule: "L-5", Level: DOC, Name: "unknown", Status: StatusPassed,
			Exchanges: []Exchange{{Method: "POST", Target: "/v1/files/list", Status: 404, Code: "not_found"}}},
		{Rule: "X-1", Level: DOC, Name: "same", Status: StatusPassed},
		{Rule: "R-1", Level: DOC, Name: "only a", Status: StatusPassed},
	}}
	b := &JSONReport{RunID: "b", Target: "B", Checks: []CheckResult{
		{Rule: "L-3", Level: DOC, Name: "prefix", Status: StatusFailed, Message: "wrong entries",
			Exchanges:    []Exchange{{Method: "POST", Target: "/v1/files/list", Status: 200, Shape: "{files:[{path:string}]}"}},
			Observations: map[string]string{"list_path_relativity": "relative to path"}},
		{Rule: "L-5", Level: DOC, Name: "unknown", Status: StatusFailed,
			Exchanges: []Exchange{{Method: "POST", Target: "/v1/files/list", Status: 400, Code: "validation_error"}}},
		{Rule: "X-1", Level: DOC, Name: "same", Status: StatusPassed},
	}}
	d := Compare(a, b)
	if d.Compared != 3 || d.Differing != 2 {
		t.Errorf("compared %d, differing %d; want 3, 2", d.Compared, d.Differing)
	}
	want := map[string][2]string{
		"status": {"passed", "failed: wrong entries"},
		"request 1 POST /v1/files/list: JSON shape":  {"{files:[{name:string}]}", "{files:[{path:string}]}"},
		"request 1 POST /v1/files/list: HTTP status": {"404", "400"},
		"request 1 POST /v1/files/list: error code":  {"not_found", "validation_error"},
		"observation list_path_relativity":           {"root-relative", "relative to path"},
	}
	for aspect, ab := range want {
		found := false
		for _, r := range d.Rows {
			if r.Aspect == aspect && r.A == ab[0] && r.B == ab[1] {
				found = true
			}
		}
		if !found {
			t.Errorf("no row %q %q → %q in %+v", aspect, ab[0], ab[1], d.Rows)
		}
	}
	if len(d.OnlyA) != 1 || len(d.OnlyB) != 0 {
		t.Errorf("only in A %v, only in B %v", d.OnlyA, d.OnlyB)
	}
	var rel *ObservationRow
	for i := range d.Observations {
		if d.Observations[i].Name == "list_path_relativity" {
			rel = &d.Observations[i]
		}
	}
	if rel == nil || rel.Same || rel.A != "root-relative" || rel.B != "relative to path" {
		t.Errorf("list path relativity row: %+v", rel)
	}
	md := d.Markdown()
	for _, s := range []string{"list_path_relativity", "**differs**", "### L-5 (DOC)", "only in A: R-1: only a"} {
		if !strings.Contains(md, s) {
			t.Errorf("Markdown lacks %q:\n%s", s, md)
		}
	}
}
