package conformance

import (
	"net/http"
	"slices"
	"time"
)

// The emulator's own admin surface (SPEC M-1 … M-3): checked only on a
// target that says it is localbaponi.
var _ = area("admin", nil, func() {
	check("M-1", EMU, "/_emulator/health answers 200; /_emulator/info names version, backend and features", labels("M-1.a", "M-1.b"), func(c *checkRun) {
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

	check("M-2", EMU, "POST /_emulator/clock {advance} moves the clock that GET reads, forward only", labels("clock", "M-2.a"), func(c *checkRun) {
		c.need(needEmulator, needClock)
		before := c.serverNow()
		c.advance(90 * time.Second)
		after := c.serverNow()
		d := after.Sub(before)
		c.expect(nil, d >= 90*time.Second && d < 90*time.Second+time.Minute, claim{want: "the clock 90 s later", got: d.String(), why: "advance did not move the clock by what it asked"})
	})

	check("M-3", EMU, "a key made with the admin API works, and a revoked one gets 401", labels("M-3.a", "M-3.b"), func(c *checkRun) {
		c.need(needEmulator)
		k := c.arrangedKey("second key", "", nil)
		c.wantError(c.api(http.MethodPost, "/v1/files/list", k, c.unknownThread().body()), http.StatusNotFound, "not_found")
		c.ok(c.api(http.MethodDelete, "/_emulator/keys/"+k.value, nil, nil))
		c.wantError(c.api(http.MethodPost, "/v1/files/list", k, c.unknownThread().body()), http.StatusUnauthorized, "unauthorized")
	})
})

// M-3: state arranged through the admin API takes effect at once.
var _ = area("admin", nil, func() {
	check("M-3", EMU, "a volume made with the admin API and seeded with files lists and downloads them", labels("M-3.c"), func(c *checkRun) {
		c.need(needEmulator)
		sp := c.arrangedVolume("m3-vol", map[string]string{"hello.txt": "hi there"})
		es, r := c.list(sp, nil)
		c.listed(r, "the new volume's listing", paths(es), "hello.txt")
		got := c.download(sp, "hello.txt")
		equal(c, got, "the seeded file's bytes", string(got.Body), "hi there")
	})

	check("M-3", EMU, "a read-only flip takes effect at once, both ways", labels("M-3.d", "U-4.a"), func(c *checkRun) {
		c.need(needEmulator)
		sp := c.arrangedVolume("m3-flip", map[string]string{"seed.txt": "s"})
		c.ok(c.uploadURLResp(sp, "before.txt", "text/plain", 1))
		c.setReadOnly(sp, true)
		c.wantError(c.uploadURLResp(sp, "during.txt", "text/plain", 1), http.StatusForbidden, "forbidden")
		c.wantError(c.deleteResp(sp, "seed.txt"), http.StatusForbidden, "forbidden")
		c.setReadOnly(sp, false)
		c.ok(c.uploadURLResp(sp, "after.txt", "text/plain", 1))
	})
})
