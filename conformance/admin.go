package conformance

import (
	"net/http"
	"slices"
	"time"
)

// The emulator's own admin surface (SPEC M-1 … M-3): checked only on a
// target that says it is localbaponi.
var _ = area("admin", nil, func() {
	check("M-1", EMU, "/_emulator/health answers 200; /_emulator/info names version, backend and features", nil, func(c *checkRun) {
		c.need(needEmulator)
		c.ok(c.api(http.MethodGet, "/_emulator/health", nil, nil))
		r := c.api(http.MethodGet, "/_emulator/info", nil, nil)
		c.ok(r)
		var info struct {
			Version  string   `json:"version"`
			Backend  string   `json:"backend"`
			Features []string `json:"features"`
		}
		err := r.JSON(&info)
		c.expect(r, err == nil && info.Version != "" && info.Features != nil, claim{want: "{version, backend, features}", got: r.Summary(), why: "/_emulator/info lacks version or features"})
		c.expect(r, slices.Contains([]string{"gcs", "s3", "azure"}, info.Backend), claim{want: "backend gcs, s3 or azure", got: info.Backend, why: "/_emulator/info names no known backend"})
	})

	check("M-2", EMU, "POST /_emulator/clock {advance} moves the clock that GET reads, forward only", labels("clock"), func(c *checkRun) {
		c.need(needEmulator, needClock)
		before := c.serverNow()
		c.advance(90 * time.Second)
		after := c.serverNow()
		d := after.Sub(before)
		c.expect(nil, d >= 90*time.Second && d < 90*time.Second+time.Minute, claim{want: "the clock 90 s later", got: d.String(), why: "advance did not move the clock by what it asked"})
	})

	check("M-3", EMU, "a key made with the admin API works, and a revoked one gets 401", nil, func(c *checkRun) {
		c.need(needEmulator)
		k := c.arrangedKey("second key", "", nil)
		c.wantError(c.api(http.MethodPost, "/v1/files/list", k, c.unknownThread().body()), http.StatusNotFound, "not_found")
		c.ok(c.api(http.MethodDelete, "/_emulator/keys/"+k.value, nil, nil))
		c.wantError(c.api(http.MethodPost, "/v1/files/list", k, c.unknownThread().body()), http.StatusUnauthorized, "unauthorized")
	})
})
