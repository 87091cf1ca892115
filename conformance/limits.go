package conformance

import (
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL reads best unqualified
)

// maxFileSize is the documented upload limit, 10 GiB.
const maxFileSize = 10 << 30

// Size limits (SPEC U-3, E-2); P-1/P-2 lengths are in paths.go, R-2 in execute.go.
var _ = Describe("limits", Label("limits", "upload"), func() {
	check("U-3", DOC, "content_length of exactly 10737418240 (10 GiB) is accepted", nil, func(c *Check) {
		r := c.UploadURLResp(c.Thread("u3-max"), "huge.bin", "", maxFileSize)
		c.OK(r)
	})

	check("U-3", DOC, "content_length of 10737418241 → 400 validation_error naming 10737418240", nil, func(c *Check) {
		r := c.UploadURLResp(c.Thread("u3-over"), "huge.bin", "", maxFileSize+1)
		c.Error(r, http.StatusBadRequest, "validation_error")
		c.MessageHas(r, "10737418240")
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
		check("U-3", DOC, "content_length "+b.name+" → 400 validation_error", nil, func(c *Check) {
			sp := c.UnknownThread()
			body := `{"source": "thread", "id": "` + sp.ID + `", "path": "a.bin", "content_type": "application/octet-stream"`
			if b.raw != "" {
				body += `, "content_length": ` + b.raw
			}
			body += "}"
			r := c.Call(http.MethodPost, "/v1/files/upload_url", body)
			c.Error(r, http.StatusBadRequest, "validation_error")
		})
	}

	check("U-3", EMU, "content_length 0 is allowed and an empty file is a real file", nil, func(c *Check) {
		sp := c.Thread("u3-zero")
		c.Upload(sp, "empty.txt", "text/plain", []byte{})
		es, r := c.List(sp, nil)
		c.True(len(es) == 1 && es[0].Path == "empty.txt" && es[0].Size == 0 && !es[0].IsDirectory, r, "empty.txt, 0 bytes", r.Summary(), "the empty file is not listed as a 0-byte file")
		got := c.Download(sp, "empty.txt")
		c.True(len(got.Body) == 0, got, "0 bytes", got.Summary(), "the empty file downloads with content")
	})

	check("E-2", EMU, "a request body over 4 MiB → 413 payload_too_large", Label("errors"), func(c *Check) {
		pad := strings.Repeat("a", 4<<20)
		body := `{"source": "thread", "id": "` + c.UnknownThread().ID + `", "path": "` + pad + `"}`
		r := c.Call(http.MethodPost, "/v1/files/list", body)
		c.Error(r, http.StatusRequestEntityTooLarge, "payload_too_large")
		c.Envelope(r)
	})
})
