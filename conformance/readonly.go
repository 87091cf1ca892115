package conformance

import (
	"fmt"
	"net/http"
	"slices"
)

// Read-only volumes (SPEC U-4, X-2). The suite never writes to the
// read-only volume on purpose: every check here expects a refusal.
var _ = area("readonly", nil, func() {
	check("U-4", DOC, "upload_url on the read-only volume → 403 forbidden", labels("U-4.a", "U-4.b"), func(c *checkRun) {
		sp := c.ro()
		r := c.uploadURLResp(sp, c.rs.prefix+"/denied.txt", "text/plain", 6)
		c.wantError(r, http.StatusForbidden, "forbidden")
		r = c.uploadURLResp(sp, c.rs.prefix+"/empty.txt", "", 0)
		c.wantError(r, http.StatusForbidden, "forbidden")
	})

	check("U-4", DOC, "a file of the read-only volume cannot be overwritten", labels("U-4.a", "U-4.b"), func(c *checkRun) {
		sp := c.ro()
		es, lr := c.list(sp, nil)
		for _, e := range es {
			if e.IsDirectory {
				continue
			}
			r := c.uploadURLResp(sp, e.Path, "text/plain", 1)
			c.wantError(r, http.StatusForbidden, "forbidden")
			return
		}
		c.skip("the read-only volume holds no file (listing: %s)", lr.Summary())
	})

	check("X-2", DOC, "delete on the read-only volume → 403 forbidden and the file stays", labels("X-2.a"), func(c *checkRun) {
		sp := c.ro()
		if c.rs.profile != ProfileEmulator {
			// On a real deployment never risk a file that is not ours: ask
			// to delete a path that does not exist.
			r := c.deleteResp(sp, c.rs.prefix+"/never-there.txt")
			c.wantError(r, http.StatusForbidden, "forbidden")
			return
		}
		es, lr := c.list(sp, nil)
		for _, e := range es {
			if e.IsDirectory {
				continue
			}
			r := c.deleteResp(sp, e.Path)
			c.wantError(r, http.StatusForbidden, "forbidden")
			after, lr2 := c.list(sp, nil)
			c.expect(lr2, slices.Contains(paths(after), e.Path), claim{want: e.Path + " still listed", got: fmt.Sprint(paths(after)), why: "a refused delete removed the file"})
			return
		}
		c.skip("the read-only volume holds no file to try deleting (listing: %s)", lr.Summary())
	})
})
