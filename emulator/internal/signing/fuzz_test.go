package signing

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzVerify parses and verifies arbitrary requests against a URL presigned
// for PUT of 10 bytes of text/plain (GCS and S3 dialects). Verify must never
// panic, and must accept only requests whose canonical form is that of the
// signed request: any change that matters breaks the signature.
func FuzzVerify(f *testing.F) {
	creds := Credentials{KeyID: "localbaponi", Secret: "localbaponi-dev-secret"}
	when := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	dialects := []Dialect{GCS(), S3()}
	type signed struct {
		req   Request
		query string
	}
	var orig []signed
	for _, d := range dialects {
		u, _ := url.Parse("http://127.0.0.1:8080/baponi-local-storage/orgs/o/threads/t/a%20b.txt")
		h := http.Header{"Content-Type": {"text/plain"}, "Content-Length": {"10"}}
		s, err := d.Presign(creds, PresignInput{Method: http.MethodPut, URL: u, Header: h, Time: when, Expires: 15 * time.Minute})
		if err != nil {
			f.Fatal(err)
		}
		su, _ := url.Parse(s)
		o := signed{req: Request{Method: http.MethodPut, Host: su.Host, Path: su.Path, Query: ParseQuery(su.RawQuery), Header: h}, query: su.RawQuery}
		if _, err := d.Verify(o.req, creds, when.Add(time.Minute)); err != nil {
			f.Fatalf("the signed request itself does not verify: %v", err)
		}
		orig = append(orig, o)
	}
	for i, o := range orig {
		f.Add(uint8(i), "PUT", o.req.Path, o.query, "text/plain", "10")
		f.Add(uint8(i), "PUT", o.req.Path, o.query, "text/plain", "11")
		f.Add(uint8(i), "GET", o.req.Path, o.query, "text/plain", "10")
		f.Add(uint8(i), "PUT", o.req.Path+"x", o.query, "text/plain", "10")
		f.Add(uint8(i), "PUT", o.req.Path, strings.Replace(o.query, "900", "901", 1), "text/html", "10")
		f.Add(uint8(i), "PUT", o.req.Path, o.query+"&extra=1", "text/plain", "10")
		f.Add(uint8(i), "PUT", o.req.Path, "", "", "")
	}
	f.Fuzz(func(t *testing.T, which uint8, method, path, rawQuery, ct, cl string) {
		i := int(which) % len(dialects)
		d, o := dialects[i], orig[i]
		req := Request{Method: method, Host: o.req.Host, Path: path, Query: ParseQuery(rawQuery),
			Header: http.Header{"Content-Type": {ct}, "Content-Length": {cl}}}
		p, err := d.Verify(req, creds, when.Add(time.Minute))
		if err != nil {
			return
		}
		if got, want := d.CanonicalRequest(req, p.SignedHeaders), d.CanonicalRequest(o.req, p.SignedHeaders); got != want {
			t.Fatalf("accepted a request that differs from the signed one:\n%s\n--- signed:\n%s", got, want)
		}
	})
}
