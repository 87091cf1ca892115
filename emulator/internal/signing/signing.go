// Package signing implements the V4 query-string signing family shared by
// Google Cloud Storage (GOOG4-HMAC-SHA256) and Amazon S3 (AWS SigV4): a URL
// carries its algorithm, credential scope, date, lifetime, signed header
// names and an HMAC-SHA256 signature over a canonical form of the request.
//
// The two providers differ only in names (parameter prefix, key prefix,
// region, service, terminator), which a Dialect holds; the algorithm is the
// same, so one implementation serves both faces.
package signing

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// UnsignedPayload is the payload hash of every query-string-signed request:
// the body is not covered by the signature (its length is, when
// content-length is a signed header).
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// DateFormat is the layout of the Date parameter (ISO 8601 basic, UTC).
const DateFormat = "20060102T150405Z"

// scopeDateFormat is the layout of the date in the credential scope.
const scopeDateFormat = "20060102"

// DefaultMaxExpires is the longest lifetime both providers accept (7 days).
const DefaultMaxExpires = 7 * 24 * time.Hour

// Dialect holds the names that distinguish one provider's V4 signing from
// another's. Use GCS or S3 for the standard ones.
type Dialect struct {
	// Algorithm is the value of the Algorithm parameter and the first line
	// of the string to sign, e.g. "GOOG4-HMAC-SHA256".
	Algorithm string
	// ParamPrefix starts every query parameter name, e.g. "X-Goog-" gives
	// X-Goog-Algorithm, X-Goog-Credential, X-Goog-Date, X-Goog-Expires,
	// X-Goog-SignedHeaders and X-Goog-Signature.
	ParamPrefix string
	// KeyPrefix is prepended to the secret to key the first HMAC of the
	// signing-key derivation, e.g. "GOOG4" or "AWS4".
	KeyPrefix string
	// Region, Service and Terminator make up the credential scope
	// <yyyymmdd>/<Region>/<Service>/<Terminator>.
	Region     string
	Service    string
	Terminator string
	// MaxExpires is the longest Expires value accepted by Verify; zero
	// means DefaultMaxExpires.
	MaxExpires time.Duration
}

// GCS returns the dialect of Google Cloud Storage V4 signed URLs with an
// HMAC key: GOOG4-HMAC-SHA256, scope <date>/auto/storage/goog4_request.
func GCS() Dialect {
	return Dialect{
		Algorithm:   "GOOG4-HMAC-SHA256",
		ParamPrefix: "X-Goog-",
		KeyPrefix:   "GOOG4",
		Region:      "auto",
		Service:     "storage",
		Terminator:  "goog4_request",
	}
}

// S3 returns the dialect of Amazon S3 SigV4 presigned URLs in us-east-1:
// AWS4-HMAC-SHA256, scope <date>/us-east-1/s3/aws4_request. Change Region
// for another region.
func S3() Dialect {
	return Dialect{
		Algorithm:   "AWS4-HMAC-SHA256",
		ParamPrefix: "X-Amz-",
		KeyPrefix:   "AWS4",
		Region:      "us-east-1",
		Service:     "s3",
		Terminator:  "aws4_request",
	}
}

// Param returns the full name of one signing query parameter, e.g.
// Param("Date") is "X-Goog-Date" in the GCS dialect.
func (d Dialect) Param(name string) string {
	if full, ok := knownParams[[2]string{d.ParamPrefix, name}]; ok {
		return full
	}
	return d.ParamPrefix + name
}

// paramNames are the names of the signing parameters, after the prefix.
var paramNames = [...]string{"Algorithm", "Credential", "Date", "Expires", "SignedHeaders", "Signature"}

// The indexes of paramNames.
const (
	pAlgorithm = iota
	pCredential
	pDate
	pExpires
	pSignedHeaders
	pSignature
)

// params returns the full names of the signing parameters, in paramNames'
// order: presigning needs all of them, for one look-up.
func (d Dialect) params() *[len(paramNames)]string {
	if p := knownParamSets[d.ParamPrefix]; p != nil {
		return p
	}
	var p [len(paramNames)]string
	for i, n := range paramNames {
		p[i] = d.ParamPrefix + n
	}
	return &p
}

