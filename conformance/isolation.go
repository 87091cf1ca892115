package conformance

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL reads best unqualified
)

// Organisations (SPEC ): a second organisation's key sees nothing
// of the first one's threads and volumes.
var _ = Describe("isolation", Label("isolation"), func() {
	secret := []byte("org A's secret\n")

	check("A-2", DOC, "another organisation cannot list, download or delete a thread's files", nil, func(c *Check) {
		c.Need(needOther)
		sp := c.Thread("a2")
		c.Upload(sp, "secret.txt", "text/plain", secret)
		other := c.Other()

		r := c.API(http.MethodPost, "/v1/files/list", other, sp.body())
		if r.Status == http.StatusOK {
			c.True(!bytes.Contains(r.Body, []byte("secret.txt")), r, "no secret.txt", r.Summary(), "the other organisation lists the thread's files")
		}
		r = c.API(http.MethodPost, "/v1/files/download_url", other, sp.body("path", "secret.txt"))
		if r.Status == http.StatusOK {
			s := c.parseSigned(r)
			g := c.Get(s, nil)
			c.True(!bytes.Equal(g.Body, secret), g, "not the file's bytes", g.Summary(), "the other organisation downloaded the thread's file")
		}
		c.API(http.MethodDelete, "/v1/files", other, sp.body("path", "secret.txt"))
		got := c.Download(sp, "secret.txt")
		c.True(bytes.Equal(got.Body, secret), got, string(secret), got.Summary(), "the other organisation's delete removed or changed the file")
	})

	check("A-2", DOC, "the same thread ID in another organisation is a different thread", nil, func(c *Check) {
		c.Need(needOther)
		sp := c.Thread("a2-same-id")
		c.Upload(sp, "secret.txt", "text/plain", secret)
		c.rs.track(sp.ID, c.rs.other) // the other org's files there are swept too
		other := c.Other()
		r := c.API(http.MethodPost, "/v1/files/upload_url", other, sp.body("path", "secret.txt", "content_type", "text/plain", "content_length", 6))
		if r.Status == http.StatusOK {
			c.Stored(c.Put(c.parseSigned(r), []byte("theirs")))
			lr := c.API(http.MethodPost, "/v1/files/list", other, sp.body())
			c.OK(lr)
			c.True(!bytes.Contains(lr.Body, []byte(`"size":15`)) && !bytes.Contains(lr.Body, []byte(`"size": 15`)), lr, "only the other organisation's 6-byte file", lr.Summary(), "the other organisation sees the first one's file")
		}
		got := c.Download(sp, "secret.txt")
		c.True(bytes.Equal(got.Body, secret), got, string(secret), got.Summary(), "the other organisation's upload replaced the file")
	})

	check("A-2", DOC, "another organisation cannot see or write the organisation's volumes", nil, func(c *Check) {
		c.Need(needOther)
		sp := c.RW()
		p := c.VolPath("a2-secret.txt")
		c.Upload(sp, p, "text/plain", secret)
		other := c.Other()
		r := c.API(http.MethodPost, "/v1/files/list", other, sp.body())
		if r.Status == http.StatusOK {
			c.True(!bytes.Contains(r.Body, []byte(p)), r, "no "+p, r.Summary(), "the other organisation lists the volume's files")
		}
		r = c.API(http.MethodPost, "/v1/files/upload_url", other, sp.body("path", p, "content_type", "text/plain", "content_length", 6))
		if r.Status == http.StatusOK {
			c.Put(c.parseSigned(r), []byte("theirs"))
		}
		c.API(http.MethodDelete, "/v1/files", other, sp.body("path", p))
		got := c.Download(sp, p)
		c.True(bytes.Equal(got.Body, secret), got, string(secret), got.Summary(), "the other organisation changed the volume's file")
	})

	check("A-3", EMU, "another organisation gets 404 not_found (never 403) for a thread", nil, func(c *Check) {
		c.Need(needOther)
		sp := c.Thread("a3")
		c.Upload(sp, "secret.txt", "text/plain", secret)
		other := c.Other()
		c.Error(c.API(http.MethodPost, "/v1/files/list", other, sp.body()), http.StatusNotFound, "not_found")
		c.Error(c.API(http.MethodPost, "/v1/files/download_url", other, sp.body("path", "secret.txt")), http.StatusNotFound, "not_found")
		c.Error(c.API(http.MethodDelete, "/v1/files", other, sp.body("path", "secret.txt")), http.StatusNotFound, "not_found")
	})

	check("A-3", EMU, "another organisation gets 404 not_found (never 403) for a volume", nil, func(c *Check) {
		c.Need(needOther)
		var vols []string
		for _, v := range []string{c.rs.cfg.RWVolume, c.rs.cfg.ROVolume} {
			if v != "" {
				vols = append(vols, v)
			}
		}
		if len(vols) == 0 {
			c.Skip("no volume configured (--rw-volume, --ro-volume)")
		}
		other := c.Other()
		for _, v := range vols {
			sp := space{"volume", v}
			c.Error(c.API(http.MethodPost, "/v1/files/list", other, sp.body()), http.StatusNotFound, "not_found")
			r := c.API(http.MethodPost, "/v1/files/upload_url", other, sp.body("path", c.rs.prefix+"/x.txt", "content_length", 1))
			c.Error(r, http.StatusNotFound, "not_found")
			c.True(!slices.Contains([]int{http.StatusForbidden}, r.Status), r, "404", fmt.Sprint(r.Status), "403 leaks the volume's existence")
		}
	})
})
