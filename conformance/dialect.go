package conformance

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Time on the target, and the storage dialects of signed URLs.

// serverNow is the target's time: its clock endpoint when it has one, else
// ours corrected by the offset measured in preflight.
func (c *checkRun) serverNow() time.Time {
	if c.rs.pre.ClockControl {
		r := c.api(http.MethodGet, "/_emulator/clock", nil, nil)
		c.ok(r)
		var v struct {
			Now string `json:"now"`
		}
		if err := r.JSON(&v); err == nil {
			if t, err := time.Parse(time.RFC3339Nano, v.Now); err == nil {
				return t
			}
		}
		c.fail(r, `{"now": RFC 3339}`, r.Summary(), "clock endpoint answer unreadable")
	}
	return time.Now().Add(c.rs.pre.ClockOffset)
}

// timeTolerance is how far the target's timestamps may stray from ours.
func (c *checkRun) timeTolerance() time.Duration {
	if c.rs.pre.ClockControl {
		return 3 * time.Second
	}
	return 30 * time.Second
}

// advance moves the target's clock forward through /_emulator/clock.
func (c *checkRun) advance(d time.Duration) {
	c.need(needClock)
	r := c.api(http.MethodPost, "/_emulator/clock", nil, map[string]string{"advance": d.String()})
	c.ok(r)
}

// parseUTC parses an RFC 3339 timestamp and requires it in UTC.
func parseUTC(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not RFC 3339: %w", s, err)
	}
	if !strings.HasSuffix(s, "Z") && !strings.HasSuffix(s, "+00:00") {
		return time.Time{}, fmt.Errorf("%q is not in UTC", s)
	}
	return t, nil
}

// providerOf tells the storage dialect of a signed URL by its query.
func providerOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	q := u.Query()
	switch {
	case q.Has("X-Goog-Signature") || q.Has("X-Goog-Algorithm"):
		return "gcs"
	case q.Has("X-Amz-Signature") || q.Has("X-Amz-Algorithm"):
		return "s3"
	case q.Has("sig") && (q.Has("sv") || q.Has("se")):
		return "azure"
	}
	return ""
}

var sigParams = []string{"X-Goog-Signature", "X-Amz-Signature", "sig", "Signature", "signature"}

// tamper flips one character of the URL's signature parameter (whichever
// dialect), keeping it a valid hex/base64 character so that only the
// signature check can refuse it.
func tamper(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse signed URL: %w", err)
	}
	parts := strings.Split(u.RawQuery, "&")
	for _, name := range sigParams {
		for i, p := range parts {
			k, v, ok := strings.Cut(p, "=")
			if !ok || k != name || v == "" {
				continue
			}
			for j := len(v) / 2; j < len(v); j++ {
				if ch := v[j]; isAlnum(ch) {
					parts[i] = k + "=" + v[:j] + string(flip(ch)) + v[j+1:]
					u.RawQuery = strings.Join(parts, "&")
					return u.String(), nil
				}
			}
		}
	}
	return "", errors.New("no signature parameter (X-Goog-Signature, X-Amz-Signature, sig) in the signed URL")
}

func isAlnum(ch byte) bool {
	return ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z'
}

// flip changes a hex digit to another hex digit, a letter to another letter.
func flip(ch byte) byte {
	switch ch {
	case '9', 'f', 'F', 'z', 'Z':
		return ch - 1
	}
	return ch + 1
}

var xmlCodeRE = regexp.MustCompile(`<Code>([^<]+)</Code>`)

// xmlCode returns the provider error code of an XML error body.
func xmlCode(body []byte) string {
	m := xmlCodeRE.FindSubmatch(body)
	if m == nil {
		return ""
	}
	return string(m[1])
}
