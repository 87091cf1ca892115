package conformance

import (
	"net/url"
	"strings"
)

// capability is something a check needs from the target or the config.
type capability int

const (
	needRW capability = iota
	needRO
	needOther
	needExecute
	needClock
	needEmulator
	needIsolation
	needLoopback
)

// need skips the check unless the target and config provide caps.
func (c *checkRun) need(caps ...capability) {
	p := c.rs.pre
	for _, cp := range caps {
		switch cp {
		case needRW:
			if c.rs.cfg.RWVolume == "" {
				c.skip("no read-write volume configured (--rw-volume)")
			}
		case needRO:
			if c.rs.cfg.ROVolume == "" {
				c.skip("no read-only volume configured (--ro-volume)")
			}
		case needOther:
			if c.rs.cfg.OtherOrgAPIKey == "" {
				c.skip("no second organisation's key configured (--other-org-api-key)")
			}
		case needExecute:
			if !p.Execute {
				c.skip("the target does not offer code execution: %s", p.ExecuteReason)
			}
		case needClock:
			if !p.ClockControl {
				c.skip("the target offers no clock control (/_emulator/clock)")
			}
		case needEmulator:
			if !p.Emulator {
				c.skip("the target does not declare itself an emulator (/_emulator/info)")
			}
		case needIsolation:
			if p.Emulator && p.Isolation != "" && !p.Isolated {
				c.skip("the target reports no sandbox isolation (%s)", p.Isolation)
			}
		case needLoopback:
			u, err := url.Parse(c.rs.cl.base)
			if err != nil || !isLoopbackHost(u.Hostname()) {
				c.skip("the target is not on this machine, so it cannot reach a webhook served here")
			}
		}
	}
}

func isLoopbackHost(h string) bool {
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}
