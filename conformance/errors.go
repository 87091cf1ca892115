package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The error envelope (SPEC E-1, E-2, E-3).
var _ = area("errors", nil, func() {
	// E-1: one check per kind of error and endpoint, each checking the whole
	// envelope, so that a broken envelope names E-1 whatever else is wrong.
	cases := []struct {
		name   string
		clause string // the status's code clause (E-1.d, e, f)
		caps   []capability
		send   func(c *checkRun) *Response
	}{
		{"400 from list (unknown source)", "E-1.d", nil, func(c *checkRun) *Response {
			return c.call(http.MethodPost, "/v1/files/list", map[string]any{"source": "bucket", "id": "x"})
		}},
		{"400 from upload_url (negative content_length)", "E-1.d", nil, func(c *checkRun) *Response {
			return c.uploadURLResp(c.unknownThread(), "a.txt", "", -1)
		}},
		{"400 from download_url (no path)", "E-1.d", nil, func(c *checkRun) *Response {
			return c.call(http.MethodPost, "/v1/files/download_url", c.unknownThread().body())
		}},
		{"400 from delete (no id)", "E-1.d", nil, func(c *checkRun) *Response {
			return c.call(http.MethodDelete, "/v1/files", map[string]any{"source": "thread", "path": "a.txt"})
		}},
		{"401 from list (no key)", "A-1.e", nil, func(c *checkRun) *Response {
			return c.api(http.MethodPost, "/v1/files/list", nil, c.unknownThread().body())
		}},
		{"401 from upload_url (unknown key)", "A-1.e", nil, func(c *checkRun) *Response {
			return c.api(http.MethodPost, "/v1/files/upload_url", &keyRef{value: "sk-us-Y29uZm9ybWFuY2Utbm90LWEta2V5"}, c.unknownThread().body("path", "a.txt", "content_length", 1))
		}},
		{"403 from upload_url (read-only volume)", "E-1.f", []capability{needRO}, func(c *checkRun) *Response {
			return c.uploadURLResp(c.ro(), c.rs.prefix+"/denied.txt", "text/plain", 1)
		}},
		{"404 from list (unknown thread)", "E-1.e", nil, func(c *checkRun) *Response {
			return c.listResp(c.unknownThread(), nil)
		}},
		{"404 from download_url (missing file)", "E-1.e", []capability{needRW}, func(c *checkRun) *Response {
			return c.downloadURLResp(c.rw(), c.rs.prefix+"/no-such-file.txt")
		}},
		{"404 from delete (missing file)", "E-1.e", []capability{needRW}, func(c *checkRun) *Response {
			return c.deleteResp(c.rw(), c.rs.prefix+"/no-such-file.txt")
		}},
		{"404 from list (unknown volume)", "E-1.e", nil, func(c *checkRun) *Response {
			return c.listResp(space{"volume", c.rs.prefix + "-no-such-volume"}, nil)
		}},
	}
	for _, tc := range cases {
		check("E-1", DOC, "error envelope and Content-Type on "+tc.name, labels("E-1.a", "E-1.b", "E-1.c", tc.clause), func(c *checkRun) {
			c.need(tc.caps...)
			r := tc.send(c)
			c.expect(r, r.Status >= 400, claim{want: "an error status", got: r.Summary(), why: fmt.Sprintf("the request did not fail: %s", r.Summary())})
			c.envelope(r)
		})
	}

	// E-1 across every operation, per status: a deviation that breaks the
	// envelope of one operation only still names E-1.
	perEndpoint := []struct {
		status int
		what   string
		clause string
		caps   []capability
		send   func(c *checkRun, ep endpoint) *Response
	}{
		{400, "an invalid source", "E-1.d", nil, func(c *checkRun, ep endpoint) *Response {
			return c.call(ep.method, ep.path, with(ep.body(c.unknownThread()), "source", "bucket"))
		}},
		{401, "no key", "A-1.e", nil, func(c *checkRun, ep endpoint) *Response {
			return c.api(ep.method, ep.path, nil, ep.body(c.unknownThread()))
		}},
		{404, "an unknown volume", "E-1.e", nil, func(c *checkRun, ep endpoint) *Response {
			return c.call(ep.method, ep.path, ep.body(space{"volume", c.rs.prefix + "-no-such-volume"}))
		}},
		{403, "the read-only volume", "E-1.f", []capability{needRO}, func(c *checkRun, ep endpoint) *Response {
			if ep.name != "upload_url" && ep.name != "delete" {
				return nil
			}
			return c.call(ep.method, ep.path, with(ep.body(c.ro()), "path", c.rs.prefix+"/never-there.txt"))
		}},
	}
	for _, pe := range perEndpoint {
		check("E-1", DOC, fmt.Sprintf("every operation answers %s with the envelope", pe.what), labels("E-1.a", "E-1.b", "E-1.c", pe.clause), func(c *checkRun) {
			c.need(pe.caps...)
			for _, ep := range filesEndpoints {
				r := pe.send(c, ep)
				if r == nil {
					continue
				}
				if pe.status == 403 && ep.name == "delete" && c.rs.profile == ProfileEmulator && r.Status == http.StatusNotFound {
					continue // the emulator may look the file up first; the shape is what matters here
				}
				c.expect(r, r.Status >= 400, claim{want: "an error status", got: r.Summary(), why: fmt.Sprintf("%s with %s did not fail", ep.name, pe.what)})
				c.envelope(r)
			}
		})
	}

	check("E-2", EMU, "unknown /v1 route → 404 not_found envelope", labels("E-2.a"), func(c *checkRun) {
		r := c.call(http.MethodPost, "/v1/files/no-such-operation", c.unknownThread().body())
		c.wantError(r, http.StatusNotFound, "not_found")
		c.envelope(r)
	})

	check("E-2", EMU, "wrong method → 405 method_not_allowed with Allow", labels("E-2.b", "E-2.c"), func(c *checkRun) {
		r := c.call(http.MethodGet, "/v1/files/list", nil)
		c.wantError(r, http.StatusMethodNotAllowed, "method_not_allowed")
		c.envelope(r)
		allow := r.Header.Get("Allow")
		c.expect(r, strings.Contains(allow, "POST"), claim{want: "Allow: POST", got: "Allow: " + allow, why: "405 without Allow naming POST"})
	})

	check("E-2", EMU, "a body that is not JSON → 400 validation_error", labels("E-2.d"), func(c *checkRun) {
		r := c.call(http.MethodPost, "/v1/files/list", `{"source": "thread", "id": `)
		c.wantError(r, http.StatusBadRequest, "validation_error")
		c.envelope(r)
	})

	check("E-2", EMU, "a field of the wrong type → 400 naming the field", labels("E-2.f", "E-2.g"), func(c *checkRun) {
		r := c.call(http.MethodPost, "/v1/files/list", map[string]any{"source": "thread", "id": 42})
		c.wantError(r, http.StatusBadRequest, "validation_error")
		c.messageHas(r, "id")
	})

	check("E-2", EMU, "an unknown source → 400 naming source", labels("E-2.f", "E-2.g"), func(c *checkRun) {
		r := c.call(http.MethodPost, "/v1/files/list", map[string]any{"source": "bucket", "id": "x"})
		c.wantError(r, http.StatusBadRequest, "validation_error")
		c.messageHas(r, "source")
	})

	check("E-2", EMU, "a missing field → 400 naming the field", labels("E-2.g"), func(c *checkRun) {
		r := c.call(http.MethodPost, "/v1/files/upload_url", c.unknownThread().body("content_length", 1))
		c.wantError(r, http.StatusBadRequest, "validation_error")
		c.messageHas(r, "path")
	})

	check("E-2", EMU, "a key that differs from a known field only in case → 400 naming the field", labels("E-2.g", "E-2.h"), func(c *checkRun) {
		r := c.call(http.MethodPost, "/v1/files/upload_url", c.unknownThread().body("path", "f.txt", "PATH", "x.txt", "content_length", 1))
		c.wantError(r, http.StatusBadRequest, "validation_error")
		c.messageHas(r, "path")
	})

	check("E-2", EMU, "invalid UTF-8 in a string field → 400 naming the field (not U+FFFD)", labels("E-2.e", "E-2.g"), func(c *checkRun) {
		b, _ := json.Marshal(c.unknownThread().body("path", "f.txt", "content_length", 1, "content_type", "text/conformance-mark"))
		r := c.call(http.MethodPost, "/v1/files/upload_url", string(bytes.Replace(b, []byte("conformance-mark"), []byte("pl\xffain"), 1)))
		c.wantError(r, http.StatusBadRequest, "validation_error")
		c.messageHas(r, "content_type")
	})

	check("E-2", EMU, "an unclean /v1 path (// or ..) → JSON 404, never a redirect", labels("E-2.a"), func(c *checkRun) {
		for _, p := range []string{"/v1//files/list", "/v1/files/../files/list"} {
			r := c.call(http.MethodPost, p, c.unknownThread().body())
			c.wantError(r, http.StatusNotFound, "not_found")
			c.envelope(r)
		}
	})

	check("E-3", EMU, "no 429 without a configured rate limit; any 429 carries Retry-After", labels("E-3.a"), func(c *checkRun) {
		sp := c.unknownThread()
		for range 25 {
			r := c.listResp(sp, nil)
			if r.Status == http.StatusTooManyRequests {
				c.expect(r, r.Header.Get("Retry-After") != "", claim{want: "Retry-After on 429", got: "no Retry-After", why: "429 without Retry-After"})
				c.wantError(r, http.StatusTooManyRequests, "rate_limited")
				c.fail(r, "no rate limit by default", r.Summary(), "rate limited after a burst of 25 small requests though no limit is configured")
			}
		}
	})
})

