package faults

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
)

func TestMatchPath(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"*.json", "a.json", true},
		{"*.json", "out/deep/a.json", true}, // no '/': tried on the base name
		{"*.json", "a.jsonl", false},
		{"out/*.json", "out/a.json", true},
		{"out/*.json", "out/x/a.json", false},
		{"out/**.json", "out/x/a.json", true},
		{"out/**", "out/x/y", true},
		{"data/?.csv", "data/a.csv", true},
		{"data/?.csv", "data/ab.csv", false},
		{"*", "", false},
	} {
		if got := matchPath(c.pattern, c.path); got != c.want {
			t.Errorf("matchPath(%q, %q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
	for _, c := range []struct {
		pattern, route string
		want           bool
	}{
		{"files.*", "files.upload_url", true},
		{"mcp.*", "mcp.tools/call", true},
		{"storage.*", "files.list", false},
		{"*", "webhook", true},
	} {
		if got := Glob(c.pattern, c.route, true); got != c.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", c.pattern, c.route, got, c.want)
		}
	}
}

func TestKeyIDHidesKey(t *testing.T) {
	id := KeyID("sk-us-secret")
	if id == KeyID("sk-us-other") || len(id) != len(KeyIDPrefix)+12 || id != KeyID("sk-us-secret") {
		t.Errorf("KeyID = %q", id)
	}
	e := New(clock.NewReal(), nil)
	r, err := e.Add(Rule{Match: Match{Key: "sk-us-secret"}, Action: Action{Network: "reset"}})
	if err != nil || r.Match.Key != id {
		t.Errorf("a rule keeps %q, want the key id %q (%v)", r.Match.Key, id, err)
	}
	if d := e.Decide(Request{KeyID: id}); d == nil || d.Network != "reset" {
		t.Errorf("decision %+v", d)
	}
}

func TestEngineCountsAndClears(t *testing.T) {
	clk := clock.NewFrozen(time.Unix(0, 0))
	e := New(clk, nil)
	if e.Any() || e.Decide(Request{Route: "files.list"}) != nil {
		t.Fatal("empty engine decided something")
	}
	e.Add(Rule{ID: "mine", Match: Match{Org: "a", ThreadID: "t"}, Action: Action{Error: &ErrorAction{Status: 500}}})
	if _, err := e.Add(Rule{ID: "mine", Action: Action{Network: "close"}}); err == nil {
		t.Error("a second rule with the same id was accepted")
	}
	e.Add(Rule{Match: Match{Org: "b"}, Action: Action{Error: &ErrorAction{Status: 500}}})
	if n := e.ClearWhere("a", "t"); n != 1 || len(e.List()) != 1 {
		t.Errorf("ClearWhere removed %d, left %d", n, len(e.List()))
	}
	if e.Clear() != 1 || e.Any() {
		t.Error("Clear left rules")
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "f.yaml")
	os.WriteFile(yml, []byte(`
- match: {route: files.upload_url, path: "*.json"}
  action:
    error: {status: 503, code: service_unavailable, retry_after: 2s}
  times: 2
- match: {route: storage.get}
  action: {latency: {fixed: 100ms}}
`), 0o644)
	rules, err := LoadFile(yml)
	if err != nil || len(rules) != 2 || rules[0].Action.Error.RetryAfter.D() != 2*time.Second || rules[1].Action.Latency.Fixed.D() != 100*time.Millisecond {
		t.Fatalf("LoadFile: %+v %v", rules, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"faults": [{"action": {"network": "sideways"}}]}`), 0o644)
	if _, err := LoadFile(bad); err == nil {
		t.Error("a bad rule loaded")
	}
}