// knownParamSets are params for the standard dialects' prefixes.
var knownParamSets = func() map[string]*[len(paramNames)]string {
	m := map[string]*[len(paramNames)]string{}
	for _, d := range []Dialect{GCS(), S3()} {
		var p [len(paramNames)]string
		for i, n := range paramNames {
			p[i] = d.ParamPrefix + n
		}
		m[d.ParamPrefix] = &p
	}
	return m
}()

// knownParams holds the full parameter names of the standard dialects, so
// that verifying a request builds none of them.
var knownParams = func() map[[2]string]string {
	m := map[[2]string]string{}
	for _, d := range []Dialect{GCS(), S3()} {
		for _, n := range paramNames {
			m[[2]string{d.ParamPrefix, n}] = d.ParamPrefix + n
		}
	}
	return m
}()

// Scope returns the credential scope for the day of t (in UTC).
func (d Dialect) Scope(t time.Time) string {
	return t.UTC().Format(scopeDateFormat) + "/" + d.Region + "/" + d.Service + "/" + d.Terminator
}

func (d Dialect) maxExpires() time.Duration {
	if d.MaxExpires > 0 {
		return d.MaxExpires
	}
	return DefaultMaxExpires
}

// Credentials is a signing identity: the access key ID that appears in the
// URL and the secret that never does.
type Credentials struct {
	KeyID  string
	Secret string
}

// Request is the part of an HTTP request that a V4 signature covers.
type Request struct {
	Method string
	// Host is the value of the Host header (with its port, if any).
	Host string
	// Path is the decoded path, e.g. "/bucket/a b.txt"; Verify and
	// Presign encode it canonically.
	Path string
	// Query holds every query parameter, decoded, including the signing
	// parameters (the signature itself is left out of the canonical form).
	Query url.Values
	// Header holds the request headers; a "host" signed header is taken
	// from Host, not from here.
	Header http.Header
}

// FromHTTP takes the signed parts of a server-side request.
func FromHTTP(r *http.Request) Request {
	return Request{
		Method: r.Method,
		Host:   r.Host,
		Path:   r.URL.Path,
		Query:  ParseQuery(r.URL.RawQuery),
		Header: r.Header,
	}
}

// ParseQuery decodes a raw query like url.ParseQuery, but keeps a literal
// ';' as part of a value: url.ParseQuery drops any parameter containing one,
// and a client that does not escape the ';' of SignedHeaders
// ("content-type;host") must get a signature check, not a missing parameter.
// A pair that does not decode is kept as it was sent.
func ParseQuery(raw string) url.Values {
	q := url.Values{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		q[k] = append(q[k], v)
	}
	return q
}

// CanonicalRequest returns the canonical request of req for the given
// signed header names (lower-case, in order):
// method, canonical URI, canonical query (without the signature parameter),
// canonical headers, signed headers and the payload hash, one per line.
func (d Dialect) CanonicalRequest(req Request, signedHeaders []string) string {
	return d.canonicalRequest(req, signedHeaders, canonicalQuery(req.Query, d.Param("Signature")))
}

