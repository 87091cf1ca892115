package conformance

import (
	"fmt"
	"net/http"
	"slices"
)

// Delete (SPEC ); read-only volumes are in readonly.go.
var _ = area("delete", nil, func() {
	check("X-1", DOC, `delete answers {"deleted": true} and the file is gone from list and download`, labels("X-1.a", "X-1.b", "X-1.c"), func(c *checkRun) {
		sp := c.thread("x1")
		c.upload(sp, "keep.txt", "text/plain", []byte("keep"))
		c.upload(sp, "gone.txt", "text/plain", []byte("gone"))
		r := c.deleteResp(sp, "gone.txt")
		c.ok(r)
		c.expect(r, r.Object()["deleted"] == true, claim{want: `{"deleted": true}`, got: r.Summary(), why: "delete answer is not {\"deleted\": true}"})
		es, lr := c.list(sp, nil)
		c.expect(lr, !slices.Contains(paths(es), "gone.txt"), claim{want: "gone.txt not listed", got: fmt.Sprint(paths(es)), why: "the deleted file is still listed"})
		c.expect(lr, slices.Contains(paths(es), "keep.txt"), claim{want: "keep.txt listed", got: fmt.Sprint(paths(es)), why: "delete removed another file"})
		c.wantError(c.downloadURLResp(sp, "gone.txt"), http.StatusNotFound, "not_found")
	})

	check("X-1", DOC, "delete works on the read-write volume", labels("X-1.d"), func(c *checkRun) {
		sp := c.rw()
		p := c.volPath("x1-vol.txt")
		c.upload(sp, p, "text/plain", []byte("v"))
		r := c.deleteResp(sp, p)
		c.ok(r)
		c.expect(r, r.Object()["deleted"] == true, claim{want: `{"deleted": true}`, got: r.Summary(), why: "delete answer is not {\"deleted\": true}"})
		c.wantError(c.downloadURLResp(sp, p), http.StatusNotFound, "not_found")
	})

	check("X-2", DOC, "a missing file → 404 not_found (also after it was deleted once)", labels("X-2.b"), func(c *checkRun) {
		sp := c.thread("x2")
		c.upload(sp, "once.txt", "text/plain", []byte("1"))
		c.wantError(c.deleteResp(sp, "never.txt"), http.StatusNotFound, "not_found")
		c.ok(c.deleteResp(sp, "once.txt"))
		c.wantError(c.deleteResp(sp, "once.txt"), http.StatusNotFound, "not_found")
	})

	check("X-2", DOC, "an unknown thread → 404 not_found", labels("X-2.b"), func(c *checkRun) {
		c.wantError(c.deleteResp(c.unknownThread(), "a.txt"), http.StatusNotFound, "not_found")
	})

	check("X-3", EMU, "a directory path → 400 validation_error; nothing is deleted", labels("X-3.a", "X-3.b"), func(c *checkRun) {
		sp := c.thread("x3")
		c.upload(sp, "dir/a.txt", "text/plain", []byte("a"))
		r := c.deleteResp(sp, "dir")
		c.wantError(r, http.StatusBadRequest, "validation_error")
		c.messageHas(r, "directory")
		es, lr := c.list(sp, nil)
		c.expect(lr, slices.Contains(paths(es), "dir/a.txt"), claim{want: "dir/a.txt still listed", got: fmt.Sprint(paths(es)), why: "deleting a directory removed its contents"})
	})
})
