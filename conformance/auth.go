package conformance

import (
	"net/http"
)

// Authentication (SPEC A-1): every /v1 request needs a Bearer key.
var _ = area("auth", nil, func() {
	fixed := func(h string) func(*checkRun) string { return func(*checkRun) string { return h } }
	bad := []struct {
		name   string
		clause string
		header func(c *checkRun) string // "" sends no Authorization header
	}{
		{"without an Authorization header", "A-1.a", fixed("")},
		{"with the Basic scheme", "A-1.b", fixed("Basic Y29uZm9ybWFuY2U6c2VjcmV0")},
		{"with an unknown key", "A-1.c", fixed("Bearer sk-us-Y29uZm9ybWFuY2Utbm90LWEta2V5")},
		{"with a key of the wrong shape", "A-1.c", fixed("Bearer not-a-baponi-key")},
		{"with an empty Bearer token", "A-1.c", fixed("Bearer ")},
	}
	for _, b := range bad {
		check("A-1", DOC, "every endpoint answers 401 unauthorized "+b.name, labels(b.clause, "A-1.e"), func(c *checkRun) {
			header := b.header(c)
			sp := c.unknownThread()
			eps := append([]endpoint{}, filesEndpoints...)
			if c.rs.pre.Execute {
				eps = append(eps, endpoint{"execute", http.MethodPost, "/v1/sandbox/execute", func(space) map[string]any {
					return map[string]any{"code": "print(1)"}
				}})
			}
			for _, ep := range eps {
				q := c.rs.cl.api(ep.method, ep.path, nil, ep.body(sp))
				if header != "" {
					q.Header.Set("Authorization", header)
				}
				r := c.send(q)
				c.wantError(r, http.StatusUnauthorized, "unauthorized")
			}
		})
	}

	check("A-1", DOC, "authentication comes before validation: no key and an invalid body → 401", labels("A-1.g"), func(c *checkRun) {
		r := c.api(http.MethodPost, "/v1/files/upload_url", nil, `{"source": "bucket", "content_length": -1}`)
		c.wantError(r, http.StatusUnauthorized, "unauthorized")
	})

	check("A-1", DOC, "a valid key is accepted by every endpoint", labels("A-1.f"), func(c *checkRun) {
		sp := c.thread("auth-ok")
		c.status(c.uploadURLResp(sp, "a.txt", "text/plain", 1), http.StatusOK)
		c.status(c.listResp(c.unknownThread(), nil), http.StatusNotFound)
		c.status(c.downloadURLResp(c.unknownThread(), "a.txt"), http.StatusNotFound)
		c.status(c.deleteResp(c.unknownThread(), "a.txt"), http.StatusNotFound)
	})
})

// A-1 for a key that existed and was revoked: arranged with the admin API
// on an emulator, given by the operator on a deployment.
var _ = area("auth", nil, func() {
	check("A-1", DOC, "a revoked key gets 401 unauthorized", labels("A-1.d", "M-3.b"), func(c *checkRun) {
		k := c.rs.cfg.RevokedAPIKey
		key := c.arrangedKey("revoked key", k, nil)
		if k == "" {
			c.ok(c.api(http.MethodDelete, "/_emulator/keys/"+key.value, nil, nil))
		}
		c.wantError(c.api(http.MethodPost, "/v1/files/list", key, c.unknownThread().body()), http.StatusUnauthorized, "unauthorized")
	})
})
