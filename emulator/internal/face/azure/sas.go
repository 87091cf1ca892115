package azure

import (
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
)

// Service versions that change the string-to-sign of a service SAS. Versions
// are YYYY-MM-DD, so they compare as strings.
const (
	// minVersion is the oldest layout verified: it added signedResource and
	// signedSnapshotTime. Older SAS are refused rather than half-verified.
	minVersion = "2018-11-09"
	// scopeVersion added signedEncryptionScope after signedSnapshotTime.
	scopeVersion = "2020-12-06"
)

// sasParams are the service SAS query parameters, as sent (times unparsed:
// the signature covers the exact strings).
type sasParams struct {
	version, start, expiry, perms, resource string
	identifier, ip, protocol, scope         string
	rscc, rscd, rsce, rscl, rsct            string
	sig                                     string
}

// sasKeys are the query parameters that make a request a SAS request. A
// request with none of them is anonymous.
var sasKeys = []string{"sv", "st", "se", "sp", "sr", "sig", "si", "sip", "spr", "ses", "skoid", "ss", "srt"}

// hasSAS reports whether the query carries any SAS parameter.
func hasSAS(q url.Values) bool {
	for _, k := range sasKeys {
		if _, ok := q[k]; ok {
			return true
		}
	}
	return false
}

func parseSAS(q url.Values) sasParams {
	return sasParams{
		version: q.Get("sv"), start: q.Get("st"), expiry: q.Get("se"),
		perms: q.Get("sp"), resource: q.Get("sr"), identifier: q.Get("si"),
		ip: q.Get("sip"), protocol: q.Get("spr"), scope: q.Get("ses"),
		rscc: q.Get("rscc"), rscd: q.Get("rscd"), rsce: q.Get("rsce"),
		rscl: q.Get("rscl"), rsct: q.Get("rsct"),
		sig: q.Get("sig"),
	}
}

// canonicalResource is the signed resource name: /blob/<account>/<container>
// for a container SAS (sr=c), plus /<blob> for a blob SAS (sr=b). The blob
// name is unescaped.
func canonicalResource(account, container, blob, resource string) string {
	s := "/blob/" + account + "/" + container
	if resource == "b" {
		s += "/" + blob
	}
	return s
}

// stringToSign is the service SAS string-to-sign as Microsoft documents it
// ("Create a service SAS", versions 2018-11-09 and later; signedEncryptionScope
// from 2020-12-06). The signed snapshot time is empty: only sr=b and sr=c are
// served.
func stringToSign(p sasParams, canonical string) string {
	fields := []string{
		p.perms, p.start, p.expiry, canonical, p.identifier, p.ip, p.protocol,
		p.version, p.resource, "", // signedSnapshotTime
	}
	if p.version >= scopeVersion {
		fields = append(fields, p.scope)
	}
	fields = append(fields, p.rscc, p.rscd, p.rsce, p.rscl, p.rsct)
	return strings.Join(fields, "\n")
}

// sasTimeFormats are the ISO 8601 UTC forms Azure accepts for st and se.
var sasTimeFormats = []string{"2006-01-02T15:04:05.0000000Z", time.RFC3339Nano, "2006-01-02T15:04Z", "2006-01-02"}