// canonicalRequest is CanonicalRequest with the canonical query given.
func (d Dialect) canonicalRequest(req Request, signedHeaders []string, cq string) string {
	var b strings.Builder
	b.Grow(256 + len(req.Path) + len(cq))
	b.WriteString(req.Method)
	b.WriteByte('\n')
	b.WriteString(EscapePath(req.Path))
	b.WriteByte('\n')
	b.WriteString(cq)
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(headerValue(req, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(UnsignedPayload)
	return b.String()
}

// StringToSign returns the string to sign for a canonical request made at t:
// algorithm, timestamp, scope and the hex SHA-256 of the canonical request.
func (d Dialect) StringToSign(t time.Time, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return d.Algorithm + "\n" + t.UTC().Format(DateFormat) + "\n" + d.Scope(t) + "\n" + hex.EncodeToString(sum[:])
}

// SigningKey derives the key for the day of t: HMAC chained over the date,
// region, service and terminator, starting from KeyPrefix+secret.
func (d Dialect) SigningKey(secret string, t time.Time) []byte {
	return slices.Clone(d.signingKey(secret, t))
}

// signingKey is SigningKey from the cache: the caller must not change it.
func (d Dialect) signingKey(secret string, t time.Time) []byte {
	return d.derived(secret, t).key
}

// derived returns the cached signing key for the day of t, deriving it
// (four HMACs) on the first use of the day.
func (d Dialect) derived(secret string, t time.Time) *derivedKey {
	y, m, day := t.UTC().Date()
	ck := keyCacheKey{d.KeyPrefix, secret, y*10000 + int(m)*100 + day, d.Region, d.Service, d.Terminator}
	if last := lastKey.Load(); last != nil && last.k == ck {
		return last.dk // every URL of the day, with one secret: no hashing, no lock
	}
	if k, ok := signingKeys.get(ck); ok {
		lastKey.Store(&cachedKey{ck, k})
		return k
	}
	k := hmacSHA256([]byte(d.KeyPrefix+secret), t.UTC().Format(scopeDateFormat))
	k = hmacSHA256(k, d.Region)
	k = hmacSHA256(k, d.Service)
	k = hmacSHA256(k, d.Terminator)
	dk := &derivedKey{key: k}
	// HMAC's padded keys (RFC 2104), for a key no longer than a block.
	for i := range dk.ipad {
		var b byte
		if i < len(k) {
			b = k[i]
		}
		dk.ipad[i], dk.opad[i] = b^0x36, b^0x5c
	}
	signingKeys.put(ck, dk)
	lastKey.Store(&cachedKey{ck, dk})
	return dk
}

// lastKey is the last key derived returned: what every URL signed or
// verified on the same day with the same secret asks for.
var lastKey atomic.Pointer[cachedKey]

type cachedKey struct {
	k  keyCacheKey
	dk *derivedKey
}

// derivedKey is a signing key and its HMAC pads.
type derivedKey struct {
	key        []byte
	ipad, opad [sha256.BlockSize]byte
}

// mac appends HMAC-SHA256(key, msg) to out: the same sum as crypto/hmac,
// from the pads computed once per key.
func (k *derivedKey) mac(out, msg []byte) []byte {
	h := sha256.New()
	h.Write(k.ipad[:])
	h.Write(msg)
	var inner [sha256.Size]byte
	h.Sum(inner[:0])
	h.Reset()
	h.Write(k.opad[:])
	h.Write(inner[:])
	return h.Sum(out)
}

// keyCacheKey is everything a signing key is derived from (date is the
// day as yyyymmdd).
type keyCacheKey struct {
	prefix, secret              string
	date                        int
	region, service, terminator string
}

// keyCache remembers derived signing keys: every URL signed or verified on
// the same day with the same secret uses the same key, and deriving it is
// four HMACs. It holds at most keyCacheMax keys (then starts afresh).
type keyCache struct {
	mu   sync.Mutex
	keys map[keyCacheKey]*derivedKey
}

const keyCacheMax = 64

var signingKeys keyCache

func (c *keyCache) get(k keyCacheKey) (*derivedKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.keys[k]
	return v, ok
}

func (c *keyCache) put(k keyCacheKey, v *derivedKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil || len(c.keys) >= keyCacheMax {
		c.keys = make(map[keyCacheKey]*derivedKey)
	}
	c.keys[k] = v
}

// Signature returns the hex signature of stringToSign for the day of t.
func (d Dialect) Signature(secret string, t time.Time, stringToSign string) string {
	var sig [sha256.Size]byte
	return hex.EncodeToString(d.derived(secret, t).mac(sig[:0], []byte(stringToSign)))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// PresignInput describes the request a presigned URL will allow.
type PresignInput struct {
	Method string
	// URL gives the scheme, host and (decoded) path; any query parameters it
	// already has are signed too.
	URL *url.URL
	// Header holds the headers, other than Host, that the client will send
	// and that the signature covers (e.g. Content-Type, Content-Length).
	Header http.Header
	// HeaderValues are more headers the signature covers, one value each,
	// as pairs: what Header holds, without a map to build. Their names must
	// not be in Header.
	HeaderValues []HeaderValue
	// Time is the signing time; the URL is valid from it for Expires.
	Time    time.Time
	Expires time.Duration
}

// HeaderValue is one header and its value (PresignInput.HeaderValues).
type HeaderValue struct{ Name, Value string }

// Presign returns a URL that allows the described request until
// in.Time+in.Expires. Its query is in canonical order, the signature last.
func (d Dialect) Presign(c Credentials, in PresignInput) (string, error) {
	if in.URL == nil || in.URL.Host == "" {
		return "", errors.New("signing: presign: URL with a host is required")
	}
	if in.Method == "" {
		return "", errors.New("signing: presign: method is required")
	}
	secs := int64(in.Expires / time.Second)
	if secs < 1 || in.Expires > d.maxExpires() {
		return "", fmt.Errorf("signing: presign: expires %v is outside 1s..%v", in.Expires, d.maxExpires())
	}
	// The signed headers, sorted by lower-case name; on the stack for the
	// few headers a presigned URL signs.
	var buf [8]signedHeader
	hs := append(buf[:0], signedHeader{name: "host"})
	for key, vals := range in.Header {
		if n := lowerHeaderName(key); n != "host" {
			hs = append(hs, signedHeader{name: n, vals: vals})
		}
	}
	for _, hv := range in.HeaderValues {
		if n := lowerHeaderName(hv.Name); n != "host" {
			hs = append(hs, signedHeader{name: n, val: hv.Value, single: true})
		}
	}
	slices.SortFunc(hs, func(a, b signedHeader) int { return strings.Compare(a.name, b.name) })
	if in.URL.RawQuery == "" {
		return d.presignPlain(c, in, hs, secs), nil
	}
	names := make([]string, len(hs))
	for i, h := range hs {
		names[i] = h.name
	}
	if len(in.HeaderValues) > 0 {
		h := in.Header.Clone()
		if h == nil {
			h = http.Header{}
		}
		for _, hv := range in.HeaderValues {
			h.Add(hv.Name, hv.Value)
		}
		in.Header = h
	}
	return d.presignGeneral(c, in, names, secs), nil
}

// signedHeader is one header a presigned URL signs: its lower-case name
// and its values (none for host, which comes from the URL).
type signedHeader struct {
	name   string
	vals   []string
	val    string // the value, if single
	single bool
}

// value is the header's canonical value.
func (h signedHeader) value() string {
	if h.single {
		if plainASCII(h.val) {
			return h.val
		}
		return strings.Join(strings.Fields(h.val), " ")
	}
	return canonicalValue(h.vals)
}

// lowerHeaderName is strings.ToLower for a header name, without an
// allocation for the canonical names presigning meets every time.
func lowerHeaderName(key string) string {
	switch key {
	case "Content-Type":
		return "content-type"
	case "Content-Length":
		return "content-length"
	case "Host":
		return "host"
	}
	return strings.ToLower(key)
}

// canonicalValue is headerValue for the values of one header.
func canonicalValue(vals []string) string {
	if len(vals) == 1 && plainASCII(vals[0]) {
		return vals[0]
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}

// presignGeneral is Presign for any URL: its own query parameters are
// signed along.
func (d Dialect) presignGeneral(c Credentials, in PresignInput, names []string, secs int64) string {
	q := in.URL.Query()
	q.Set(d.Param("Algorithm"), d.Algorithm)
	q.Set(d.Param("Credential"), c.KeyID+"/"+d.Scope(in.Time))
	q.Set(d.Param("Date"), in.Time.UTC().Format(DateFormat))
	q.Set(d.Param("Expires"), strconv.FormatInt(secs, 10))
	q.Set(d.Param("SignedHeaders"), strings.Join(names, ";"))
	req := Request{Method: in.Method, Host: in.URL.Host, Path: in.URL.Path, Query: q, Header: in.Header}
	// The URL's query is the canonical query (q has no signature yet):
	// encode it once for both.
	cq := canonicalQuery(q, "")
	sts := d.StringToSign(in.Time, d.canonicalRequest(req, names, cq))
	sig := d.Signature(c.Secret, in.Time, sts)
	path := EscapePath(in.URL.Path)
	return in.URL.Scheme + "://" + in.URL.Host + path + "?" + cq +
		"&" + escape(d.Param("Signature"), true) + "=" + sig
}

// presignPlain is Presign for a URL without a query of its own (every URL
// the faces sign): the signing parameters are the whole query, so their
// canonical order is known and the URL, the canonical request and the
// string to sign are written into one buffer, signed with the cached key.
// TestPresignPlainMatchesGeneral holds it to the general path.
func (d Dialect) presignPlain(c Credentials, in PresignInput, hs []signedHeader, secs int64) string {
	t := in.Time.UTC()
	pn := d.params()
	bp := presignBufs.Get().(*[]byte)
	defer presignBufs.Put(bp)
	b := (*bp)[:0]
	b = append(b, in.URL.Scheme...)
	b = append(b, "://"...)
	b = append(b, in.URL.Host...)
	pathStart := len(b)
	if in.URL.Path == "" {
		b = append(b, '/')
	} else {
		b = appendEscape(b, in.URL.Path, false)
	}
	pathEnd := len(b)
	b = append(b, '?')
	// The canonical query: the parameters sorted by name (they share the
	// prefix; Algorithm < Credential < Date < Expires < SignedHeaders).
	cqStart := len(b)
	b = appendEscape(b, pn[pAlgorithm], true)
	b = append(b, '=')
	b = appendEscape(b, d.Algorithm, true)
	b = append(b, '&')
	b = appendEscape(b, pn[pCredential], true)
	b = append(b, '=')
	b = appendEscape(b, c.KeyID, true)
	b = append(b, "%2F"...)
	var dateBuf [len(DateFormat)]byte
	date := appendDate(dateBuf[:0], t)
	b = d.appendScope(b, date, true)
	b = append(b, '&')
	b = appendEscape(b, pn[pDate], true)
	b = append(b, '=')
	b = append(b, date...)
	b = append(b, '&')
	b = appendEscape(b, pn[pExpires], true)
	b = append(b, '=')
	b = strconv.AppendInt(b, secs, 10)
	b = append(b, '&')
	b = appendEscape(b, pn[pSignedHeaders], true)
	b = append(b, '=')
	for i, h := range hs {
		if i > 0 {
			b = append(b, "%3B"...)
		}
		b = appendEscape(b, h.name, true)
	}
	cqEnd := len(b)

	// The canonical request, after the URL; hashed, then overwritten.
	canonStart := len(b)
	b = append(b, in.Method...)
	b = append(b, '\n')
	b = append(b, b[pathStart:pathEnd]...)
	b = append(b, '\n')
	b = append(b, b[cqStart:cqEnd]...)
	b = append(b, '\n')
	for _, h := range hs {
		b = append(b, h.name...)
		b = append(b, ':')
		if h.name == "host" {
			b = append(b, strings.TrimSpace(in.URL.Host)...)
		} else {
			b = append(b, h.value()...)
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	for i, h := range hs {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, h.name...)
	}
	b = append(b, '\n')
	b = append(b, UnsignedPayload...)
	sum := sha256.Sum256(b[canonStart:])

	// The string to sign, after the URL, then its signature.
	b = d.appendStringToSign(b[:canonStart], date, &sum)
	var mac [sha256.Size]byte
	sig := d.derived(c.Secret, t).mac(mac[:0], b[canonStart:])

	b = b[:cqEnd]
	b = append(b, '&')
	b = appendEscape(b, pn[pSignature], true)
	b = append(b, '=')
	b = hex.AppendEncode(b, sig)
	*bp = b
	return string(b)
}

// presignBufs are presignPlain's buffers: the URL, and the canonical
// request and string to sign after it, are written into one, then the URL
// is copied out.
var presignBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendDate appends t (in UTC) in DateFormat, 20060102T150405Z.
func appendDate(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, DateFormat)
	}
	b = appendDigits(b, y, 4)
	b = appendDigits(b, int(mo), 2)
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, h, 2)
	b = appendDigits(b, mi, 2)
	b = appendDigits(b, s, 2)
	return append(b, 'Z')
}

func appendDigits(b []byte, v, n int) []byte {
	var d [4]byte
	for i := n - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:n]...)
}

