package conformance

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
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
func (c *checkRun) providerRefusal(r *Response, want map[string]providerError) {
	p := providerOf(r.Req.URL)
	w, ok := want[p]
	c.expect(r, ok, claim{want: "a gcs, s3 or azure signed URL", got: r.Req.URL, why: "cannot tell the storage dialect of the signed URL"})
	got := xmlCode(r.Body)
	c.observe("storage refusal", fmt.Sprintf("%s: HTTP %d %s", p, r.Status, got))
	exp := fmt.Sprintf("%s: HTTP %d <Code>%s</Code>", p, w.status, w.code)
	c.expect(r, r.Status == w.status && got == w.code, claim{want: exp, got: r.Summary(), why: fmt.Sprintf("storage refusal is not in the %s format", p)})
}

// Tampered returns a signed URL with one signature character flipped.
func (c *checkRun) tampered(s signed) signed {
	u, err := tamper(s.URL)
	c.expect(s.resp, err == nil, claim{want: "a signature parameter", got: s.URL, why: fmt.Sprintf("%v", err)})
	s.URL = u
	return s
}

// Signed URLs: what storage accepts and refuses (SPEC U-5, D-3).
var _ = area("signed_urls", nil, func() {
	check("U-5", DOC, "a tampered upload URL is refused (4xx) and stores nothing", labels("U-5.a"), func(c *checkRun) {
		sp := c.thread("u5-tamper")
		c.upload(sp, "keep.txt", "text/plain", []byte("k"))
		s := c.tampered(c.uploadURL(sp, "x.txt", "text/plain", 3))
		c.refused(c.put(s, []byte("bad")))
		c.notStored(sp, "x.txt")
	})

	check("U-5", EMU, "a tampered upload URL gets the provider's signature error", labels("U-5.b"), func(c *checkRun) {
		s := c.tampered(c.uploadURL(c.thread("u5-tamper-code"), "x.txt", "text/plain", 3))
		c.providerRefusal(c.put(s, []byte("bad")), tamperedError)
	})

	check("D-3", DOC, "a tampered download URL is refused (4xx)", labels("download", "D-3.e"), func(c *checkRun) {
		sp := c.thread("d3-tamper")
		content := []byte("conformance-d3-tamper-content")
		c.upload(sp, "x.txt", "text/plain", content)
		r := c.get(c.tampered(c.downloadURL(sp, "x.txt")), nil)
		c.refused(r)
		c.expect(r, !bytes.Contains(r.Body, content), claim{want: "no file bytes", got: r.Summary(), why: "a tampered URL served the file"})
	})

	check("D-3", EMU, "a tampered download URL gets the provider's signature error", labels("download", "U-5.b"), func(c *checkRun) {
		sp := c.thread("d3-tamper-code")
		c.upload(sp, "x.txt", "text/plain", []byte("secret"))
		c.providerRefusal(c.get(c.tampered(c.downloadURL(sp, "x.txt")), nil), tamperedError)
	})

	check("U-5", EMU, "an expired upload URL gets the provider's expiry error", labels("clock", "U-5.c"), func(c *checkRun) {
		c.need(needClock)
		s := c.uploadURL(c.thread("u5-expired"), "x.txt", "text/plain", 3)
		c.advance(16 * time.Minute)
		c.providerRefusal(c.put(s, []byte("old")), expiredError)
	})

	check("D-3", EMU, "an expired download URL gets the provider's expiry error", labels("clock", "download", "U-5.c"), func(c *checkRun) {
		c.need(needClock)
		sp := c.thread("d3-expired")
		c.upload(sp, "x.txt", "text/plain", []byte("old"))
		d := c.downloadURL(sp, "x.txt")
		c.advance(16 * time.Minute)
		c.providerRefusal(c.get(d, nil), expiredError)
	})

	check("U-5", EMU, "a PUT with another Content-Type than the signed one is refused", labels("U-5.d"), func(c *checkRun) {
		sp := c.thread("u5-ctype")
		s := c.uploadURL(sp, "x.json", "application/json", 2)
		q := c.putReq(s, []byte("{}"))
		q.Header.Set("Content-Type", "text/html")
		c.refused(c.send(q))
		c.notStored(sp, "x.json")
	})

	for _, delta := range []int{-1, 1} {
		check("U-5", EMU, fmt.Sprintf("a PUT of content_length%+d bytes is refused", delta), labels("U-5.e"), func(c *checkRun) {
			sp := c.thread("u5-len")
			s := c.uploadURL(sp, "x.bin", "application/octet-stream", 10)
			c.refused(c.put(s, patterned(10+delta)))
			c.notStored(sp, "x.bin")
		})
	}

	check("U-5", EMU, "an upload URL used for another path is refused", labels("U-5.f"), func(c *checkRun) {
		sp := c.thread("u5-path")
		s := c.uploadURL(sp, "a.txt", "text/plain", 3)
		u, err := url.Parse(s.URL)
		c.expect(s.resp, err == nil && strings.HasSuffix(u.Path, "/a.txt"), claim{want: "a URL ending in /a.txt", got: s.URL, why: "unexpected upload URL shape"})
		u.Path = strings.TrimSuffix(u.Path, "a.txt") + "b.txt"
		u.RawPath = ""
		s.URL = u.String()
		c.refused(c.put(s, []byte("abc")))
		c.notStored(sp, "a.txt")
		c.notStored(sp, "b.txt")
	})

	check("U-5", EMU, "an upload URL does not serve GET, a download URL does not take PUT", labels("U-5.g"), func(c *checkRun) {
		sp := c.thread("u5-method")
		data := []byte("original")
		s := c.upload(sp, "f.txt", "text/plain", data)
		get := &request{Method: http.MethodGet, URL: s.URL, Header: http.Header{}}
		c.refused(c.send(get))
		d := c.downloadURL(sp, "f.txt")
		put := &request{Method: http.MethodPut, URL: d.URL, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("replaced")}
		c.refused(c.send(put))
		got := c.download(sp, "f.txt")
		c.expect(got, bytes.Equal(got.Body, data), claim{want: string(data), got: string(got.Body), why: "a download URL overwrote the file"})
	})
})
