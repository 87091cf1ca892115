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
		name   string
		clause string
		mut    func(map[string]any) map[string]any
		only   []endpoint
	}{
		{"without source", "S-1.b", func(m map[string]any) map[string]any { return without(m, "source") }, nil},
		{"with source \"bucket\"", "S-1.a", func(m map[string]any) map[string]any { return with(m, "source", "bucket") }, nil},
		{"with an empty source", "S-1.a", func(m map[string]any) map[string]any { return with(m, "source", "") }, nil},
		{"with source \"Thread\" (case matters)", "S-1.a", func(m map[string]any) map[string]any { return with(m, "source", "Thread") }, nil},
		{"without id", "S-1.c", func(m map[string]any) map[string]any { return without(m, "id") }, nil},
		{"with an empty id", "S-1.c", func(m map[string]any) map[string]any { return with(m, "id", "") }, nil},
		{"with a numeric id", "S-1.c", func(m map[string]any) map[string]any { return with(m, "id", 7) }, nil},
		{"without path", "S-1.d", func(m map[string]any) map[string]any { return without(m, "path") }, pathEndpoints},
		{"with an empty path", "S-1.d", func(m map[string]any) map[string]any { return with(m, "path", "") }, pathEndpoints},
	}
	for _, b := range bodies {
		check("S-1", DOC, "every operation "+b.name+" → 400 validation_error", labels(b.clause), func(c *checkRun) {
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

	badPaths := []struct{ name, clause, path string }{
		{"a leading /", "P-1.a", "/etc/passwd"},
		{"a .. segment", "P-1.b", "../escape.txt"},
		{"a .. segment inside", "P-1.b", "a/../../escape.txt"},
		{"a . segment", "P-1.b", "./a.txt"},
		{"an empty segment", "P-1.c", "a//b.txt"},
		{"a trailing /", "P-1.c", "a/"},
		{"a backslash", "P-1.d", `a\b.txt`},
		{"a NUL byte", "P-1.e", "a\x00b.txt"},
		{"a control character", "P-1.e", "a\x01b.txt"},
		{"a newline", "P-1.e", "a\nb.txt"},
		{"a C1 control character (U+0085)", "P-1.e", "a\u0085b.txt"},
		{"a C1 terminal escape (U+009B)", "P-1.e", "a\u009b[2Jb.txt"},
	}
	for _, bp := range badPaths {
		check("P-1", EMU, "a path with "+bp.name+" → 400 on upload_url, download_url and delete", labels(bp.clause), func(c *checkRun) {
			sp := c.unknownThread()
			for _, ep := range pathEndpoints {
				r := c.call(ep.method, ep.path, rawPathBody(with(ep.body(sp), "path", bp.path)))
				c.wantError(r, http.StatusBadRequest, "validation_error")
			}
		})
	}

	check("P-1", EMU, "a path of 1024 bytes is accepted, 1025 bytes → 400", labels("limits", "P-1.f"), func(c *checkRun) {
		sp := c.thread("p1-len")
		p := longPath(1024)
		c.status(c.uploadURLResp(sp, p, "text/plain", 1), http.StatusOK)
		r := c.uploadURLResp(sp, p+"x", "text/plain", 1)
		c.wantError(r, http.StatusBadRequest, "validation_error")
	})

	check("P-1", EMU, "a UTF-8 path with spaces round-trips through upload, list and download", labels("P-1.g"), func(c *checkRun) {
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
		name, level, clause, id string
	}{
		{"a /", DOC, "P-2.a", "conf/escape"},
		{"a space", EMU, "P-2.b", "conf thread"},
		{"a non-ASCII letter", EMU, "P-2.b", "conf-thréad"},
		{"129 characters", EMU, "P-2.c", strings.Repeat("c", 129)},
	}
	for _, bi := range badIDs {
		check("P-2", bi.level, "a thread ID or volume slug with "+bi.name+" → 400", labels(bi.clause), func(c *checkRun) {
			for _, src := range []string{"thread", "volume"} {
				sp := space{src, bi.id}
				r := c.listResp(sp, nil)
				c.wantError(r, http.StatusBadRequest, "validation_error")
				r = c.uploadURLResp(sp, "a.txt", "text/plain", 1)
				c.wantError(r, http.StatusBadRequest, "validation_error")
			}
		})
	}

	check("P-2", EMU, "a thread ID of 128 characters from [A-Za-z0-9._-] is accepted", labels("limits", "P-2.c"), func(c *checkRun) {
		id := c.newThreadID("Id._-")
		id += strings.Repeat("x", 128-len(id))
		sp := space{"thread", id}
		c.status(c.uploadURLResp(sp, "a.txt", "text/plain", 1), http.StatusOK)
	})

	check("S-3", DOC, "the read-write volume takes uploads, lists, downloads and deletes", labels("S-3.a"), func(c *checkRun) {
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

	check("S-3", DOC, "the read-only volume lists and downloads", labels("readonly", "S-3.b"), func(c *checkRun) {
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

	check("S-4", EMU, "a thread comes into being with its first upload", labels("S-4.a"), func(c *checkRun) {
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

// S-3 across keys and S-4 for executions.
var _ = area("paths", nil, func() {
	check("S-3", DOC, "a volume is shared by every key of the organisation", labels("S-3.c"), func(c *checkRun) {
		sp := c.rw()
		second := c.arrangedKey("second key", c.rs.cfg.SecondAPIKey, nil)
		p := c.volPath("s3-shared.txt")
		data := []byte("shared by the organisation\n")
		c.upload(sp, p, "text/plain", data)
		pre := c.rs.prefix + "/"
		r := c.api(http.MethodPost, "/v1/files/list", second, sp.body("path", pre))
		c.ok(r)
		c.expect(r, bytes.Contains(r.Body, []byte(`"`+p+`"`)), claim{want: p + " listed for the second key", got: r.Summary(), why: "another key of the organisation does not see the volume's file"})
		d := c.api(http.MethodPost, "/v1/files/download_url", second, sp.body("path", p))
		c.ok(d)
		got := c.get(c.parseSigned(d), nil)
		c.expect(got, bytes.Equal(got.Body, data), claim{want: string(data), got: got.Summary(), why: "another key of the organisation downloads other bytes"})
	})

	check("S-4", EMU, "a thread comes into being when code runs with its thread_id, even if it leaves no file", labels("S-4.b", "execute"), func(c *checkRun) {
		c.need(needExecute)
		sp := c.thread("s4-exec")
		c.execOK("python", "pass", sp.ID)
		r := c.listResp(sp, nil)
		c.ok(r)
		var lr struct {
			Files []listEntry `json:"files"`
		}
		c.expect(r, r.JSON(&lr) == nil && lr.Files != nil && len(lr.Files) == 0, claim{want: `{"files": []}`, got: r.Summary(), why: "a thread that only ran code does not list as an empty thread"})
	})
})
