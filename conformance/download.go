package conformance

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL reads best unqualified
)

// Download URLs (SPEC D-1, D-2, D-3).
var _ = Describe("download", Label("download"), func() {
	check("D-1", DOC, `download_url answers {url, method "GET", expires_at}`, nil, func(c *Check) {
		sp := c.Thread("d1")
		c.Upload(sp, "out.csv", "text/csv", []byte("a,b\n1,2\n"))
		r := c.DownloadURLResp(sp, "out.csv")
		c.OK(r)
		obj := r.Object()
		for _, f := range []string{"url", "method", "expires_at"} {
			_, ok := obj[f].(string)
			c.True(ok, r, fmt.Sprintf("string field %q", f), r.Summary(), "download_url answer lacks %q", f)
		}
		c.True(obj["method"] == "GET", r, `method "GET"`, fmt.Sprint(obj["method"]), "download method is not GET")
	})

	check("D-1", EMU, "download_url also carries headers (an object, {} when none are needed)", nil, func(c *Check) {
		sp := c.Thread("d1-headers")
		c.Upload(sp, "out.csv", "text/csv", []byte("a,b\n"))
		r := c.DownloadURLResp(sp, "out.csv")
		c.OK(r)
		_, ok := r.Object()["headers"].(map[string]any)
		c.True(ok, r, `"headers": {}`, r.Summary(), "download_url answer has no headers object")
	})

	check("D-1", DOC, "the download URL returns the uploaded bytes", Label("signed_urls"), func(c *Check) {
		sp := c.Thread("d1-bytes")
		data := patterned(100 << 10)
		data[0], data[len(data)-1] = 0x00, 0xff
		c.Upload(sp, "blob.bin", "application/octet-stream", data)
		got := c.Download(sp, "blob.bin")
		c.True(bytes.Equal(got.Body, data), got, fmt.Sprintf("the %d uploaded bytes", len(data)), fmt.Sprintf("%d bytes, first differing at %d", len(got.Body), firstDiff(got.Body, data)), "downloaded bytes differ from the upload")
	})

	check("D-2", DOC, "a missing file → 404 not_found", nil, func(c *Check) {
		sp := c.Thread("d2")
		c.Upload(sp, "present.txt", "text/plain", []byte("p"))
		c.Error(c.DownloadURLResp(sp, "absent.txt"), http.StatusNotFound, "not_found")
	})

	check("D-2", DOC, "an unknown thread or volume → 404 not_found", nil, func(c *Check) {
		c.Error(c.DownloadURLResp(c.UnknownThread(), "a.txt"), http.StatusNotFound, "not_found")
		c.Error(c.DownloadURLResp(space{"volume", c.rs.prefix + "-no-such-volume"}, "a.txt"), http.StatusNotFound, "not_found")
	})

	check("D-2", EMU, "a directory path → 404 not_found", nil, func(c *Check) {
		sp := c.Thread("d2-dir")
		c.Upload(sp, "dir/f.txt", "text/plain", []byte("f"))
		c.Error(c.DownloadURLResp(sp, "dir"), http.StatusNotFound, "not_found")
	})

	check("D-3", EMU, "GET returns exactly the stored bytes with Content-Length and Content-Type as uploaded", Label("signed_urls"), func(c *Check) {
		sp := c.Thread("d3")
		data := []byte(`{"sum": 15, "count": 5}`)
		c.Upload(sp, "output.json", "application/json", data)
		got := c.Download(sp, "output.json")
		c.True(bytes.Equal(got.Body, data), got, string(data), string(got.Body), "downloaded bytes differ")
		c.True(got.Header.Get("Content-Length") == strconv.Itoa(len(data)), got, "Content-Length: "+strconv.Itoa(len(data)), "Content-Length: "+got.Header.Get("Content-Length"), "wrong Content-Length")
		c.True(got.MediaType() == "application/json", got, "Content-Type: application/json", "Content-Type: "+got.Header.Get("Content-Type"), "Content-Type is not the uploaded one")
	})

	check("D-3", EMU, "a Range request gets 206 and exactly that range", Label("signed_urls"), func(c *Check) {
		sp := c.Thread("d3-range")
		data := patterned(1000)
		c.Upload(sp, "r.bin", "application/octet-stream", data)
		got := c.Get(c.DownloadURL(sp, "r.bin"), map[string]string{"Range": "bytes=100-199"})
		c.Status(got, http.StatusPartialContent)
		c.True(bytes.Equal(got.Body, data[100:200]), got, "bytes 100-199", fmt.Sprintf("%d bytes", len(got.Body)), "wrong range content")
		c.True(got.Header.Get("Content-Range") == "bytes 100-199/1000", got, "Content-Range: bytes 100-199/1000", "Content-Range: "+got.Header.Get("Content-Range"), "wrong Content-Range")
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
