package conformance

import (
	"net/http"
	"net/url"
)

// Helpers for the four Files API operations and the signed URLs they hand out.

// signed is an upload_url or download_url answer.
type signed struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt string            `json:"expires_at"`
	resp      *Response
}

// uploadURLResp asks for an upload URL and returns the raw response.
func (c *checkRun) uploadURLResp(sp space, path, contentType string, n int64) *Response {
	b := sp.body("path", path, "content_length", n)
	if contentType != "" {
		b["content_type"] = contentType
	}
	return c.call(http.MethodPost, "/v1/files/upload_url", b)
}

// uploadURL asks for an upload URL and requires a usable answer.
func (c *checkRun) uploadURL(sp space, path, contentType string, n int64) signed {
	r := c.uploadURLResp(sp, path, contentType, n)
	c.ok(r)
	return c.parseSigned(r)
}

func (c *checkRun) parseSigned(r *Response) signed {
	var s signed
	if err := r.JSON(&s); err != nil {
		c.fail(r, "JSON {url, method, headers, expires_at}", r.Summary(), "%v", err)
	}
	if s.URL == "" {
		c.fail(r, `a non-empty "url"`, r.Summary(), "signed URL answer has no url")
	}
	if u, err := url.Parse(s.URL); err != nil || !u.IsAbs() || u.Host == "" {
		c.fail(r, "an absolute URL", s.URL, "url is not an absolute URL (%v)", err)
	}
	s.resp = r
	return s
}

// putReq builds the PUT of body to an upload URL, with exactly its headers.
func (c *checkRun) putReq(s signed, body []byte) *request {
	q := &request{Method: http.MethodPut, URL: s.URL, Header: http.Header{}, Body: body}
	if s.Method != "" {
		q.Method = s.Method
	}
	for k, v := range s.Headers {
		q.Header.Set(k, v)
	}
	if body == nil {
		q.Body = []byte{}
	}
	return q
}

// put sends body to an upload URL with exactly the returned headers.
func (c *checkRun) put(s signed, body []byte) *Response { return c.send(c.putReq(s, body)) }

// stored requires a 2xx answer from storage.
func (c *checkRun) stored(r *Response) {
	if r.Status < 200 || r.Status > 299 {
		c.fail(r, "HTTP 2xx from storage", r.Summary(), "upload to the signed URL failed: %s", r.Summary())
	}
}

// upload stores data at path through a signed URL.
func (c *checkRun) upload(sp space, path, contentType string, data []byte) signed {
	s := c.uploadURL(sp, path, contentType, int64(len(data)))
	c.stored(c.put(s, data))
	return s
}

// downloadURLResp asks for a download URL.
func (c *checkRun) downloadURLResp(sp space, path string) *Response {
	return c.call(http.MethodPost, "/v1/files/download_url", sp.body("path", path))
}

// downloadURL asks for a download URL and requires a usable answer.
func (c *checkRun) downloadURL(sp space, path string) signed {
	r := c.downloadURLResp(sp, path)
	c.ok(r)
	return c.parseSigned(r)
}

// get fetches a download URL with its headers plus extra ones.
func (c *checkRun) get(s signed, extra map[string]string) *Response {
	q := &request{Method: http.MethodGet, URL: s.URL, Header: http.Header{}}
	for k, v := range s.Headers {
		q.Header.Set(k, v)
	}
	for k, v := range extra {
		q.Header.Set(k, v)
	}
	return c.send(q)
}

// download returns the bytes stored at path.
func (c *checkRun) download(sp space, path string) *Response {
	s := c.downloadURL(sp, path)
	r := c.get(s, nil)
	c.ok(r)
	return r
}

// listEntry is one entry of a listing.
type listEntry struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	Modified    string `json:"modified"`
	IsDirectory bool   `json:"is_directory"`
}

// listResp lists a space; prefix nil omits path.
func (c *checkRun) listResp(sp space, prefix *string) *Response {
	b := sp.body()
	if prefix != nil {
		b["path"] = *prefix
	}
	return c.call(http.MethodPost, "/v1/files/list", b)
}

// list lists a space and requires 200 with a files array.
func (c *checkRun) list(sp space, prefix *string) ([]listEntry, *Response) {
	r := c.listResp(sp, prefix)
	c.ok(r)
	var lr struct {
		Files *[]listEntry `json:"files"`
	}
	if err := r.JSON(&lr); err != nil || lr.Files == nil {
		c.fail(r, `JSON {"files": [...]}`, r.Summary(), "list answer has no files array (%v)", err)
	}
	return *lr.Files, r
}

// Paths returns the listed paths.
func paths(es []listEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Path
	}
	return out
}

// deleteResp deletes a file.
func (c *checkRun) deleteResp(sp space, path string) *Response {
	return c.call(http.MethodDelete, "/v1/files", sp.body("path", path))
}
