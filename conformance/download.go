package conformance

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
)

// Download URLs (SPEC D-1, D-2, D-3).
var _ = area("download", nil, func() {
	check("D-1", DOC, `download_url answers {url, method "GET", expires_at}`, labels("D-1.a"), func(c *checkRun) {
		sp := c.thread("d1")
		c.upload(sp, "out.csv", "text/csv", []byte("a,b\n1,2\n"))
		r := c.downloadURLResp(sp, "out.csv")
		c.ok(r)
		obj := r.Object()
		for _, f := range []string{"url", "method", "expires_at"} {
			_, ok := obj[f].(string)
			c.expect(r, ok, claim{want: fmt.Sprintf("string field %q", f), got: r.Summary(), why: fmt.Sprintf("download_url answer lacks %q", f)})
		}
		c.expect(r, obj["method"] == "GET", claim{want: `method "GET"`, got: fmt.Sprint(obj["method"]), why: "download method is not GET"})
	})

	check("D-1", EMU, "download_url also carries headers (an object, {} when none are needed)", labels("D-1.c"), func(c *checkRun) {
		sp := c.thread("d1-headers")
		c.upload(sp, "out.csv", "text/csv", []byte("a,b\n"))
		r := c.downloadURLResp(sp, "out.csv")
		c.ok(r)
		_, ok := r.Object()["headers"].(map[string]any)
		c.expect(r, ok, claim{want: `"headers": {}`, got: r.Summary(), why: "download_url answer has no headers object"})
	})

	check("D-1", DOC, "the download URL returns the uploaded bytes", labels("signed_urls", "D-1.b"), func(c *checkRun) {
		sp := c.thread("d1-bytes")
		data := patterned(100 << 10)
		data[0], data[len(data)-1] = 0x00, 0xff
		c.upload(sp, "blob.bin", "application/octet-stream", data)
		got := c.download(sp, "blob.bin")
		c.expect(got, bytes.Equal(got.Body, data), claim{want: fmt.Sprintf("the %d uploaded bytes", len(data)), got: fmt.Sprintf("%d bytes, first differing at %d", len(got.Body), firstDiff(got.Body, data)), why: "downloaded bytes differ from the upload"})
	})

	check("D-2", DOC, "a missing file → 404 not_found", labels("D-2.a"), func(c *checkRun) {
		sp := c.thread("d2")
		c.upload(sp, "present.txt", "text/plain", []byte("p"))
		c.wantError(c.downloadURLResp(sp, "absent.txt"), http.StatusNotFound, "not_found")
	})

	check("D-2", DOC, "an unknown thread or volume → 404 not_found", labels("D-2.b"), func(c *checkRun) {
		c.wantError(c.downloadURLResp(c.unknownThread(), "a.txt"), http.StatusNotFound, "not_found")
		c.wantError(c.downloadURLResp(space{"volume", c.rs.prefix + "-no-such-volume"}, "a.txt"), http.StatusNotFound, "not_found")
	})

	check("D-2", EMU, "a directory path → 404 not_found", labels("D-2.c"), func(c *checkRun) {
		sp := c.thread("d2-dir")
		c.upload(sp, "dir/f.txt", "text/plain", []byte("f"))
		c.wantError(c.downloadURLResp(sp, "dir"), http.StatusNotFound, "not_found")
	})

	check("D-3", EMU, "GET returns exactly the stored bytes with Content-Length and Content-Type as uploaded", labels("signed_urls", "D-3.a", "D-3.b", "D-3.c"), func(c *checkRun) {
		sp := c.thread("d3")
		data := []byte(`{"sum": 15, "count": 5}`)
		c.upload(sp, "output.json", "application/json", data)
		got := c.download(sp, "output.json")
		c.expect(got, bytes.Equal(got.Body, data), claim{want: string(data), got: string(got.Body), why: "downloaded bytes differ"})
		c.expect(got, got.Header.Get("Content-Length") == strconv.Itoa(len(data)), claim{want: "Content-Length: " + strconv.Itoa(len(data)), got: "Content-Length: " + got.Header.Get("Content-Length"), why: "wrong Content-Length"})
		c.expect(got, got.MediaType() == "application/json", claim{want: "Content-Type: application/json", got: "Content-Type: " + got.Header.Get("Content-Type"), why: "Content-Type is not the uploaded one"})
	})

	check("D-3", EMU, "a Range request gets 206 and exactly that range", labels("signed_urls", "D-3.d"), func(c *checkRun) {
		sp := c.thread("d3-range")
		data := patterned(1000)
		c.upload(sp, "r.bin", "application/octet-stream", data)
		got := c.get(c.downloadURL(sp, "r.bin"), map[string]string{"Range": "bytes=100-199"})
		c.status(got, http.StatusPartialContent)
		c.expect(got, bytes.Equal(got.Body, data[100:200]), claim{want: "bytes 100-199", got: fmt.Sprintf("%d bytes", len(got.Body)), why: "wrong range content"})
		c.expect(got, got.Header.Get("Content-Range") == "bytes 100-199/1000", claim{want: "Content-Range: bytes 100-199/1000", got: "Content-Range: " + got.Header.Get("Content-Range"), why: "wrong Content-Range"})
	})
})

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
