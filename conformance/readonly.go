package conformance

import (
	"fmt"
	"net/http"
	"slices"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL reads best unqualified
)

// Read-only volumes (SPEC U-4, X-2). The suite never writes to the
// read-only volume on purpose: every check here expects a refusal.
var _ = Describe("readonly", Label("readonly"), func() {
	check("U-4", DOC, "upload_url on the read-only volume → 403 forbidden", nil, func(c *Check) {
		sp := c.RO()
		r := c.UploadURLResp(sp, c.rs.prefix+"/denied.txt", "text/plain", 6)
		c.Error(r, http.StatusForbidden, "forbidden")
		r = c.UploadURLResp(sp, c.rs.prefix+"/empty.txt", "", 0)
		c.Error(r, http.StatusForbidden, "forbidden")
	})

	check("U-4", DOC, "a file of the read-only volume cannot be overwritten", nil, func(c *Check) {
		sp := c.RO()
		es, lr := c.List(sp, nil)
		for _, e := range es {
			if e.IsDirectory {
				continue
			}
			r := c.UploadURLResp(sp, e.Path, "text/plain", 1)
			c.Error(r, http.StatusForbidden, "forbidden")
			return
		}
		c.Skip("the read-only volume holds no file (listing: %s)", lr.Summary())
	})

	check("X-2", DOC, "delete on the read-only volume → 403 forbidden and the file stays", nil, func(c *Check) {
		sp := c.RO()
		if c.rs.profile != ProfileEmulator {
			// On a real deployment never risk a file that is not ours: ask
			// to delete a path that does not exist.
			r := c.DeleteResp(sp, c.rs.prefix+"/never-there.txt")
			c.Error(r, http.StatusForbidden, "forbidden")
			return
		}
		es, lr := c.List(sp, nil)
		for _, e := range es {
			if e.IsDirectory {
				continue
			}
			r := c.DeleteResp(sp, e.Path)
			c.Error(r, http.StatusForbidden, "forbidden")
			after, lr2 := c.List(sp, nil)
			c.True(slices.Contains(paths(after), e.Path), lr2, e.Path+" still listed", fmt.Sprint(paths(after)), "a refused delete removed the file")
			return
		}
		c.Skip("the read-only volume holds no file to try deleting (listing: %s)", lr.Summary())
	})
})
