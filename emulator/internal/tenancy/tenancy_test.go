package tenancy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDevConfigMatchesFixture(t *testing.T) {
	c, err := LoadConfig(filepath.Join("..", "..", "..", "fixtures", "dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dev := DevConfig()
	if c.Signing != dev.Signing || len(c.Orgs) != len(dev.Orgs) {
		t.Fatalf("fixtures/dev.yaml differs from DevConfig: %+v vs %+v", c, dev)
	}
	for i := range c.Orgs {
		if c.Orgs[i].ID != dev.Orgs[i].ID || c.Orgs[i].Keys[0].Key != dev.Orgs[i].Keys[0].Key || len(c.Orgs[i].Volumes) != len(dev.Orgs[i].Volumes) {
			t.Fatalf("org %d differs: %+v vs %+v", i, c.Orgs[i], dev.Orgs[i])
		}
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown field", "orgs:\n  - id: a\n    kez: []\n", "field kez not found"},
		{"bad key", "orgs:\n  - id: a\n    keys: [{key: nope}]\n", "sk-<region>-<token>"},
		{"repeated key", "orgs:\n  - id: a\n    keys: [{key: sk-us-aaaaaaaaaa}]\n  - id: b\n    keys: [{key: sk-us-aaaaaaaaaa}]\n", "key is repeated"},
		{"repeated org", "orgs:\n  - id: a\n  - id: a\n", "repeated"},
		{"bad slug", "orgs:\n  - id: a\n    volumes: [{slug: 'a/b'}]\n", "slug"},
		{"bad seed path", "orgs:\n  - id: a\n    volumes: [{slug: v, files: {'../x': y}}]\n", "files"},
		{"bad key id", "signing: {key_id: Not_OK}\n", "key_id"},
		{"bad rate", "orgs:\n  - id: a\n    keys: [{key: sk-us-aaaaaaaaaa, rate_limit: {rps: 0, burst: 1}}]\n", "rate_limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadConfig error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestRegistryKeysAndVolumes(t *testing.T) {
	r, err := NewRegistry(DevConfig())
	if err != nil {
		t.Fatal(err)
	}
	k, ok := r.Authenticate(DevKey)
	if !ok || k.Org != DevOrg || k.MaxTimeout != DefaultMaxTimeout || k.MemoryLimit != DefaultMemoryLimit {
		t.Fatalf("Authenticate(dev key) = %+v, %v", k, ok)
	}
	if v, ok := r.Volume(DevOrg, DevROVolume); !ok || !v.ReadOnly {
		t.Fatalf("reference-data = %+v, %v; want read-only", v, ok)
	}
	if _, ok := r.Volume(DevOtherOrg, DevRWVolume); ok {
		t.Fatal("org_other sees org_local's volume")
	}
	if _, err := r.CreateVolume(DevOrg, DevRWVolume, false); err == nil {
		t.Fatal("creating an existing volume succeeded")
	}
	if _, err := r.CreateVolume("nope", "v", false); err == nil {
		t.Fatal("creating a volume in an unknown org succeeded")
	}
	if v, err := r.SetReadOnly(DevOrg, DevRWVolume, true); err != nil || !v.ReadOnly {
		t.Fatalf("SetReadOnly = %+v, %v", v, err)
	}
	ki, err := r.CreateKey(DevOtherOrg, KeyConfig{})
	if err != nil || !ValidAPIKey(ki.Key) {
		t.Fatalf("CreateKey = %+v, %v", ki, err)
	}
	if err := r.RevokeKey(ki.Key); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Authenticate(ki.Key); ok {
		t.Fatal("revoked key still authenticates")
	}
	if _, err := r.CreateKey(DevOtherOrg, KeyConfig{Key: ki.Key}); err == nil {
		t.Fatal("a revoked key could be created again")
	}
}

func TestRateLimitFollowsTheGivenClock(t *testing.T) {
	k := newKey("o", KeyConfig{Key: "sk-us-aaaaaaaaaa", RateLimit: &RateLimit{RPS: 1, Burst: 2}})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 2; i++ {
		if ok, _ := k.Allow(now); !ok {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	ok, wait := k.Allow(now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("third request: ok=%v wait=%v; want refused with a wait up to 1s", ok, wait)
	}
	if got := RetryAfterSeconds(wait); got != 1 {
		t.Fatalf("RetryAfterSeconds(%v) = %d, want 1", wait, got)
	}
	if ok, _ := k.Allow(now.Add(time.Second)); !ok {
		t.Fatal("request one second later (emulator time) refused")
	}
	unlimited := newKey("o", KeyConfig{Key: "sk-us-bbbbbbbbbb"})
	for i := 0; i < 1000; i++ {
		if ok, _ := unlimited.Allow(now); !ok {
			t.Fatal("a key without a rate limit was limited")
		}
	}
}

func TestQuotas(t *testing.T) {
	c := DevConfig()
	c.Orgs[0].ThreadQuotaMiB = 100
	c.Orgs[0].VolumeQuotaMiB = 200
	c.Orgs[0].Volumes[0].QuotaMiB = 50
	r, err := NewRegistry(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.ThreadQuotaBytes(DevOrg); got != 100<<20 {
		t.Errorf("thread quota %d", got)
	}
	if got := r.ThreadQuotaBytes(DevOtherOrg); got != DefaultQuotaMiB<<20 {
		t.Errorf("default thread quota %d", got)
	}
	if v, _ := r.Volume(DevOrg, DevRWVolume); v.QuotaMiB != 50 {
		t.Errorf("volume's own quota %d", v.QuotaMiB)
	}
	if v, _ := r.Volume(DevOrg, DevROVolume); v.QuotaMiB != 200 {
		t.Errorf("org volume quota %d", v.QuotaMiB)
	}
	if v, err := r.CreateVolume(DevOrg, "added", false); err != nil || v.QuotaMiB != 200 {
		t.Errorf("added volume %+v %v", v, err)
	}
	c.Orgs[0].Volumes[0].QuotaMiB = -1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "quota_mib") {
		t.Errorf("negative quota: %v", err)
	}
}
