package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Arranging state a check needs on a target with the admin API (profile
// emulator, /_emulator/keys and /_emulator/volumes): a key with a rate
// limit, a key with a small memory limit, a second key of the same
// organisation, a volume whose read-only flag a check may flip. On a
// deployment these come from the operator (see arrangeInputs); a check
// that cannot have them is skipped with the input that would enable it.

// arrangeInputs names, per arranged thing, the operator input that
// provides it on a deployment; skip reasons quote them.
var arrangeInputs = map[string]string{
	"rate-limited key": "--rate-limited-api-key / BAPONI_RATE_LIMITED_API_KEY (a key of the organisation with a small rate limit)",
	"small-memory key": "--small-memory-api-key / BAPONI_SMALL_MEMORY_API_KEY (a key whose executions are limited to a few hundred MiB)",
	"second key":       "--second-api-key / BAPONI_SECOND_API_KEY (another key of the same organisation)",
	"revoked key":      "--revoked-api-key / BAPONI_REVOKED_API_KEY (a key of the organisation that has been revoked)",
	"flippable volume": "none: a deployment's volumes are made read-only by its administrator; the check needs the emulator's admin API",
}

// adminAPI reports whether the admin API can arrange state.
func (c *checkRun) adminAPI() bool {
	return c.rs.pre.Emulator
}

// orgOfKey is the organisation of the run's key, from /_emulator/keys.
func (c *checkRun) orgOfKey() string {
	r := c.api(http.MethodGet, "/_emulator/keys", nil, nil)
	c.ok(r)
	var v struct {
		Keys []struct {
			Key string `json:"key"`
			Org string `json:"org"`
		} `json:"keys"`
	}
	if err := r.JSON(&v); err != nil {
		c.fail(r, `{"keys": [{key, org}]}`, r.Summary(), "cannot read /_emulator/keys: %v", err)
	}
	for _, k := range v.Keys {
		if k.Key == c.rs.key.value {
			return k.Org
		}
	}
	c.fail(r, "the run's key listed", r.Summary(), "/_emulator/keys does not list the run's key")
	return ""
}

// arrangedKey is a key the run made for a check, or the operator's.
func (c *checkRun) arrangedKey(what string, operator string, settings map[string]any) *keyRef {
	if operator != "" {
		return &keyRef{value: operator, env: envOfInput(what)}
	}
	if !c.adminAPI() {
		c.skip("needs a %s: on a deployment give %s", what, arrangeInputs[what])
	}
	body := map[string]any{"org": c.orgOfKey()}
	for k, v := range settings {
		body[k] = v
	}
	r := c.api(http.MethodPost, "/_emulator/keys", nil, body)
	c.status(r, http.StatusCreated, http.StatusOK)
	var k struct {
		Key string `json:"key"`
	}
	if err := r.JSON(&k); err != nil || k.Key == "" {
		c.fail(r, `{"key": "sk-..."}`, r.Summary(), "the admin API made no key (%v)", err)
	}
	c.deferCleanup(func(ctx context.Context) {
		c.rs.cl.do(ctx, c.rs.cl.api(http.MethodDelete, "/_emulator/keys/"+k.Key, nil, nil))
	})
	return &keyRef{value: k.Key}
}

func envOfInput(what string) string {
	switch what {
	case "rate-limited key":
		return "BAPONI_RATE_LIMITED_API_KEY"
	case "small-memory key":
		return "BAPONI_SMALL_MEMORY_API_KEY"
	case "second key":
		return "BAPONI_SECOND_API_KEY"
	case "revoked key":
		return "BAPONI_REVOKED_API_KEY"
	}
	return ""
}

// arrangedVolume creates a fresh read-write volume of the organisation
// (slug under the run prefix) seeded with files, for a check that flips
// it read-only. Volumes cannot be deleted through the admin API; the
// emulator's state goes with it.
func (c *checkRun) arrangedVolume(tag string, files map[string]string) space {
	if !c.adminAPI() {
		c.skip("needs a volume it may flip read-only: %s", arrangeInputs["flippable volume"])
	}
	slug := c.rs.freshID(tag)
	r := c.api(http.MethodPost, "/_emulator/volumes", nil, map[string]any{"org": c.orgOfKey(), "slug": slug, "files": files})
	c.status(r, http.StatusCreated, http.StatusOK)
	return space{"volume", slug}
}

// setReadOnly flips an arranged volume's read-only flag.
func (c *checkRun) setReadOnly(sp space, ro bool) {
	r := c.api(http.MethodPatch, fmt.Sprintf("/_emulator/volumes/%s/%s", c.orgOfKey(), sp.ID), nil, map[string]any{"read_only": ro})
	c.ok(r)
	var v map[string]any
	if json.Unmarshal(r.Body, &v) == nil {
		if got, ok := v["read_only"].(bool); ok && got != ro {
			c.fail(r, fmt.Sprintf("read_only %v", ro), r.Summary(), "the admin API did not flip read_only")
		}
	}
}
