package conformance

import (
	"fmt"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL reads best unqualified
)

// The error envelope (SPEC E-1, E-2, E-3).
var _ = Describe("errors", Label("errors"), func() {
	// E-1: one check per kind of error and endpoint, each checking the whole
	// envelope, so that a broken envelope names E-1 whatever else is wrong.
	cases := []struct {
		name string
		caps []capability
		send func(c *Check) *Response
	}{
		{"400 from list (unknown source)", nil, func(c *Check) *Response {
			return c.Call(http.MethodPost, "/v1/files/list", map[string]any{"source": "bucket", "id": "x"})
		}},
		{"400 from upload_url (negative content_length)", nil, func(c *Check) *Response {
			return c.UploadURLResp(c.UnknownThread(), "a.txt", "", -1)
		}},
		{"400 from download_url (no path)", nil, func(c *Check) *Response {
			return c.Call(http.MethodPost, "/v1/files/download_url", c.UnknownThread().body())
		}},
		{"400 from delete (no id)", nil, func(c *Check) *Response {
			return c.Call(http.MethodDelete, "/v1/files", map[string]any{"source": "thread", "path": "a.txt"})
		}},
		{"401 from list (no key)", nil, func(c *Check) *Response {
			return c.API(http.MethodPost, "/v1/files/list", nil, c.UnknownThread().body())
		}},
		{"401 from upload_url (unknown key)", nil, func(c *Check) *Response {
			return c.API(http.MethodPost, "/v1/files/upload_url", &keyRef{value: "sk-us-Y29uZm9ybWFuY2Utbm90LWEta2V5"}, c.UnknownThread().body("path", "a.txt", "content_length", 1))
		}},
		{"403 from upload_url (read-only volume)", []capability{needRO}, func(c *Check) *Response {
			return c.UploadURLResp(c.RO(), c.rs.prefix+"/denied.txt", "text/plain", 1)
		}},
		{"404 from list (unknown thread)", nil, func(c *Check) *Response {
			return c.ListResp(c.UnknownThread(), nil)
		}},
		{"404 from download_url (missing file)", []capability{needRW}, func(c *Check) *Response {
			return c.DownloadURLResp(c.RW(), c.rs.prefix+"/no-such-file.txt")
		}},
		{"404 from delete (missing file)", []capability{needRW}, func(c *Check) *Response {
			return c.DeleteResp(c.RW(), c.rs.prefix+"/no-such-file.txt")
		}},
		{"404 from list (unknown volume)", nil, func(c *Check) *Response {
			return c.ListResp(space{"volume", c.rs.prefix + "-no-such-volume"}, nil)
		}},
	}
	for _, tc := range cases {
		check("E-1", DOC, "error envelope and Content-Type on "+tc.name, nil, func(c *Check) {
			c.Need(tc.caps...)
			r := tc.send(c)
			c.True(r.Status >= 400, r, "an error status", r.Summary(), "the request did not fail: %s", r.Summary())
			c.Envelope(r)
		})
	}

	// E-1 across every operation, per status: a deviation that breaks the
	// envelope of one operation only still names E-1.
	perEndpoint := []struct {
		status int
		what   string
		caps   []capability
		send   func(c *Check, ep endpoint) *Response
	}{
		{400, "an invalid source", nil, func(c *Check, ep endpoint) *Response {
			return c.Call(ep.method, ep.path, with(ep.body(c.UnknownThread()), "source", "bucket"))
		}},
		{401, "no key", nil, func(c *Check, ep endpoint) *Response {
			return c.API(ep.method, ep.path, nil, ep.body(c.UnknownThread()))
		}},
		{404, "an unknown volume", nil, func(c *Check, ep endpoint) *Response {
			return c.Call(ep.method, ep.path, ep.body(space{"volume", c.rs.prefix + "-no-such-volume"}))
		}},
		{403, "the read-only volume", []capability{needRO}, func(c *Check, ep endpoint) *Response {
			if ep.name != "upload_url" && ep.name != "delete" {
				return nil
			}
			return c.Call(ep.method, ep.path, with(ep.body(c.RO()), "path", c.rs.prefix+"/never-there.txt"))
		}},
	}
	for _, pe := range perEndpoint {
		check("E-1", DOC, fmt.Sprintf("every operation answers %s with the envelope", pe.what), nil, func(c *Check) {
			c.Need(pe.caps...)
			for _, ep := range filesEndpoints {
				r := pe.send(c, ep)
				if r == nil {
					continue
				}
				if pe.status == 403 && ep.name == "delete" && c.rs.profile == ProfileEmulator && r.Status == http.StatusNotFound {
					continue // the emulator may look the file up first; the shape is what matters here
				}
				c.True(r.Status >= 400, r, "an error status", r.Summary(), "%s with %s did not fail", ep.name, pe.what)
				c.Envelope(r)
			}
		})
	}

	check("E-2", EMU, "unknown /v1 route → 404 not_found envelope", nil, func(c *Check) {
		r := c.Call(http.MethodPost, "/v1/files/no-such-operation", c.UnknownThread().body())
		c.Error(r, http.StatusNotFound, "not_found")
		c.Envelope(r)
	})

	check("E-2", EMU, "wrong method → 405 method_not_allowed with Allow", nil, func(c *Check) {
		r := c.Call(http.MethodGet, "/v1/files/list", nil)
		c.Error(r, http.StatusMethodNotAllowed, "method_not_allowed")
		c.Envelope(r)
		allow := r.Header.Get("Allow")
		c.True(strings.Contains(allow, "POST"), r, "Allow: POST", "Allow: "+allow, "405 without Allow naming POST")
	})

	check("E-2", EMU, "a body that is not JSON → 400 validation_error", nil, func(c *Check) {
		r := c.Call(http.MethodPost, "/v1/files/list", `{"source": "thread", "id": `)
		c.Error(r, http.StatusBadRequest, "validation_error")
		c.Envelope(r)
	})

	check("E-2", EMU, "a field of the wrong type → 400 naming the field", nil, func(c *Check) {
		r := c.Call(http.MethodPost, "/v1/files/list", map[string]any{"source": "thread", "id": 42})
		c.Error(r, http.StatusBadRequest, "validation_error")
		c.MessageHas(r, "id")
	})

	check("E-2", EMU, "an unknown source → 400 naming source", nil, func(c *Check) {
		r := c.Call(http.MethodPost, "/v1/files/list", map[string]any{"source": "bucket", "id": "x"})
		c.Error(r, http.StatusBadRequest, "validation_error")
		c.MessageHas(r, "source")
	})

	check("E-2", EMU, "a missing field → 400 naming the field", nil, func(c *Check) {
		r := c.Call(http.MethodPost, "/v1/files/upload_url", c.UnknownThread().body("content_length", 1))
		c.Error(r, http.StatusBadRequest, "validation_error")
		c.MessageHas(r, "path")
	})

	check("E-3", EMU, "no 429 without a configured rate limit; any 429 carries Retry-After", nil, func(c *Check) {
		sp := c.UnknownThread()
		for range 25 {
			r := c.ListResp(sp, nil)
			if r.Status == http.StatusTooManyRequests {
				c.True(r.Header.Get("Retry-After") != "", r, "Retry-After on 429", "no Retry-After", "429 without Retry-After")
				c.Error(r, http.StatusTooManyRequests, "rate_limited")
				c.Fail(r, "no rate limit by default", r.Summary(), "rate limited after a burst of 25 small requests though no limit is configured")
			}
		}
	})
})
