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
func (c *checkRun) putInterrupted(s signed, data []byte, cut int) *Response {
	q := c.putReq(s, data[:cut])
	q.BodyLen = int64(len(data))
	r := c.rs.cl.doBody(c.ctx, q, io.MultiReader(bytes.NewReader(data[:cut]), errAfter{100 * time.Millisecond}))
	c.last = r
	return r
}

// NotStored requires that nothing is listed at p (the space may not exist).
func (c *checkRun) notStored(sp space, p string) {
	r := c.listResp(sp, nil)
	if r.Status == http.StatusNotFound {
		return
	}
	c.ok(r)
	es, _ := c.list(sp, nil)
	c.expect(r, !slices.Contains(paths(es), p), claim{want: p + " not listed", got: fmt.Sprint(paths(es)), why: fmt.Sprintf("%q is listed though its upload did not complete", p)})
}

// expiresWithin requires expires_at ≈ 15 minutes after [before, after].
func (c *checkRun) expiresWithin(what string, s signed, before, after time.Time) {
	t, err := parseUTC(s.ExpiresAt)
	if err == nil {
		mid := before.Add(after.Sub(before) / 2)
		c.observe(what+".expires_in", t.Sub(mid).Round(10*time.Second).String()) // expires_at has whole seconds
	}
	c.expect(s.resp, err == nil, claim{want: "expires_at in RFC 3339 UTC", got: s.ExpiresAt, why: fmt.Sprintf("expires_at: %v", err)})
	tol := c.timeTolerance()
	lo := before.Add(15*time.Minute - tol - time.Second) // RFC 3339 may drop fractions
	hi := after.Add(15*time.Minute + tol)
	c.expect(s.resp, !t.Before(lo) && !t.After(hi), claim{want: fmt.Sprintf("15 minutes after issue: between %s and %s", lo.Format(time.RFC3339), hi.Format(time.RFC3339)), got: s.ExpiresAt, why: fmt.Sprintf("expires_at %s is not 15 minutes after issue (issued at %s by the target's clock)", s.ExpiresAt, before.Format(time.RFC3339))})
}

