package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// Sources, IDs and paths (SPEC S-1, S-3, S-4, P-1, P-2); S-2 is checked
// with execution in execute.go.
var _ = area("paths", nil, func() {
	// S-1 and required parameters: every operation, every way to get the
	// source or id wrong.
	bodies := []struct {
		name string
		mut  func(map[string]any) map[string]any
		only []endpoint
	}{
		{"without source", func(m map[string]any) map[string]any { return without(m, "source") }, nil},
		{"with source \"bucket\"", func(m map[string]any) map[string]any { return with(m, "source", "bucket") }, nil},
		{"with an empty source", func(m map[string]any) map[string]any { return with(m, "source", "") }, nil},
		{"with source \"Thread\" (case matters)", func(m map[string]any) map[string]any { return with(m, "source", "Thread") }, nil},
		{"without id", func(m map[string]any) map[string]any { return without(m, "id") }, nil},
		{"with an empty id", func(m map[string]any) map[string]any { return with(m, "id", "") }, nil},
		{"with a numeric id", func(m map[string]any) map[string]any { return with(m, "id", 7) }, nil},
		{"without path", func(m map[string]any) map[string]any { return without(m, "path") }, pathEndpoints},
		{"with an empty path", func(m map[string]any) map[string]any { return with(m, "path", "") }, pathEndpoints},
	}
	for _, b := range bodies {
		check("S-1", DOC, "every operation "+b.name+" → 400 validation_error", nil, func(c *checkRun) {
			eps := filesEndpoints
			if b.only != nil {
				eps = b.only
			}
			sp := c.unknownThread()
			for _, ep := range eps {
				r := c.call(ep.method, ep.path, b.mut(ep.body(sp)))
				c.wantError(r, http.StatusBadRequest, "validation_error")
			}
		})
	}

	badPaths := []struct{ name, path string }{
		{"a leading /", "/etc/passwd"},
		{"a .. segment", "../escape.txt"},
		{"a .. segment inside", "a/../../escape.txt"},
		{"a . segment", "./a.txt"},
		{"an empty segment", "a//b.txt"},
		{"a trailing /", "a/"},
		{"a backslash", `a\b.txt`},
		{"a NUL byte", "a\x00b.txt"},
		{"a control character", "a\x01b.txt"},
		{"a newline", "a\nb.txt"},
	}
	for _, bp := range badPaths {
		check("P-1", EMU, "a path with "+bp.name+" → 400 on upload_url, download_url and delete", nil, func(c *checkRun) {
			sp := c.unknownThread()
			for _, ep := range pathEndpoints {
				r := c.call(ep.method, ep.path, rawPathBody(with(ep.body(sp), "path", bp.path)))
				c.wantError(r, http.StatusBadRequest, "validation_error")
			}
		})
	}

	check("P-1", EMU, "a path of 1024 bytes is accepted, 1025 bytes → 400", labels("limits"), func(c *checkRun) {
		sp := c.thread("p1-len")
		p := longPath(1024)
		c.status(c.uploadURLResp(sp, p, "text/plain", 1), http.StatusOK)
		r := c.uploadURLResp(sp, p+"x", "text/plain", 1)
		c.wantError(r, http.StatusBadRequest, "validation_error")
	})

	check("P-1", EMU, "a UTF-8 path with spaces round-trips through upload, list and download", nil, func(c *checkRun) {
		sp := c.thread("p1-utf8")
		p := "données/naïve file ü.txt"
		data := []byte("unicode path\n")
		c.upload(sp, p, "text/plain", data)
		es, r := c.list(sp, nil)
		c.expect(r, slices.Contains(paths(es), p), claim{want: "listed " + p, got: fmt.Sprint(paths(es)), why: "the file is not listed under its path"})
		got := c.download(sp, p)
		c.expect(got, bytes.Equal(got.Body, data), claim{want: string(data), got: string(got.Body), why: "downloaded bytes differ"})
	})

	badIDs := []struct {
		name, level, id string
	}{
		{"a /", DOC, "conf/escape"},
		{"a space", EMU, "conf thread"},
		{"a non-ASCII letter", EMU, "conf-thréad"},
		{"129 characters", EMU, strings.Repeat("c", 129)},
	}
	for _, bi := range badIDs {
		check("P-2", bi.level, "a thread ID or volume slug with "+bi.name+" → 400", nil, func(c *checkRun) {
			for _, src := range []string{"thread", "volume"} {
				sp := space{src, bi.id}
				r := c.listResp(sp, nil)
				c.wantError(r, http.StatusBadRequest, "validation_error")
				r = c.uploadURLResp(sp, "a.txt", "text/plain", 1)
				c.wantError(r, http.StatusBadRequest, "validation_error")
			}
		})
	}

	check("P-2", EMU, "a thread ID of 128 characters from [A-Za-z0-9._-] is accepted", labels("limits"), func(c *checkRun) {
		id := c.newThreadID("Id._-")
		id += strings.Repeat("x", 128-len(id))
		sp := space{"thread", id}
		c.status(c.uploadURLResp(sp, "a.txt", "text/plain", 1), http.StatusOK)
	})

	check("S-3", DOC, "the read-write volume takes uploads, lists, downloads and deletes", nil, func(c *checkRun) {
		sp := c.rw()
		p := c.volPath("s3-rw.txt")
		data := []byte("volume round trip\n")
		c.upload(sp, p, "text/plain", data)
		pre := c.rs.prefix + "/"
		es, r := c.list(sp, &pre)
		c.expect(r, slices.Contains(paths(es), p), claim{want: "listed " + p, got: fmt.Sprint(paths(es)), why: "uploaded file not listed in the volume"})
		got := c.download(sp, p)
		c.expect(got, bytes.Equal(got.Body, data), claim{want: string(data), got: string(got.Body), why: "downloaded bytes differ"})
		d := c.deleteResp(sp, p)
		c.ok(d)
	})

	check("S-3", DOC, "the read-only volume lists and downloads", labels("readonly"), func(c *checkRun) {
		sp := c.ro()
		es, r := c.list(sp, nil)
		for _, e := range es {
			if !e.IsDirectory {
				got := c.download(sp, e.Path)
				c.expect(got, int64(len(got.Body)) == e.Size, claim{want: fmt.Sprintf("%d bytes", e.Size), got: fmt.Sprintf("%d bytes", len(got.Body)), why: "download size differs from the listed size"})
				return
			}
		}
		c.skip("the read-only volume holds no file to download (listing: %s)", r.Summary())
	})

	check("S-4", EMU, "a thread comes into being with its first upload", nil, func(c *checkRun) {
		sp := c.thread("s4")
		r := c.listResp(sp, nil)
		c.wantError(r, http.StatusNotFound, "not_found")
		c.upload(sp, "first.txt", "text/plain", []byte("first"))
		es, r := c.list(sp, nil)
		c.expect(r, slices.Contains(paths(es), "first.txt"), claim{want: "first.txt listed", got: fmt.Sprint(paths(es)), why: "uploaded file not listed"})
	})
})

// rawPathBody encodes m as JSON keeping an invalid UTF-8 path as raw bytes
// (encoding/json would replace them with U+FFFD).
func rawPathBody(m map[string]any) []byte {
	p, _ := m["path"].(string)
	if utf8.ValidString(p) {
		b, _ := json.Marshal(m)
		return b
	}
	const mark = "conformance-invalid-utf8-path"
	b, _ := json.Marshal(with(m, "path", mark))
	return bytes.Replace(b, []byte(mark), []byte(p), 1)
}

// longPath is a valid path of exactly n bytes, in segments short enough for
// any filesystem.
func longPath(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		seg := min(100, n-b.Len())
		b.WriteString(strings.Repeat("p", seg))
	}
	s := b.String()
	if strings.HasSuffix(s, "/") { // cannot happen with the lengths used, but stay valid
		s = s[:len(s)-1] + "p"
	}
	return s
}
