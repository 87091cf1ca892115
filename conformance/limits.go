package conformance

import (
	"net/http"
	"strings"
)

// maxFileSize is the documented upload limit, 10 GiB.
const maxFileSize = 10 << 30

// Size limits (SPEC U-3, E-2); P-1/P-2 lengths are in paths.go, R-2 in execute.go.
var _ = area("limits", labels("upload"), func() {
	check("U-3", DOC, "content_length of exactly 10737418240 (10 GiB) is accepted", labels("U-3.a"), func(c *checkRun) {
		r := c.uploadURLResp(c.thread("u3-max"), "huge.bin", "", maxFileSize)
		c.ok(r)
	})

	check("U-3", DOC, "content_length of 10737418241 → 400 validation_error naming 10737418240", labels("U-3.b", "U-3.c"), func(c *checkRun) {
		r := c.uploadURLResp(c.thread("u3-over"), "huge.bin", "", maxFileSize+1)
		c.wantError(r, http.StatusBadRequest, "validation_error")
		c.messageHas(r, "10737418240")
	})

	bad := []struct{ name, raw string }{
		{"missing", ""},
		{"negative (-1)", "-1"},
		{"fractional (1.5)", "1.5"},
		{"a string (\"10\")", `"10"`},
		{"null", "null"},
		{"a boolean", "true"},
		{"far over the limit (1e30)", "1e30"},
		{"an object", `{"bytes": 10}`},
	}
	for _, b := range bad {
		check("U-3", DOC, "content_length "+b.name+" → 400 validation_error", labels("U-3.d"), func(c *checkRun) {
			sp := c.unknownThread()
			body := `{"source": "thread", "id": "` + sp.ID + `", "path": "a.bin", "content_type": "application/octet-stream"`
			if b.raw != "" {
				body += `, "content_length": ` + b.raw
			}
			body += "}"
			r := c.call(http.MethodPost, "/v1/files/upload_url", body)
			c.wantError(r, http.StatusBadRequest, "validation_error")
		})
	}

	check("U-3", EMU, "content_length 0 is allowed and an empty file is a real file", labels("U-3.e"), func(c *checkRun) {
		sp := c.thread("u3-zero")
		c.upload(sp, "empty.txt", "text/plain", []byte{})
		es, r := c.list(sp, nil)
		c.expect(r, len(es) == 1 && es[0].Path == "empty.txt" && es[0].Size == 0 && !es[0].IsDirectory, claim{want: "empty.txt, 0 bytes", got: r.Summary(), why: "the empty file is not listed as a 0-byte file"})
		got := c.download(sp, "empty.txt")
		c.expect(got, len(got.Body) == 0, claim{want: "0 bytes", got: got.Summary(), why: "the empty file downloads with content"})
	})

	check("E-2", EMU, "a request body over 4 MiB → 413 payload_too_large", labels("errors", "E-2.i"), func(c *checkRun) {
		pad := strings.Repeat("a", 4<<20)
		body := `{"source": "thread", "id": "` + c.unknownThread().ID + `", "path": "` + pad + `"}`
		r := c.call(http.MethodPost, "/v1/files/list", body)
		c.wantError(r, http.StatusRequestEntityTooLarge, "payload_too_large")
		c.envelope(r)
	})
})