// appendStringToSign appends V4's string to sign for the canonical request
// whose SHA-256 is sum, made at date (DateFormat).
func (d Dialect) appendStringToSign(b, date []byte, sum *[sha256.Size]byte) []byte {
	b = append(b, d.Algorithm...)
	b = append(b, '\n')
	b = append(b, date...)
	b = append(b, '\n')
	b = d.appendScope(b, date, false)
	b = append(b, '\n')
	return hex.AppendEncode(b, sum[:])
}

// appendScope appends the credential scope for the day of date (a time in
// DateFormat, whose first eight bytes are the day), with its slashes
// escaped if escaped.
func (d Dialect) appendScope(b []byte, date []byte, escaped bool) []byte {
	sep := "/"
	if escaped {
		sep = "%2F"
	}
	b = append(b, date[:len(scopeDateFormat)]...)
	for _, part := range [...]string{d.Region, d.Service, d.Terminator} {
		b = append(b, sep...)
		if escaped {
			b = appendEscape(b, part, true)
		} else {
			b = append(b, part...)
		}
	}
	return b
}

// Params are the signing parameters of a verified request.
type Params struct {
	KeyID         string
	Date          time.Time
	Expires       time.Duration
	SignedHeaders []string
}

// ExpiresAt is the last instant the request is valid.
func (p Params) ExpiresAt() time.Time { return p.Date.Add(p.Expires) }

