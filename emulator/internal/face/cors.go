package face

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CORS is the cross-origin policy of the data plane, one rule the way a
// bucket's CORS configuration (GCS, S3) or a storage account's CORS rule
// (Azure) is: which origins may send which methods with which request
// headers, which response headers a page may read, and how long a browser
// may cache a preflight. Each face answers a preflight in its provider's
// way; the decision is the same.
type CORS struct {
	// Origins are exact origins ("https://app.example") or patterns in
	// which * matches any run of characters ("http://localhost:*"); "*"
	// alone allows every origin.
	Origins []string
	// Methods a preflight may ask for (GET, HEAD, PUT, ...).
	Methods []string
	// Headers a preflight may ask to send; "*" allows any.
	Headers []string
	// ExposeHeaders are response headers a page may read, besides the
	// face's own (ETag and the provider's headers).
	ExposeHeaders []string
	// MaxAge is how long a browser may cache a preflight answer.
	MaxAge time.Duration
}

// DefaultCORS is the policy when the config sets none: any loopback page
// (http://localhost:<port>, http://127.0.0.1:<port>, http://[::1]:<port>)
// may GET, HEAD and PUT with any headers, so a web app under development
// can use signed URLs straight away; other origins are refused.
func DefaultCORS() *CORS {
	return &CORS{
		Origins: []string{
			"http://localhost", "http://localhost:*",
			"http://127.0.0.1", "http://127.0.0.1:*",
			"http://[::1]", "http://[::1]:*",
		},
		Methods: []string{http.MethodGet, http.MethodHead, http.MethodPut},
		Headers: []string{"*"},
		MaxAge:  time.Hour,
	}
}

// IsPreflight reports whether r is a browser's CORS preflight: OPTIONS with
// Origin and Access-Control-Request-Method. It carries no signature.
func IsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// AllowsOrigin reports whether origin matches one of the policy's origins.
func (c *CORS) AllowsOrigin(origin string) bool {
	if origin == "" {
		return false
	}
	for _, o := range c.Origins {
		if globMatch(o, origin) {
			return true
		}
	}
	return false
}

// globMatch matches s against pattern, in which * stands for any run of
// characters (none included) and everything else for itself, ignoring case.
func globMatch(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// Preflight decides r (see IsPreflight). If the policy allows its origin,
// method and every requested header, it returns the Access-Control-* headers
// of the answer and true; otherwise nil and false, and the face refuses as
// its provider does.
func (c *CORS) Preflight(r *http.Request) (http.Header, bool) {
	origin := r.Header.Get("Origin")
	method := strings.TrimSpace(r.Header.Get("Access-Control-Request-Method"))
	if !c.AllowsOrigin(origin) || !slices.ContainsFunc(c.Methods, func(m string) bool { return strings.EqualFold(m, method) }) {
		return nil, false
	}
	var asked []string
	for _, v := range r.Header.Values("Access-Control-Request-Headers") {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				asked = append(asked, h)
			}
		}
	}
	anyHeader := slices.Contains(c.Headers, "*")
	for _, h := range asked {
		if !anyHeader && !slices.ContainsFunc(c.Headers, func(a string) bool { return strings.EqualFold(a, h) }) {
			return nil, false
		}
	}
	h := http.Header{}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", strings.Join(c.Methods, ", "))
	if len(asked) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(asked, ", "))
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge/time.Second)))
	}
	h.Set("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	return h, true
}

// Actual sets the headers of an actual (non-preflight) cross-origin
// response on h: Access-Control-Allow-Origin echoing an allowed Origin, the
// readable headers (the face's expose plus the policy's) and Vary: Origin.
// A request without an allowed Origin gets none of them.
func (c *CORS) Actual(h http.Header, r *http.Request, expose []string) {
	origin := r.Header.Get("Origin")
	if !c.AllowsOrigin(origin) {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	all := append(slices.Clone(expose), c.ExposeHeaders...)
	if len(all) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(all, ", "))
	}
	h.Add("Vary", "Origin")
}

// CORSOf returns cfg's policy, or DefaultCORS if it sets none.
func (cfg Config) CORSOf() *CORS {
	if cfg.CORS != nil {
		return cfg.CORS
	}
	return DefaultCORS()
}

// WritePreflight answers an allowed preflight: 200, no body, the rule's
// Access-Control-* headers h and, where the provider sends it (S3, Azure),
// Access-Control-Allow-Credentials.
func WritePreflight(w http.ResponseWriter, h http.Header, credentials bool) {
	for k, v := range h {
		w.Header()[k] = v
	}
	if credentials {
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
