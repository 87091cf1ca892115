package signing

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// awsExample is the presigned-URL example of the Amazon S3 API reference,
// "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)".
var awsExample = struct {
	creds     Credentials
	when      time.Time
	url       string
	canonical string
	sts       string
	signature string
}{
	creds: Credentials{KeyID: "AKIAIOSFODNN7EXAMPLE", Secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
	when:  time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC),
	url:   "https://examplebucket.s3.amazonaws.com/test.txt",
	canonical: "GET\n/test.txt\n" +
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\n" +
		"host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD",
	sts: "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" +
		"3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04",
	signature: "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
}

func TestAWSPresignKnownAnswer(t *testing.T) {
	u, _ := url.Parse(awsExample.url)
	got, err := S3().Presign(awsExample.creds, PresignInput{
		Method: http.MethodGet, URL: u, Time: awsExample.when, Expires: 86400 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := awsExample.url + "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=" + awsExample.signature
	if got != want {
		t.Fatalf("presigned URL\n got %s\nwant %s", got, want)
	}
}

func TestAWSKnownAnswerSteps(t *testing.T) {
	d := S3()
	pu, _ := url.Parse(awsExample.url + "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=" + awsExample.signature)
	req := Request{Method: "GET", Host: pu.Host, Path: pu.Path, Query: pu.Query(), Header: http.Header{}}
	canon := d.CanonicalRequest(req, []string{"host"})
	if canon != awsExample.canonical {
		t.Fatalf("canonical request\n got %q\nwant %q", canon, awsExample.canonical)
	}
	sts := d.StringToSign(awsExample.when, canon)
	if sts != awsExample.sts {
		t.Fatalf("string to sign\n got %q\nwant %q", sts, awsExample.sts)
	}
	if sig := d.Signature(awsExample.creds.Secret, awsExample.when, sts); sig != awsExample.signature {
		t.Fatalf("signature %s, want %s", sig, awsExample.signature)
	}
	// The same URL verifies within its day of validity and not after.
	if _, err := d.Verify(req, awsExample.creds, awsExample.when.Add(time.Hour)); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if _, err := d.Verify(req, awsExample.creds, awsExample.when.Add(24*time.Hour+time.Second)); !errors.Is(err, ErrExpired) {
		t.Fatalf("verify after expiry: %v, want ErrExpired", err)
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, path, query string }{
		{"a/b.txt", "a/b.txt", "a%2Fb.txt"},
		{"a b+c", "a%20b%2Bc", "a%20b%2Bc"},
		{"~-._AZaz09", "~-._AZaz09", "~-._AZaz09"},
		{"é", "%C3%A9", "%C3%A9"},
		{"a=b&c?d#e%f", "a%3Db%26c%3Fd%23e%25f", "a%3Db%26c%3Fd%23e%25f"},
	}
	for _, tt := range tests {
		if got := EscapePath(tt.in); got != tt.path {
			t.Errorf("EscapePath(%q) = %q, want %q", tt.in, got, tt.path)
		}
		if got := EscapeQuery(tt.in); got != tt.query {
			t.Errorf("EscapeQuery(%q) = %q, want %q", tt.in, got, tt.query)
		}
	}
	if got := EscapePath(""); got != "/" {
		t.Errorf("EscapePath(\"\") = %q, want /", got)
	}
}

// presignGCS signs an upload URL for the GCS dialect and returns it parsed
// with the headers the client must send.
func presignGCS(t *testing.T, at time.Time) (*url.URL, http.Header) {
	t.Helper()
	u, _ := url.Parse("http://127.0.0.1:8080/bucket/dir/a b.txt")
	h := http.Header{"Content-Type": {"text/plain"}, "Content-Length": {"5"}}
	s, err := GCS().Presign(Credentials{KeyID: "GOOGKEY", Secret: "s3cret"}, PresignInput{
		Method: "PUT", URL: u, Header: h, Time: at, Expires: 15 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	pu, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return pu, h
}

func TestVerifyChecks(t *testing.T) {
	at := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	creds := Credentials{KeyID: "GOOGKEY", Secret: "s3cret"}
	pu, h := presignGCS(t, at)
	if !strings.Contains(pu.RawQuery, "X-Goog-SignedHeaders=content-length%3Bcontent-type%3Bhost") {
		t.Fatalf("signed headers not canonical in %s", pu.RawQuery)
	}
	if pu.EscapedPath() != "/bucket/dir/a%20b.txt" {
		t.Fatalf("path %q", pu.EscapedPath())
	}
	base := func() Request {
		return Request{Method: "PUT", Host: pu.Host, Path: pu.Path, Query: pu.Query(), Header: h.Clone()}
	}
	tests := []struct {
		name   string
		mutate func(*Request, *Credentials)
		now    time.Time
		want   error // nil: accepted
		param  string
	}{
		{"valid", func(*Request, *Credentials) {}, at.Add(time.Minute), nil, ""},
		{"valid at the last second", func(*Request, *Credentials) {}, at.Add(15 * time.Minute), nil, ""},
		{"expired", func(*Request, *Credentials) {}, at.Add(15*time.Minute + time.Second), ErrExpired, "X-Goog-Expires"},
		{"not yet valid", func(*Request, *Credentials) {}, at.Add(-time.Second), ErrNotYetValid, "X-Goog-Date"},
		{"missing signature", func(r *Request, _ *Credentials) { r.Query.Del("X-Goog-Signature") }, at, ErrMissingParam, "X-Goog-Signature"},
		{"missing date", func(r *Request, _ *Credentials) { r.Query.Del("X-Goog-Date") }, at, ErrMissingParam, "X-Goog-Date"},
		{"empty credential", func(r *Request, _ *Credentials) { r.Query.Set("X-Goog-Credential", "") }, at, ErrMissingParam, "X-Goog-Credential"},
		{"malformed date", func(r *Request, _ *Credentials) { r.Query.Set("X-Goog-Date", "2026-03-04T12:00:00Z") }, at, ErrMalformed, "X-Goog-Date"},
		{"malformed expires", func(r *Request, _ *Credentials) { r.Query.Set("X-Goog-Expires", "15m") }, at, ErrMalformed, "X-Goog-Expires"},
		{"zero expires", func(r *Request, _ *Credentials) { r.Query.Set("X-Goog-Expires", "0") }, at, ErrMalformed, "X-Goog-Expires"},
		{"expires over 7 days", func(r *Request, _ *Credentials) { r.Query.Set("X-Goog-Expires", "604801") }, at, ErrMalformed, "X-Goog-Expires"},
		{"wrong algorithm", func(r *Request, _ *Credentials) { r.Query.Set("X-Goog-Algorithm", "AWS4-HMAC-SHA256") }, at, ErrMalformed, "X-Goog-Algorithm"},
		{"host not signed", func(r *Request, _ *Credentials) { r.Query.Set("X-Goog-SignedHeaders", "content-type") }, at, ErrMalformed, "X-Goog-SignedHeaders"},
		{"other key id", func(_ *Request, c *Credentials) { c.KeyID = "OTHER" }, at, ErrCredential, "X-Goog-Credential"},
		{"scope of another day", func(r *Request, _ *Credentials) {
			r.Query.Set("X-Goog-Credential", "GOOGKEY/20260303/auto/storage/goog4_request")
		}, at, ErrCredential, "X-Goog-Credential"},
		{"other secret", func(_ *Request, c *Credentials) { c.Secret = "other" }, at, ErrSignature, "X-Goog-Signature"},
		{"tampered signature", func(r *Request, _ *Credentials) {
			s := []byte(r.Query.Get("X-Goog-Signature"))
			s[0] ^= 1
			r.Query.Set("X-Goog-Signature", string(s))
		}, at, ErrSignature, "X-Goog-Signature"},
		{"other method", func(r *Request, _ *Credentials) { r.Method = "GET" }, at, ErrSignature, "X-Goog-Signature"},
		{"other path", func(r *Request, _ *Credentials) { r.Path = "/bucket/dir/b.txt" }, at, ErrSignature, "X-Goog-Signature"},
		{"other host", func(r *Request, _ *Credentials) { r.Host = "localhost:8080" }, at, ErrSignature, "X-Goog-Signature"},
		{"added query parameter", func(r *Request, _ *Credentials) { r.Query.Set("generation", "1") }, at, ErrSignature, "X-Goog-Signature"},
		{"longer expiry", func(r *Request, _ *Credentials) { r.Query.Set("X-Goog-Expires", "901") }, at, ErrSignature, "X-Goog-Signature"},
		{"other content type", func(r *Request, _ *Credentials) { r.Header.Set("Content-Type", "text/html") }, at, ErrSignature, "X-Goog-Signature"},
		{"other length", func(r *Request, _ *Credentials) { r.Header.Set("Content-Length", "6") }, at, ErrSignature, "X-Goog-Signature"},
		{"no length", func(r *Request, _ *Credentials) { r.Header.Del("Content-Length") }, at, ErrSignature, "X-Goog-Signature"},
		{"header case and spacing do not matter", func(r *Request, _ *Credentials) {
			r.Header = http.Header{"Content-Type": {"  text/plain "}, "Content-Length": {"5"}, "X-Unsigned": {"x"}}
		}, at, nil, ""},
		{"upper-case hex signature accepted", func(r *Request, _ *Credentials) {
			r.Query.Set("X-Goog-Signature", strings.ToUpper(r.Query.Get("X-Goog-Signature")))
		}, at, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, c := base(), creds
			tt.mutate(&req, &c)
			p, err := GCS().Verify(req, c, tt.now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.KeyID != "GOOGKEY" || !p.ExpiresAt().Equal(at.Add(15*time.Minute)) {
					t.Fatalf("params %+v", p)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error %v, want %v", err, tt.want)
			}
			var se *Error
			if !errors.As(err, &se) || se.Param != tt.param {
				t.Fatalf("Verify error %#v, want param %s", err, tt.param)
			}
		})
	}
}

func TestPresignRejectsBadInput(t *testing.T) {
	u, _ := url.Parse("http://h/b/o")
	at := time.Now()
	tests := []struct {
		name string
		in   PresignInput
	}{
		{"no url", PresignInput{Method: "GET", Time: at, Expires: time.Minute}},
		{"no host", PresignInput{Method: "GET", URL: &url.URL{Path: "/b/o"}, Time: at, Expires: time.Minute}},
		{"no method", PresignInput{URL: u, Time: at, Expires: time.Minute}},
		{"zero expiry", PresignInput{Method: "GET", URL: u, Time: at}},
		{"expiry over 7 days", PresignInput{Method: "GET", URL: u, Time: at, Expires: 8 * 24 * time.Hour}},
	}
	for _, tt := range tests {
		if _, err := GCS().Presign(Credentials{KeyID: "k", Secret: "s"}, tt.in); err == nil {
			t.Errorf("%s: Presign succeeded, want an error", tt.name)
		}
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		raw  string
		want url.Values
	}{
		{"", url.Values{}},
		{"a=1&b=2&a=3", url.Values{"a": {"1", "3"}, "b": {"2"}}},
		{"X-Goog-SignedHeaders=content-type;host", url.Values{"X-Goog-SignedHeaders": {"content-type;host"}}},
		{"k=a%2Fb%3Bc&e=&f", url.Values{"k": {"a/b;c"}, "e": {""}, "f": {""}}},
		{"s=a+b%20c", url.Values{"s": {"a b c"}}},
		{"bad=%zz", url.Values{"bad": {"%zz"}}},
	}
	for _, tt := range tests {
		got := ParseQuery(tt.raw)
		if len(got) != len(tt.want) {
			t.Errorf("ParseQuery(%q) = %v, want %v", tt.raw, got, tt.want)
			continue
		}
		for k, v := range tt.want {
			if strings.Join(got[k], ",") != strings.Join(v, ",") || len(got[k]) != len(v) {
				t.Errorf("ParseQuery(%q)[%q] = %q, want %q", tt.raw, k, got[k], v)
			}
		}
	}
}

func TestVerifyUnescapedSemicolon(t *testing.T) {
	at := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	pu, h := presignGCS(t, at)
	raw := strings.ReplaceAll(pu.RawQuery, "%3B", ";")
	r, err := http.NewRequest("PUT", "http://"+pu.Host+pu.EscapedPath()+"?"+raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header = h.Clone()
	r.Host = pu.Host
	if _, err := GCS().Verify(FromHTTP(r), Credentials{KeyID: "GOOGKEY", Secret: "s3cret"}, at); err != nil {
		t.Fatalf("Verify with an unescaped ';': %v", err)
	}
}

// TestPresignPlainMatchesGeneral holds the fast path of Presign (a URL with
// no query of its own) to the general one, byte for byte.
func TestPresignPlainMatchesGeneral(t *testing.T) {
	for _, when := range []time.Time{time.Date(2026, 3, 4, 23, 59, 59, 0, time.FixedZone("x", 5*3600)), time.Date(2026, 3, 5, 2, 0, 0, 0, time.FixedZone("y", 5*3600)), time.Date(999, 12, 31, 0, 0, 9, 0, time.UTC)} {
		for _, d := range []Dialect{GCS(), S3(), {Algorithm: "X/Y Z", ParamPrefix: "P_", KeyPrefix: "K", Region: "r 1", Service: "s/3", Terminator: "t~"}} {
			for _, c := range []Credentials{{KeyID: "GOOG1EXAMPLE", Secret: "s"}, {KeyID: "a b/c+d", Secret: "ß"}} {
				for _, path := range []string{"/bucket/orgs/o/threads/t/a b/é~x+y.txt", "", "/", "/b/%2F;?#"} {
					for _, h := range []http.Header{nil, {"Content-Type": {"text/plain;  charset=utf-8"}, "Content-Length": {"12"}}, {"X-Extra": {"a", " b  c "}}} {
						in := PresignInput{Method: http.MethodPut, URL: &url.URL{Scheme: "http", Host: "127.0.0.1:4443", Path: path},
							Header: h, Time: when, Expires: 15 * time.Minute}
						fast, err := d.Presign(c, in)
						if err != nil {
							t.Fatal(err)
						}
						names := []string{"host"}
						for k := range h {
							names = append(names, strings.ToLower(k))
						}
						slices.Sort(names)
						if general := d.presignGeneral(c, in, names, 900); fast != general {
							t.Errorf("%v %s %q %v:\nfast    %s\ngeneral %s", when, d.Algorithm, path, h, fast, general)
						}
					}
				}
			}
		}
	}
}

// TestVerifyMismatchExplains: a signature that does not match reports the
// canonical request and string to sign that CanonicalRequest and
// StringToSign make (what the faces echo back), for both dialects, with
// extra query parameters and multi-valued headers.
func TestVerifyMismatchExplains(t *testing.T) {
	at := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	for _, d := range []Dialect{GCS(), S3()} {
		c := Credentials{KeyID: "KEY", Secret: "s3cret"}
		h := http.Header{"Content-Type": {"text/plain"}, "X-Multi": {"a ", " b  c"}}
		s, err := d.Presign(c, PresignInput{Method: "PUT", URL: &url.URL{Scheme: "http", Host: "h:1", Path: "/b/a b/ü~.txt"},
			Header: h, Time: at, Expires: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(s)
		q := pu.Query()
		req := Request{Method: "PUT", Host: pu.Host, Path: pu.Path, Query: q, Header: h}
		if _, err := d.Verify(req, c, at); err != nil {
			t.Fatalf("%s: Verify of a fresh URL: %v", d.Algorithm, err)
		}
		q.Add("z", "1/2")
		q.Add("a b", "")
		_, err = d.Verify(req, c, at)
		var se *Error
		if !errors.As(err, &se) || !errors.Is(err, ErrSignature) {
			t.Fatalf("%s: Verify with added parameters = %v, want ErrSignature", d.Algorithm, err)
		}
		names := strings.Split(q.Get(d.Param("SignedHeaders")), ";")
		canon := d.CanonicalRequest(req, names)
		if se.CanonicalRequest != canon {
			t.Errorf("%s: canonical request\n%s\nwant\n%s", d.Algorithm, se.CanonicalRequest, canon)
		}
		if sts := d.StringToSign(at, canon); se.StringToSign != sts {
			t.Errorf("%s: string to sign\n%s\nwant\n%s", d.Algorithm, se.StringToSign, sts)
		}
	}
}

// TestPresignHeaderValuesAsHeader: headers given as pairs sign exactly as
// the same headers in a Header map, on the plain and the general path.
func TestPresignHeaderValuesAsHeader(t *testing.T) {
	at := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	c := Credentials{KeyID: "KEY", Secret: "s"}
	for _, d := range []Dialect{GCS(), S3()} {
		for _, rawQuery := range []string{"", "generation=1&a=b%2Fc"} {
			for _, pairs := range [][]HeaderValue{
				{{"Content-Type", "application/json"}, {"Content-Length", "1024"}},
				{{"Content-Type", "  text/plain;  charset=utf-8 "}, {"X-Extra", "é x"}},
				nil,
			} {
				h := http.Header{}
				for _, p := range pairs {
					h.Set(p.Name, p.Value)
				}
				in := PresignInput{Method: "PUT", URL: &url.URL{Scheme: "http", Host: "h:1", Path: "/b/a b.txt", RawQuery: rawQuery},
					Header: h, Time: at, Expires: time.Minute}
				want, err := d.Presign(c, in)
				if err != nil {
					t.Fatal(err)
				}
				in.Header, in.HeaderValues = nil, pairs
				got, err := d.Presign(c, in)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("%s %q %v:\npairs  %s\nheader %s", d.Algorithm, rawQuery, pairs, got, want)
				}
			}
		}
	}
}