// Verify checks req's query-string signature against c at time now. It
// returns the request's signing parameters, or an *Error (which wraps one
// of the Err* sentinels) saying which check failed. Checks run in this
// order: parameters present, well formed, credential, time window,
// signature — so a tampered expired URL reports the expiry, as providers do.
func (d Dialect) Verify(req Request, c Credentials, now time.Time) (Params, error) {
	var p Params
	get := func(name string) (string, error) {
		full := d.Param(name)
		v, ok := req.Query[full]
		if !ok || len(v) == 0 || v[0] == "" {
			return "", &Error{Kind: ErrMissingParam, Param: full, Detail: "missing query parameter " + full}
		}
		if len(v) > 1 {
			return "", &Error{Kind: ErrMalformed, Param: full, Detail: "query parameter " + full + " appears more than once"}
		}
		return v[0], nil
	}
	// Look up every parameter first, so a URL missing several names the
	// first missing one in a fixed order.
	var vals [len(paramNames)]string
	for i, name := range paramNames {
		v, err := get(name)
		if err != nil {
			return p, err
		}
		vals[i] = v
	}
	algorithm, cred, dateParam, expires, signedHeaders, signature := vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]
	if algorithm != d.Algorithm {
		return p, &Error{Kind: ErrMalformed, Param: d.Param("Algorithm"),
			Detail: fmt.Sprintf("%s must be %s, got %q", d.Param("Algorithm"), d.Algorithm, algorithm)}
	}
	date, err := time.Parse(DateFormat, dateParam)
	if err != nil {
		return p, &Error{Kind: ErrMalformed, Param: d.Param("Date"),
			Detail: fmt.Sprintf("%s %q is not of the form YYYYMMDDTHHMMSSZ", d.Param("Date"), dateParam)}
	}
	p.Date = date
	secs, err := strconv.ParseInt(expires, 10, 64)
	maxSecs := int64(d.maxExpires() / time.Second)
	if err != nil || secs < 1 || secs > maxSecs {
		return p, &Error{Kind: ErrMalformed, Param: d.Param("Expires"),
			Detail: fmt.Sprintf("%s %q must be an integer from 1 to %d seconds", d.Param("Expires"), expires, maxSecs)}
	}
	p.Expires = time.Duration(secs) * time.Second
	p.SignedHeaders = strings.Split(signedHeaders, ";")
	hasHost := false
	for _, h := range p.SignedHeaders {
		if h == "" || !isLower(h) {
			return p, &Error{Kind: ErrMalformed, Param: d.Param("SignedHeaders"),
				Detail: fmt.Sprintf("%s %q must be lower-case header names separated by ';'", d.Param("SignedHeaders"), signedHeaders)}
		}
		hasHost = hasHost || h == "host"
	}
	if !hasHost {
		return p, &Error{Kind: ErrMalformed, Param: d.Param("SignedHeaders"),
			Detail: d.Param("SignedHeaders") + " must include host"}
	}
	keyID, scope, ok := strings.Cut(cred, "/")
	if !ok {
		return p, &Error{Kind: ErrMalformed, Param: d.Param("Credential"),
			Detail: fmt.Sprintf("%s %q is not <key id>/<scope>", d.Param("Credential"), cred)}
	}
	p.KeyID = keyID
	if keyID != c.KeyID {
		return p, &Error{Kind: ErrCredential, Param: d.Param("Credential"),
			Detail: fmt.Sprintf("unknown access key id %q", keyID)}
	}
	if !d.scopeIs(scope, date) {
		return p, &Error{Kind: ErrCredential, Param: d.Param("Credential"),
			Detail: fmt.Sprintf("credential scope %q does not match %q", scope, d.Scope(date))}
	}
	if now.Before(date) {
		return p, &Error{Kind: ErrNotYetValid, Param: d.Param("Date"),
			Detail: fmt.Sprintf("request is not valid until %s", date.Format(time.RFC3339))}
	}
	if now.After(p.ExpiresAt()) {
		return p, &Error{Kind: ErrExpired, Param: d.Param("Expires"),
			Detail: fmt.Sprintf("request expired at %s", p.ExpiresAt().Format(time.RFC3339))}
	}
	if canon, sts, ok := d.checkSignature(req, c, p.SignedHeaders, date, signature); !ok {
		return p, &Error{Kind: ErrSignature, Param: d.Param("Signature"),
			Detail: "the request signature does not match", StringToSign: sts, CanonicalRequest: canon}
	}
	return p, nil
}

