package conformance

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL reads best unqualified
)

// providerError is a storage refusal in the provider's own format.
type providerError struct {
	status int
	code   string
}

// SPEC U-5: what each dialect answers.
var (
	tamperedError = map[string]providerError{
		"gcs": {403, "SignatureDoesNotMatch"}, "s3": {403, "SignatureDoesNotMatch"}, "azure": {403, "AuthenticationFailed"},
	}
	expiredError = map[string]providerError{
		"gcs": {400, "ExpiredToken"}, "s3": {403, "AccessDenied"}, "azure": {403, "AuthenticationFailed"},
	}
)

// ProviderError requires the provider's status and XML error code.
func (c *Check) ProviderError(r *Response, want map[string]providerError) {
	p := providerOf(r.Req.URL)
	w, ok := want[p]
	c.True(ok, r, "a gcs, s3 or azure signed URL", r.Req.URL, "cannot tell the storage dialect of the signed URL")
	got := xmlCode(r.Body)
	exp := fmt.Sprintf("%s: HTTP %d <Code>%s</Code>", p, w.status, w.code)
	c.True(r.Status == w.status && got == w.code, r, exp, r.Summary(), "storage refusal is not in the %s format", p)
}

// Tampered returns a signed URL with one signature character flipped.
func (c *Check) Tampered(s signed) signed {
	u, err := tamper(s.URL)
	c.True(err == nil, s.resp, "a signature parameter", s.URL, "%v", err)
	s.URL = u
	return s
}

// Signed URLs: what storage accepts and refuses (SPEC U-5, D-3).
var _ = Describe("signed URLs", Label("signed_urls"), func() {
	check("U-5", DOC, "a tampered upload URL is refused (4xx) and stores nothing", nil, func(c *Check) {
		sp := c.Thread("u5-tamper")
		c.Upload(sp, "keep.txt", "text/plain", []byte("k"))
		s := c.Tampered(c.UploadURL(sp, "x.txt", "text/plain", 3))
		c.Refused(c.Put(s, []byte("bad")))
		c.NotStored(sp, "x.txt")
	})

	check("U-5", EMU, "a tampered upload URL gets the provider's signature error", nil, func(c *Check) {
		s := c.Tampered(c.UploadURL(c.Thread("u5-tamper-code"), "x.txt", "text/plain", 3))
		c.ProviderError(c.Put(s, []byte("bad")), tamperedError)
	})

	check("D-3", DOC, "a tampered download URL is refused (4xx)", Label("download"), func(c *Check) {
		sp := c.Thread("d3-tamper")
		content := []byte("conformance-d3-tamper-content")
		c.Upload(sp, "x.txt", "text/plain", content)
		r := c.Get(c.Tampered(c.DownloadURL(sp, "x.txt")), nil)
		c.Refused(r)
		c.True(!bytes.Contains(r.Body, content), r, "no file bytes", r.Summary(), "a tampered URL served the file")
	})

	check("D-3", EMU, "a tampered download URL gets the provider's signature error", Label("download"), func(c *Check) {
		sp := c.Thread("d3-tamper-code")
		c.Upload(sp, "x.txt", "text/plain", []byte("secret"))
		c.ProviderError(c.Get(c.Tampered(c.DownloadURL(sp, "x.txt")), nil), tamperedError)
	})

	check("U-5", EMU, "an expired upload URL gets the provider's expiry error", Label("clock"), func(c *Check) {
		c.Need(needClock)
		s := c.UploadURL(c.Thread("u5-expired"), "x.txt", "text/plain", 3)
		c.Advance(16 * time.Minute)
		c.ProviderError(c.Put(s, []byte("old")), expiredError)
	})

	check("D-3", EMU, "an expired download URL gets the provider's expiry error", Label("clock", "download"), func(c *Check) {
		c.Need(needClock)
		sp := c.Thread("d3-expired")
		c.Upload(sp, "x.txt", "text/plain", []byte("old"))
		d := c.DownloadURL(sp, "x.txt")
		c.Advance(16 * time.Minute)
		c.ProviderError(c.Get(d, nil), expiredError)
	})

	check("U-5", EMU, "a PUT with another Content-Type than the signed one is refused", nil, func(c *Check) {
		sp := c.Thread("u5-ctype")
		s := c.UploadURL(sp, "x.json", "application/json", 2)
		q := c.PutReq(s, []byte("{}"))
		q.Header.Set("Content-Type", "text/html")
		c.Refused(c.send(q))
		c.NotStored(sp, "x.json")
	})

	for _, delta := range []int{-1, 1} {
		check("U-5", EMU, fmt.Sprintf("a PUT of content_length%+d bytes is refused", delta), nil, func(c *Check) {
			sp := c.Thread("u5-len")
			s := c.UploadURL(sp, "x.bin", "application/octet-stream", 10)
			c.Refused(c.Put(s, patterned(10+delta)))
			c.NotStored(sp, "x.bin")
		})
	}

	check("U-5", EMU, "an upload URL used for another path is refused", nil, func(c *Check) {
		sp := c.Thread("u5-path")
		s := c.UploadURL(sp, "a.txt", "text/plain", 3)
		u, err := url.Parse(s.URL)
		c.True(err == nil && strings.HasSuffix(u.Path, "/a.txt"), s.resp, "a URL ending in /a.txt", s.URL, "unexpected upload URL shape")
		u.Path = strings.TrimSuffix(u.Path, "a.txt") + "b.txt"
		u.RawPath = ""
		s.URL = u.String()
		c.Refused(c.Put(s, []byte("abc")))
		c.NotStored(sp, "a.txt")
		c.NotStored(sp, "b.txt")
	})

	check("U-5", EMU, "an upload URL does not serve GET, a download URL does not take PUT", nil, func(c *Check) {
		sp := c.Thread("u5-method")
		data := []byte("original")
		s := c.Upload(sp, "f.txt", "text/plain", data)
		get := &request{Method: http.MethodGet, URL: s.URL, Header: http.Header{}}
		c.Refused(c.send(get))
		d := c.DownloadURL(sp, "f.txt")
		put := &request{Method: http.MethodPut, URL: d.URL, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("replaced")}
		c.Refused(c.send(put))
		got := c.Download(sp, "f.txt")
		c.True(bytes.Equal(got.Body, data), got, string(data), string(got.Body), "a download URL overwrote the file")
	})
})
