package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
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

// preflight checks reachability, auth and the clock, learns what the target
// offers, and fills in defaults that depend on the target.
func preflight(ctx context.Context, rs *runState, cfg *Config) error {
	rs.pre.Target = cfg.BaseURL
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	steps := []func(context.Context, *runState, *Config) error{
		probeEmulator, defaultKeys, probeKeys, probeVolumes, probeClock, probeExecute,
	}
	for _, step := range steps {
		if err := step(ctx, rs, cfg); err != nil {
			return err
		}
	}
	return nil
}

// probeEmulator asks /_emulator/info whether the target is localbaponi:
// only then is the rest of /_emulator/ trusted. It also picks the profile.
func probeEmulator(ctx context.Context, rs *runState, cfg *Config) error {
	p, cl := &rs.pre, rs.cl
	r := cl.do(ctx, cl.api(http.MethodGet, "/_emulator/info", nil, nil))
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
	return nil
}

// defaultKeys gives a localbaponi called without keys its dev fixture.
func defaultKeys(_ context.Context, rs *runState, cfg *Config) error {
	p := &rs.pre
	if p.Emulator && !p.Embedded {
		if cfg.APIKey == "" {
			cfg.APIKey = DevAPIKey
			p.Notes = append(p.Notes, "no API key given: using the emulator's dev key")
		}
		if cfg.APIKey == DevAPIKey {
			cfg.OtherOrgAPIKey = orDefault(cfg.OtherOrgAPIKey, DevOtherAPIKey)
			cfg.RWVolume = orDefault(cfg.RWVolume, DevRWVolume)
			cfg.ROVolume = orDefault(cfg.ROVolume, DevROVolume)
		}
	}
	if cfg.APIKey == "" {
		return fmt.Errorf("%w: no API key (--api-key or BAPONI_API_KEY)", ErrConfig)
	}
	return nil
}

// probeKeys requires the key to open a listing (a thread never used
// answers 404), reads the clock offset from the Date header, and checks
// the second organisation's key.
func probeKeys(ctx context.Context, rs *runState, cfg *Config) error {
	p, cl := &rs.pre, rs.cl
	key := keyRef{cfg.APIKey, "BAPONI_API_KEY"}
	probe := space{"thread", "conf-" + rs.runID + "-preflight"}
	localBefore := time.Now()
	r := cl.do(ctx, cl.api(http.MethodPost, "/v1/files/list", &key, probe.body()))
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
	if cfg.OtherOrgAPIKey == "" {
		return nil
	}
	if cfg.OtherOrgAPIKey == cfg.APIKey {
		return fmt.Errorf("%w: --other-org-api-key is the same key as --api-key", ErrConfig)
	}
	other := keyRef{cfg.OtherOrgAPIKey, "BAPONI_OTHER_ORG_API_KEY"}
	r = cl.do(ctx, cl.api(http.MethodPost, "/v1/files/list", &other, probe.body()))
	if r.Err != nil || r.Status == http.StatusUnauthorized {
		return fmt.Errorf("%w: the other organisation's API key was rejected: %s", ErrConfig, r.Summary())
	}
	return nil
}

// probeVolumes requires the configured volumes to be listable.
func probeVolumes(ctx context.Context, rs *runState, cfg *Config) error {
	key := keyRef{cfg.APIKey, "BAPONI_API_KEY"}
	for _, v := range []struct{ slug, flag string }{{cfg.RWVolume, "--rw-volume"}, {cfg.ROVolume, "--ro-volume"}} {
		if v.slug == "" {
			continue
		}
		r := rs.cl.do(ctx, rs.cl.api(http.MethodPost, "/v1/files/list", &key, space{"volume", v.slug}.body()))
		if r.Err != nil || r.Status != http.StatusOK {
			return fmt.Errorf("%w: %s %q cannot be listed: %s", ErrConfig, v.flag, v.slug, r.Summary())
		}
	}
	return nil
}

// probeClock looks for clock control and measures the offset from the
// target's own clock.
func probeClock(ctx context.Context, rs *runState, _ *Config) error {
	p, cl := &rs.pre, rs.cl
	if p.Emulator {
		before := time.Now()
		r := cl.do(ctx, cl.api(http.MethodGet, "/_emulator/clock", nil, nil))
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
	return nil
}

// probeExecute works out whether code execution is offered: an emulator
// says so in its features; anything else is asked with a tiny run.
func probeExecute(ctx context.Context, rs *runState, cfg *Config) error {
	p, cl := &rs.pre, rs.cl
	if p.Emulator {
		// An emulator says whether it executes code; its word is enough.
		p.Execute = slices.Contains(p.Features, "execute")
		if !p.Execute {
			p.ExecuteReason = "/_emulator/info lists no \"execute\" feature"
		}
		return nil
	}
	key := keyRef{cfg.APIKey, "BAPONI_API_KEY"}
	r := cl.do(ctx, cl.api(http.MethodPost, "/v1/sandbox/execute", &key, map[string]any{"code": "print('ok')", "language": "python"}))
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