func parseSASTime(s string) (time.Time, bool) {
	for _, layout := range sasTimeFormats {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// verified is a SAS that passed verification.
type verified struct {
	sasParams
	binding *uploadBinding // the upload this SAS is bound to, if its si is one
}

// verify checks a SAS request for blob in container of account: every field
// well formed, the signature, the protocol, the source IP and the time window.
// The permission for the method is checked by the caller.
func (f *Face) verify(r *http.Request, account, container, blob string) (verified, error) {
	p := parseSAS(r.URL.Query())
	switch {
	case p.sig == "":
		return verified{}, errAuthenticationFailed("sig is mandatory. Cannot be empty")
	case p.version == "":
		return verified{}, errAuthenticationFailed("sv is mandatory. Cannot be empty")
	case p.resource == "":
		return verified{}, errAuthenticationFailed("sr is mandatory. Cannot be empty")
	case p.perms == "":
		return verified{}, errAuthenticationFailed("sp is mandatory. Cannot be empty")
	case p.expiry == "":
		return verified{}, errAuthenticationFailed("se is mandatory. Cannot be empty")
	}
	var binding *uploadBinding
	if p.identifier != "" {
		b, ok := parseBinding(p.identifier)
		if !ok {
			// A stored access policy would live on the container; the
			// emulator has none but its own upload bindings.
			return verified{}, errAuthenticationFailed(fmt.Sprintf("Signed identifier %q does not match any stored access policy: localbaponi has no stored access policies", p.identifier))
		}
		binding = &b
	}
	if _, err := time.Parse("2006-01-02", p.version); err != nil {
		return verified{}, errAuthenticationFailed(fmt.Sprintf("sv=%q is not a service version (YYYY-MM-DD)", p.version))
	}
	if p.version < minVersion {
		return verified{}, errAuthenticationFailed(fmt.Sprintf("sv=%s is older than %s; localbaponi verifies service SAS of version %s and later", p.version, minVersion, minVersion))
	}
	if p.resource != "b" && p.resource != "c" {
		return verified{}, errAuthenticationFailed(fmt.Sprintf("sr=%s is not supported here: localbaponi serves blob (sr=b) and container (sr=c) SAS", p.resource))
	}
	var start time.Time
	if p.start != "" {
		t, ok := parseSASTime(p.start)
		if !ok {
			return verified{}, errAuthenticationFailed(fmt.Sprintf("st=%q is not an ISO 8601 UTC time", p.start))
		}
		start = t
	}
	expiry, ok := parseSASTime(p.expiry)
	if !ok {
		return verified{}, errAuthenticationFailed(fmt.Sprintf("se=%q is not an ISO 8601 UTC time", p.expiry))
	}

	canonical := canonicalResource(account, container, blob, p.resource)
	sts := stringToSign(p, canonical)
	want := f.mac(sts)
	got, err := base64.StdEncoding.DecodeString(p.sig)
	if err != nil || account != f.account || !hmac.Equal(got, want) {
		detail := "Signature did not match. String to sign used was " + sts
		if account != f.account {
			detail = fmt.Sprintf("Signature did not match: the account in the URL is %q, but localbaponi signs as account %q. String to sign used was %s", account, f.account, sts)
		}
		return verified{}, errAuthenticationFailed(detail)
	}

	if p.protocol != "" {
		if p.protocol != "https" && p.protocol != "https,http" {
			return verified{}, errAuthenticationFailed(fmt.Sprintf("spr=%q is not a SAS protocol (https or https,http)", p.protocol))
		}
		// The client used https if the connection is TLS, or if the
		// scheme it reached the emulator with (a trusted proxy's
		// X-Forwarded-Proto, see face.WithBaseURL) or the configured base
		// URL says so.
		base := face.BaseURL(r.Context())
		viaHTTPS := r.TLS != nil || base != nil && base.Scheme == "https" || base == nil && strings.HasPrefix(f.base, "https://")
		if p.protocol == "https" && !viaHTTPS {
			return verified{}, errAuthorizationProtocolMismatch()
		}
	}
	if p.ip != "" {
		if err := checkIP(p.ip, r.RemoteAddr); err != nil {
			return verified{}, err
		}
	}

	now := f.clk.Now()
	if !start.IsZero() && !expiry.After(start) {
		return verified{}, errAuthenticationFailed(fmt.Sprintf("Signed expiry time [%s] must be after signed start time [%s]",
			expiry.Format(http.TimeFormat), start.Format(http.TimeFormat)))
	}
	if now.After(expiry) || (!start.IsZero() && now.Before(start)) {
		st := start
		if st.IsZero() {
			st = now
		}
		return verified{}, errAuthenticationFailed(fmt.Sprintf("Signature not valid in the specified time frame: Start [%s] - Expiry [%s] - Current [%s]",
			st.Format(http.TimeFormat), expiry.Format(http.TimeFormat), now.Format(http.TimeFormat)))
	}
	return verified{sasParams: p, binding: binding}, nil
}

// checkIP refuses a request whose source address is outside sip (one address
// or "start-end").
func checkIP(sip, remoteAddr string) error {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	src, err := netip.ParseAddr(host)
	if err != nil {
		return errAuthorizationSourceIPMismatch(host)
	}
	src = src.Unmap()
	lo, hi, _ := strings.Cut(sip, "-")
	if hi == "" {
		hi = lo
	}
	a, err1 := netip.ParseAddr(lo)
	b, err2 := netip.ParseAddr(hi)
	if err1 != nil || err2 != nil {
		return errAuthenticationFailed(fmt.Sprintf("sip=%q is not an IP address or range", sip))
	}
	if src.Compare(a.Unmap()) < 0 || src.Compare(b.Unmap()) > 0 {
		return errAuthorizationSourceIPMismatch(src.String())
	}
	return nil
}