// checkSignature signs req as Verify does (CanonicalRequest, StringToSign
// and Signature of the day of date) and compares the result with the
// signature the request carries (hex, in either case), in one pooled
// buffer: the canonical request and the string to sign are made into
// strings only when they differ, for the error.
func (d Dialect) checkSignature(req Request, c Credentials, signedHeaders []string, date time.Time, got string) (canon, sts string, ok bool) {
	bp := presignBufs.Get().(*[]byte)
	defer presignBufs.Put(bp)
	b := (*bp)[:0]
	b = append(b, req.Method...)
	b = append(b, '\n')
	if req.Path == "" {
		b = append(b, '/')
	} else {
		b = appendEscape(b, req.Path, false)
	}
	b = append(b, '\n')
	b = appendCanonicalQuery(b, req.Query, d.Param("Signature"))
	b = append(b, '\n')
	for _, name := range signedHeaders {
		b = append(b, name...)
		b = append(b, ':')
		if name == "host" {
			b = append(b, strings.TrimSpace(req.Host)...)
		} else {
			b = append(b, canonicalValue(req.Header[canonicalHeaderKey(name)])...)
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	for i, n := range signedHeaders {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, n...)
	}
	b = append(b, '\n')
	b = append(b, UnsignedPayload...)
	canonEnd := len(b)
	sum := sha256.Sum256(b)

	t := date.UTC()
	var dateBuf [len(DateFormat)]byte
	dt := appendDate(dateBuf[:0], t)
	b = d.appendStringToSign(b, dt, &sum)
	var mac [sha256.Size]byte
	sig := d.derived(c.Secret, t).mac(mac[:0], b[canonEnd:])
	var want [2 * sha256.Size]byte
	hex.Encode(want[:], sig)
	*bp = b
	if len(got) == len(want) {
		var have [2 * sha256.Size]byte
		copy(have[:], got)
		for i, ch := range have {
			if 'A' <= ch && ch <= 'Z' {
				have[i] = ch + 'a' - 'A'
			}
		}
		if subtle.ConstantTimeCompare(have[:], want[:]) == 1 {
			return "", "", true
		}
	}
	return string(b[:canonEnd]), string(b[canonEnd:]), false
}

// scopeIs reports whether scope is the credential scope for the day of
// date (Scope(date)), without making it.
func (d Dialect) scopeIs(scope string, date time.Time) bool {
	var dateBuf [len(DateFormat)]byte
	day := appendDate(dateBuf[:0], date.UTC())[:len(scopeDateFormat)]
	rest, ok := strings.CutPrefix(scope, string(day))
	if !ok {
		return false
	}
	for _, part := range [...]string{d.Region, d.Service, d.Terminator} {
		if rest, ok = strings.CutPrefix(rest, "/"); !ok {
			return false
		}
		if rest, ok = strings.CutPrefix(rest, part); !ok {
			return false
		}
	}
	return rest == ""
}

// isLower reports whether s has no upper-case letter (s == ToLower(s)).
func isLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 {
			return s == strings.ToLower(s)
		} else if 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// canonicalHeaderKey is textproto.CanonicalMIMEHeaderKey without an
// allocation for the headers every signed URL signs.
func canonicalHeaderKey(name string) string {
	switch name {
	case "content-type":
		return "Content-Type"
	case "content-length":
		return "Content-Length"
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// The checks Verify can fail, wrapped by *Error: errors.Is(err, ErrExpired).
var (
	ErrMissingParam = errors.New("missing signing parameter")
	ErrMalformed    = errors.New("malformed signing parameter")
	ErrCredential   = errors.New("wrong credential")
	ErrNotYetValid  = errors.New("request not yet valid")
	ErrExpired      = errors.New("request expired")
	ErrSignature    = errors.New("signature mismatch")
)

// Error is a failed verification: which check (Kind, one of the Err*
// sentinels), the parameter concerned and a human-readable detail.
type Error struct {
	Kind   error
	Param  string
	Detail string
	// For ErrSignature: what the verifier signed, which providers echo back
	// to help a client find its mistake.
	StringToSign     string
	CanonicalRequest string
}

// Error returns the kind and the detail.
func (e *Error) Error() string { return "signing: " + e.Kind.Error() + ": " + e.Detail }

// Unwrap returns the kind, so errors.Is works with the sentinels.
func (e *Error) Unwrap() error { return e.Kind }

// headerValue is the canonical value of a signed header: all values of the
// header joined with ',', each trimmed with inner runs of spaces collapsed.
func headerValue(req Request, name string) string {
	if name == "host" {
		return strings.TrimSpace(req.Host)
	}
	return canonicalValue(req.Header.Values(name))
}

// canonicalQuery encodes every parameter but skip, sorted by encoded name
// then value, as name=value joined with '&'.
func canonicalQuery(q url.Values, skip string) string {
	return string(appendCanonicalQuery(nil, q, skip))
}

// appendCanonicalQuery appends canonicalQuery(q, skip) to b. The encoded
// names and values are written into one scratch buffer (on the stack for a
// query as small as a signed URL's), and sorted as offsets into it.
func appendCanonicalQuery(b []byte, q url.Values, skip string) []byte {
	type kv struct{ k0, k1, v1 int } // the pair is scratch[k0:k1] "=" scratch[k1:v1]
	var pairBuf [16]kv
	var scratchBuf [512]byte
	pairs, scratch := pairBuf[:0], scratchBuf[:0]
	for k, vs := range q {
		if k == skip {
			continue
		}
		for _, v := range vs {
			k0 := len(scratch)
			scratch = appendEscape(scratch, k, true)
			k1 := len(scratch)
			scratch = appendEscape(scratch, v, true)
			pairs = append(pairs, kv{k0, k1, len(scratch)})
		}
	}
	slices.SortFunc(pairs, func(a, c kv) int {
		if r := bytes.Compare(scratch[a.k0:a.k1], scratch[c.k0:c.k1]); r != 0 {
			return r
		}
		return bytes.Compare(scratch[a.k1:a.v1], scratch[c.k1:c.v1])
	})
	for i, p := range pairs {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, scratch[p.k0:p.k1]...)
		b = append(b, '=')
		b = append(b, scratch[p.k1:p.v1]...)
	}
	return b
}

// EscapePath percent-encodes a decoded path as both providers' canonical
// URI does: every byte but the RFC 3986 unreserved characters and '/' is
// written %XX (upper-case hex). An empty path is "/".
func EscapePath(p string) string {
	if p == "" {
		return "/"
	}
	return escape(p, false)
}

// EscapeQuery percent-encodes a query name or value canonically ('/' too).
func EscapeQuery(s string) string { return escape(s, true) }

// appendEscape appends escape(s, slash) to b.
func appendEscape(b []byte, s string, slash bool) []byte {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c, slash) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}

func escape(s string, slash bool) string {
	const hexDigits = "0123456789ABCDEF"
	i := 0
	for i < len(s) && unreserved(s[i], slash) {
		i++
	}
	if i == len(s) {
		return s // nothing to encode: no copy
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && !slash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// unreserved reports whether escape copies c as it is.
func unreserved(c byte, slash bool) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && !slash)
}

// plainASCII reports whether s is printable ASCII without spaces: what
// strings.Fields leaves as one field, unchanged.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