// E-2 body encoding, and E-3 against a key that has a rate limit.
var _ = area("errors", nil, func() {
	check("E-2", EMU, "a body that is not valid UTF-8 → 400 validation_error", labels("E-2.e"), func(c *checkRun) {
		body := []byte(`{"source": "thread", "id": "` + c.unknownThread().ID + "\xff\xfe" + `"}`)
		r := c.call(http.MethodPost, "/v1/files/list", body)
		c.wantError(r, http.StatusBadRequest, "validation_error")
	})

	check("E-3", EMU, "over a key's rate limit → 429 rate_limited with Retry-After in seconds", labels("E-3.b", "E-3.c", "E-3.d"), func(c *checkRun) {
		key := c.arrangedKey("rate-limited key", c.rs.cfg.RateLimitedAPIKey, map[string]any{"rate_limit": map[string]any{"rps": 0.5, "burst": 2}})
		sp := c.unknownThread()
		var limited *Response
		for range 12 {
			r := c.api(http.MethodPost, "/v1/files/list", key, sp.body())
			if r.Status == http.StatusTooManyRequests {
				limited = r
				break
			}
		}
		if limited == nil {
			c.fail(c.last, "a 429 within 12 quick requests", c.last.Summary(), "a key with a rate limit (0.5/s, burst 2) was never limited")
		}
		c.wantError(limited, http.StatusTooManyRequests, "rate_limited")
		ra := limited.Header.Get("Retry-After")
		secs, err := strconv.Atoi(ra)
		c.expect(limited, err == nil && secs >= 1, claim{want: "Retry-After: <seconds ≥ 1>", got: "Retry-After: " + ra, why: "a 429 without Retry-After in whole seconds"})
		c.observe("retry_after", ra)
	})
})