// Upload URLs (SPEC U-1, U-2, U-6).
var _ = area("upload", nil, func() {
	check("U-1", DOC, `upload_url answers {url, method "PUT", headers with the Content-Type, expires_at}`, labels("U-1.a", "U-1.b", "U-1.c"), func(c *checkRun) {
		sp := c.thread("u1")
		r := c.uploadURLResp(sp, "input.json", "application/json", 27)
		c.ok(r)
		obj := r.Object()
		for _, f := range []string{"url", "method", "expires_at"} {
			_, ok := obj[f].(string)
			c.expect(r, ok, claim{want: fmt.Sprintf("string field %q", f), got: r.Summary(), why: fmt.Sprintf("upload_url answer lacks %q", f)})
		}
		_, ok := obj["headers"].(map[string]any)
		c.expect(r, ok, claim{want: `object field "headers"`, got: r.Summary(), why: "upload_url answer lacks a headers object"})
		s := c.parseSigned(r)
		c.expect(r, s.Method == http.MethodPut, claim{want: `method "PUT"`, got: fmt.Sprintf("%q", s.Method), why: "upload method is not PUT"})
		ct, ok := header(s.Headers, "Content-Type")
		c.expect(r, ok && ct == "application/json", claim{want: "headers.Content-Type application/json", got: fmt.Sprint(s.Headers), why: "headers do not carry the requested Content-Type"})
	})

	check("U-1", DOC, "content_type defaults to application/octet-stream", labels("U-1.d"), func(c *checkRun) {
		s := c.uploadURL(c.thread("u1-default"), "blob.bin", "", 4)
		ct, _ := header(s.Headers, "Content-Type")
		c.expect(s.resp, ct == "application/octet-stream", claim{want: "headers.Content-Type application/octet-stream", got: fmt.Sprint(s.Headers), why: "default Content-Type is not application/octet-stream"})
	})

	check("U-1", DOC, "a PUT with exactly the returned headers stores the file", labels("signed_urls", "U-1.e"), func(c *checkRun) {
		sp := c.thread("u1-put")
		data := []byte(`{"values": [1, 2, 3, 4, 5]}`)
		c.upload(sp, "input.json", "application/json", data)
		es, r := c.list(sp, nil)
		var found *listEntry
		for i := range es {
			if es[i].Path == "input.json" {
				found = &es[i]
			}
		}
		c.expect(r, found != nil && found.Size == int64(len(data)), claim{want: fmt.Sprintf("input.json, %d bytes", len(data)), got: r.Summary(), why: "the uploaded file is not listed with its size"})
	})

	check("U-2", DOC, "expires_at is RFC 3339 UTC, 15 minutes after issue (upload and download)", labels("signed_urls", "U-2.a", "U-2.b", "U-2.c"), func(c *checkRun) {
		sp := c.thread("u2")
		before := c.serverNow()
		s := c.uploadURL(sp, "a.txt", "text/plain", 2)
		after := c.serverNow()
		c.expiresWithin("upload_url", s, before, after)
		c.stored(c.put(s, []byte("hi")))
		before = c.serverNow()
		d := c.downloadURL(sp, "a.txt")
		after = c.serverNow()
		c.expiresWithin("download_url", d, before, after)
	})

	check("U-2", DOC, "a URL works until expires_at and stops working after it (clock moved)", labels("signed_urls", "clock", "U-2.d", "U-2.e", "M-2.a"), func(c *checkRun) {
		c.need(needClock)
		sp := c.thread("u2-expiry")
		early := c.uploadURL(sp, "early.txt", "text/plain", 5)
		late := c.uploadURL(sp, "late.txt", "text/plain", 5)
		c.advance(14 * time.Minute)
		c.stored(c.put(early, []byte("early")))
		d := c.downloadURL(sp, "early.txt")
		c.advance(2 * time.Minute) // 16 minutes after the upload URLs were issued
		r := c.put(late, []byte("late!"))
		c.refused(r)
		c.notStored(sp, "late.txt")
		c.ok(c.get(d, nil)) // the download URL is 2 minutes old
		c.advance(14 * time.Minute)
		c.refused(c.get(d, nil))
	})

	check("U-2", DOC, "an upload URL stops working after expires_at (real time: waits 15 minutes)", labels("signed_urls", "slow", "U-2.e"), func(c *checkRun) {
		if c.rs.pre.ClockControl {
			c.skip("the target has clock control: the clock-moving expiry check covers this")
		}
		sp := c.thread("u2-slow")
		s := c.uploadURL(sp, "late.txt", "text/plain", 5)
		exp, err := parseUTC(s.ExpiresAt)
		c.expect(s.resp, err == nil, claim{want: "expires_at in RFC 3339 UTC", got: s.ExpiresAt, why: fmt.Sprintf("expires_at: %v", err)})
		wait := time.Until(exp.Add(-c.rs.pre.ClockOffset)) + 10*time.Second
		c.step("waiting %v for the URL to expire", wait.Round(time.Second))
		select {
		case <-time.After(wait):
		case <-c.ctx.Done():
			c.fail(nil, "time to wait", "interrupted", "interrupted while waiting for expiry")
		}
		c.refused(c.put(s, []byte("late!")))
		c.notStored(sp, "late.txt")
	})

	check("U-6", DOC, "an interrupted upload leaves nothing, and a re-issued URL then works", labels("signed_urls", "U-6.a", "U-6.b"), func(c *checkRun) {
		sp := c.thread("u6")
		data := patterned(256 << 10)
		c.upload(sp, "other.txt", "text/plain", []byte("keeps the thread alive"))
		s := c.uploadURL(sp, "big.bin", "application/octet-stream", int64(len(data)))
		r := c.putInterrupted(s, data, len(data)/2)
		c.expect(r, r.Err != nil || r.Status >= 400, claim{want: "the cut upload fails", got: r.Summary(), why: "storage accepted a body cut short"})
		c.notStored(sp, "big.bin")
		s2 := c.uploadURL(sp, "big.bin", "application/octet-stream", int64(len(data)))
		c.stored(c.put(s2, data))
		got := c.download(sp, "big.bin")
		c.expect(got, bytes.Equal(got.Body, data), claim{want: fmt.Sprintf("%d uploaded bytes", len(data)), got: fmt.Sprintf("%d different bytes", len(got.Body)), why: "the re-uploaded file is not what was sent"})
	})

	check("U-6", DOC, "an upload replaces the file; an interrupted one leaves the old file intact", labels("signed_urls", "U-6.c", "U-6.d"), func(c *checkRun) {
		sp := c.thread("u6-replace")
		v1 := []byte("version one\n")
		v2 := patterned(64 << 10)
		c.upload(sp, "f.txt", "text/plain", v1)
		s := c.uploadURL(sp, "f.txt", "text/plain", int64(len(v2)))
		c.putInterrupted(s, v2, len(v2)/3)
		got := c.download(sp, "f.txt")
		c.expect(got, bytes.Equal(got.Body, v1), claim{want: string(v1), got: fmt.Sprintf("%d bytes", len(got.Body)), why: "an interrupted upload damaged the earlier file"})
		c.upload(sp, "f.txt", "text/plain", v2)
		got = c.download(sp, "f.txt")
		c.expect(got, bytes.Equal(got.Body, v2), claim{want: fmt.Sprintf("%d new bytes", len(v2)), got: fmt.Sprintf("%d bytes", len(got.Body)), why: "the completed upload did not replace the file"})
		es, r := c.list(sp, nil)
		c.expect(r, len(es) == 1 && es[0].Size == int64(len(v2)), claim{want: "one file f.txt of the new size", got: fmt.Sprint(es), why: "listing after replacement is wrong"})
	})
})
