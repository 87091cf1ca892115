package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL reads best unqualified
)

// header looks a header up in a signed URL's headers, case-insensitively.
func header(h map[string]string, name string) (string, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// errAfter is a body that fails after a pause: the client drops the
// connection mid-upload.
type errAfter struct{ d time.Duration }

func (e errAfter) Read([]byte) (int, error) {
	time.Sleep(e.d)
	return 0, errors.New("conformance: upload interrupted on purpose")
}

// PutInterrupted announces len(data) bytes, sends the first cut and drops
// the connection.
func (c *Check) PutInterrupted(s signed, data []byte, cut int) *Response {
	q := c.PutReq(s, data[:cut])
	q.BodyLen = int64(len(data))
	r := c.rs.cl.doBody(c.ctx, q, io.MultiReader(bytes.NewReader(data[:cut]), errAfter{100 * time.Millisecond}))
	c.last = r
	return r
}

// NotStored requires that nothing is listed at p (the space may not exist).
func (c *Check) NotStored(sp space, p string) {
	r := c.ListResp(sp, nil)
	if r.Status == http.StatusNotFound {
		return
	}
	c.OK(r)
	es, _ := c.List(sp, nil)
	c.True(!slices.Contains(paths(es), p), r, p+" not listed", fmt.Sprint(paths(es)), "%q is listed though its upload did not complete", p)
}

// expiresWithin requires expires_at ≈ 15 minutes after [before, after].
func (c *Check) expiresWithin(s signed, before, after time.Time) {
	t, err := parseUTC(s.ExpiresAt)
	c.True(err == nil, s.resp, "expires_at in RFC 3339 UTC", s.ExpiresAt, "expires_at: %v", err)
	tol := c.timeTolerance()
	lo := before.Add(15*time.Minute - tol - time.Second) // RFC 3339 may drop fractions
	hi := after.Add(15*time.Minute + tol)
	c.True(!t.Before(lo) && !t.After(hi), s.resp,
		fmt.Sprintf("15 minutes after issue: between %s and %s", lo.Format(time.RFC3339), hi.Format(time.RFC3339)),
		s.ExpiresAt, "expires_at %s is not 15 minutes after issue (issued at %s by the target's clock)", s.ExpiresAt, before.Format(time.RFC3339))
}

// Upload URLs (SPEC U-1, U-2, U-6).
var _ = Describe("upload", Label("upload"), func() {
	check("U-1", DOC, `upload_url answers {url, method "PUT", headers with the Content-Type, expires_at}`, nil, func(c *Check) {
		sp := c.Thread("u1")
		r := c.UploadURLResp(sp, "input.json", "application/json", 27)
		c.OK(r)
		obj := r.Object()
		for _, f := range []string{"url", "method", "expires_at"} {
			_, ok := obj[f].(string)
			c.True(ok, r, fmt.Sprintf("string field %q", f), r.Summary(), "upload_url answer lacks %q", f)
		}
		_, ok := obj["headers"].(map[string]any)
		c.True(ok, r, `object field "headers"`, r.Summary(), "upload_url answer lacks a headers object")
		s := c.parseSigned(r)
		c.True(s.Method == http.MethodPut, r, `method "PUT"`, fmt.Sprintf("%q", s.Method), "upload method is not PUT")
		ct, ok := header(s.Headers, "Content-Type")
		c.True(ok && ct == "application/json", r, "headers.Content-Type application/json", fmt.Sprint(s.Headers), "headers do not carry the requested Content-Type")
	})

	check("U-1", DOC, "content_type defaults to application/octet-stream", nil, func(c *Check) {
		s := c.UploadURL(c.Thread("u1-default"), "blob.bin", "", 4)
		ct, _ := header(s.Headers, "Content-Type")
		c.True(ct == "application/octet-stream", s.resp, "headers.Content-Type application/octet-stream", fmt.Sprint(s.Headers), "default Content-Type is not application/octet-stream")
	})

	check("U-1", DOC, "a PUT with exactly the returned headers stores the file", Label("signed_urls"), func(c *Check) {
		sp := c.Thread("u1-put")
		data := []byte(`{"values": [1, 2, 3, 4, 5]}`)
		c.Upload(sp, "input.json", "application/json", data)
		es, r := c.List(sp, nil)
		var found *listEntry
		for i := range es {
			if es[i].Path == "input.json" {
				found = &es[i]
			}
		}
		c.True(found != nil && found.Size == int64(len(data)), r, fmt.Sprintf("input.json, %d bytes", len(data)), r.Summary(), "the uploaded file is not listed with its size")
	})

	check("U-2", DOC, "expires_at is RFC 3339 UTC, 15 minutes after issue (upload and download)", Label("signed_urls"), func(c *Check) {
		sp := c.Thread("u2")
		before := c.ServerNow()
		s := c.UploadURL(sp, "a.txt", "text/plain", 2)
		after := c.ServerNow()
		c.expiresWithin(s, before, after)
		c.Stored(c.Put(s, []byte("hi")))
		before = c.ServerNow()
		d := c.DownloadURL(sp, "a.txt")
		after = c.ServerNow()
		c.expiresWithin(d, before, after)
	})

	check("U-2", DOC, "a URL works until expires_at and stops working after it (clock moved)", Label("signed_urls", "clock"), func(c *Check) {
		c.Need(needClock)
		sp := c.Thread("u2-expiry")
		early := c.UploadURL(sp, "early.txt", "text/plain", 5)
		late := c.UploadURL(sp, "late.txt", "text/plain", 5)
		c.Advance(14 * time.Minute)
		c.Stored(c.Put(early, []byte("early")))
		d := c.DownloadURL(sp, "early.txt")
		c.Advance(2 * time.Minute) // 16 minutes after the upload URLs were issued
		r := c.Put(late, []byte("late!"))
		c.Refused(r)
		c.NotStored(sp, "late.txt")
		c.OK(c.Get(d, nil)) // the download URL is 2 minutes old
		c.Advance(14 * time.Minute)
		c.Refused(c.Get(d, nil))
	})

	check("U-2", DOC, "an upload URL stops working after expires_at (real time: waits 15 minutes)", Label("signed_urls", "slow"), func(c *Check) {
		if c.rs.pre.ClockControl {
			c.Skip("the target has clock control: the clock-moving expiry check covers this")
		}
		sp := c.Thread("u2-slow")
		s := c.UploadURL(sp, "late.txt", "text/plain", 5)
		exp, err := parseUTC(s.ExpiresAt)
		c.True(err == nil, s.resp, "expires_at in RFC 3339 UTC", s.ExpiresAt, "expires_at: %v", err)
		wait := time.Until(exp.Add(-c.rs.pre.ClockOffset)) + 10*time.Second
		c.Step("waiting %v for the URL to expire", wait.Round(time.Second))
		select {
		case <-time.After(wait):
		case <-c.ctx.Done():
			c.Fail(nil, "time to wait", "interrupted", "interrupted while waiting for expiry")
		}
		c.Refused(c.Put(s, []byte("late!")))
		c.NotStored(sp, "late.txt")
	})

	check("U-6", DOC, "an interrupted upload leaves nothing, and a re-issued URL then works", Label("signed_urls"), func(c *Check) {
		sp := c.Thread("u6")
		data := patterned(256 << 10)
		c.Upload(sp, "other.txt", "text/plain", []byte("keeps the thread alive"))
		s := c.UploadURL(sp, "big.bin", "application/octet-stream", int64(len(data)))
		r := c.PutInterrupted(s, data, len(data)/2)
		c.True(r.Err != nil || r.Status >= 400, r, "the cut upload fails", r.Summary(), "storage accepted a body cut short")
		c.NotStored(sp, "big.bin")
		s2 := c.UploadURL(sp, "big.bin", "application/octet-stream", int64(len(data)))
		c.Stored(c.Put(s2, data))
		got := c.Download(sp, "big.bin")
		c.True(bytes.Equal(got.Body, data), got, fmt.Sprintf("%d uploaded bytes", len(data)), fmt.Sprintf("%d different bytes", len(got.Body)), "the re-uploaded file is not what was sent")
	})

	check("U-6", DOC, "an upload replaces the file; an interrupted one leaves the old file intact", Label("signed_urls"), func(c *Check) {
		sp := c.Thread("u6-replace")
		v1 := []byte("version one\n")
		v2 := patterned(64 << 10)
		c.Upload(sp, "f.txt", "text/plain", v1)
		s := c.UploadURL(sp, "f.txt", "text/plain", int64(len(v2)))
		c.PutInterrupted(s, v2, len(v2)/3)
		got := c.Download(sp, "f.txt")
		c.True(bytes.Equal(got.Body, v1), got, string(v1), fmt.Sprintf("%d bytes", len(got.Body)), "an interrupted upload damaged the earlier file")
		c.Upload(sp, "f.txt", "text/plain", v2)
		got = c.Download(sp, "f.txt")
		c.True(bytes.Equal(got.Body, v2), got, fmt.Sprintf("%d new bytes", len(v2)), fmt.Sprintf("%d bytes", len(got.Body)), "the completed upload did not replace the file")
		es, r := c.List(sp, nil)
		c.True(len(es) == 1 && es[0].Size == int64(len(v2)), r, "one file f.txt of the new size", fmt.Sprint(es), "listing after replacement is wrong")
	})
})
