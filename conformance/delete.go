package conformance

import (
	"fmt"
	"net/http"
	"slices"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL reads best unqualified
)

// Delete (SPEC ); read-only volumes are in readonly.go.
var _ = Describe("delete", Label("delete"), func() {
	check("X-1", DOC, `delete answers {"deleted": true} and the file is gone from list and download`, nil, func(c *Check) {
		sp := c.Thread("x1")
		c.Upload(sp, "keep.txt", "text/plain", []byte("keep"))
		c.Upload(sp, "gone.txt", "text/plain", []byte("gone"))
		r := c.DeleteResp(sp, "gone.txt")
		c.OK(r)
		c.True(r.Object()["deleted"] == true, r, `{"deleted": true}`, r.Summary(), "delete answer is not {\"deleted\": true}")
		es, lr := c.List(sp, nil)
		c.True(!slices.Contains(paths(es), "gone.txt"), lr, "gone.txt not listed", fmt.Sprint(paths(es)), "the deleted file is still listed")
		c.True(slices.Contains(paths(es), "keep.txt"), lr, "keep.txt listed", fmt.Sprint(paths(es)), "delete removed another file")
		c.Error(c.DownloadURLResp(sp, "gone.txt"), http.StatusNotFound, "not_found")
	})

	check("X-1", DOC, "delete works on the read-write volume", nil, func(c *Check) {
		sp := c.RW()
		p := c.VolPath("x1-vol.txt")
		c.Upload(sp, p, "text/plain", []byte("v"))
		r := c.DeleteResp(sp, p)
		c.OK(r)
		c.True(r.Object()["deleted"] == true, r, `{"deleted": true}`, r.Summary(), "delete answer is not {\"deleted\": true}")
		c.Error(c.DownloadURLResp(sp, p), http.StatusNotFound, "not_found")
	})

	check("X-2", DOC, "a missing file → 404 not_found (also after it was deleted once)", nil, func(c *Check) {
		sp := c.Thread("x2")
		c.Upload(sp, "once.txt", "text/plain", []byte("1"))
		c.Error(c.DeleteResp(sp, "never.txt"), http.StatusNotFound, "not_found")
		c.OK(c.DeleteResp(sp, "once.txt"))
		c.Error(c.DeleteResp(sp, "once.txt"), http.StatusNotFound, "not_found")
	})

	check("X-2", DOC, "an unknown thread → 404 not_found", nil, func(c *Check) {
		c.Error(c.DeleteResp(c.UnknownThread(), "a.txt"), http.StatusNotFound, "not_found")
	})

	check("X-3", EMU, "a directory path → 400 validation_error; nothing is deleted", nil, func(c *Check) {
		sp := c.Thread("x3")
		c.Upload(sp, "dir/a.txt", "text/plain", []byte("a"))
		r := c.DeleteResp(sp, "dir")
		c.Error(r, http.StatusBadRequest, "validation_error")
		c.MessageHas(r, "directory")
		es, lr := c.List(sp, nil)
		c.True(slices.Contains(paths(es), "dir/a.txt"), lr, "dir/a.txt still listed", fmt.Sprint(paths(es)), "deleting a directory removed its contents")
	})
})
