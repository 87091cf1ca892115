package conformance

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
)

// Organisations (SPEC ): a second organisation's key sees nothing
// of the first one's threads and volumes.
var _ = area("isolation", nil, func() {
	secret := []byte("org A's secret\n")

	check("A-2", DOC, "another organisation cannot list, download or delete a thread's files", labels("A-2.a", "A-2.b"), func(c *checkRun) {
		c.need(needOther)
		sp := c.thread("a2")
		c.upload(sp, "secret.txt", "text/plain", secret)
		other := c.other()

		r := c.api(http.MethodPost, "/v1/files/list", other, sp.body())
		if r.Status == http.StatusOK {
			c.expect(r, !bytes.Contains(r.Body, []byte("secret.txt")), claim{want: "no secret.txt", got: r.Summary(), why: "the other organisation lists the thread's files"})
		}
		r = c.api(http.MethodPost, "/v1/files/download_url", other, sp.body("path", "secret.txt"))
		if r.Status == http.StatusOK {
			s := c.parseSigned(r)
			g := c.get(s, nil)
			c.expect(g, !bytes.Equal(g.Body, secret), claim{want: "not the file's bytes", got: g.Summary(), why: "the other organisation downloaded the thread's file"})
		}
		c.api(http.MethodDelete, "/v1/files", other, sp.body("path", "secret.txt"))
		got := c.download(sp, "secret.txt")
		c.expect(got, bytes.Equal(got.Body, secret), claim{want: string(secret), got: got.Summary(), why: "the other organisation's delete removed or changed the file"})
	})

	check("A-2", DOC, "the same thread ID in another organisation is a different thread", labels("A-2.c"), func(c *checkRun) {
		c.need(needOther)
		sp := c.thread("a2-same-id")
		c.upload(sp, "secret.txt", "text/plain", secret)
		c.rs.track(sp.ID, c.rs.other) // the other org's files there are swept too
		other := c.other()
		r := c.api(http.MethodPost, "/v1/files/upload_url", other, sp.body("path", "secret.txt", "content_type", "text/plain", "content_length", 6))
		if r.Status == http.StatusOK {
			c.stored(c.put(c.parseSigned(r), []byte("theirs")))
			lr := c.api(http.MethodPost, "/v1/files/list", other, sp.body())
			c.ok(lr)
			c.expect(lr, !bytes.Contains(lr.Body, []byte(`"size":15`)) && !bytes.Contains(lr.Body, []byte(`"size": 15`)), claim{want: "only the other organisation's 6-byte file", got: lr.Summary(), why: "the other organisation sees the first one's file"})
		}
		got := c.download(sp, "secret.txt")
		c.expect(got, bytes.Equal(got.Body, secret), claim{want: string(secret), got: got.Summary(), why: "the other organisation's upload replaced the file"})
	})

	check("A-2", DOC, "another organisation cannot see or write the organisation's volumes", labels("A-2.d"), func(c *checkRun) {
		c.need(needOther)
		sp := c.rw()
		p := c.volPath("a2-secret.txt")
		c.upload(sp, p, "text/plain", secret)
		other := c.other()
		r := c.api(http.MethodPost, "/v1/files/list", other, sp.body())
		if r.Status == http.StatusOK {
			c.expect(r, !bytes.Contains(r.Body, []byte(p)), claim{want: "no " + p, got: r.Summary(), why: "the other organisation lists the volume's files"})
		}
		r = c.api(http.MethodPost, "/v1/files/upload_url", other, sp.body("path", p, "content_type", "text/plain", "content_length", 6))
		if r.Status == http.StatusOK {
			c.put(c.parseSigned(r), []byte("theirs"))
		}
		c.api(http.MethodDelete, "/v1/files", other, sp.body("path", p))
		got := c.download(sp, p)
		c.expect(got, bytes.Equal(got.Body, secret), claim{want: string(secret), got: got.Summary(), why: "the other organisation changed the volume's file"})
	})

	check("A-3", EMU, "another organisation gets 404 not_found (never 403) for a thread", labels("A-3.a"), func(c *checkRun) {
		c.need(needOther)
		sp := c.thread("a3")
		c.upload(sp, "secret.txt", "text/plain", secret)
		other := c.other()
		c.wantError(c.api(http.MethodPost, "/v1/files/list", other, sp.body()), http.StatusNotFound, "not_found")
		c.wantError(c.api(http.MethodPost, "/v1/files/download_url", other, sp.body("path", "secret.txt")), http.StatusNotFound, "not_found")
		c.wantError(c.api(http.MethodDelete, "/v1/files", other, sp.body("path", "secret.txt")), http.StatusNotFound, "not_found")
	})

	check("A-3", EMU, "another organisation gets 404 not_found (never 403) for a volume", labels("A-3.b"), func(c *checkRun) {
		c.need(needOther)
		var vols []string
		for _, v := range []string{c.rs.cfg.RWVolume, c.rs.cfg.ROVolume} {
			if v != "" {
				vols = append(vols, v)
			}
		}
		if len(vols) == 0 {
			c.skip("no volume configured (--rw-volume, --ro-volume)")
		}
		other := c.other()
		for _, v := range vols {
			sp := space{"volume", v}
			c.wantError(c.api(http.MethodPost, "/v1/files/list", other, sp.body()), http.StatusNotFound, "not_found")
			r := c.api(http.MethodPost, "/v1/files/upload_url", other, sp.body("path", c.rs.prefix+"/x.txt", "content_length", 1))
			c.wantError(r, http.StatusNotFound, "not_found")
			c.expect(r, !slices.Contains([]int{http.StatusForbidden}, r.Status), claim{want: "404", got: fmt.Sprint(r.Status), why: "403 leaks the volume's existence"})
		}
	})
})
