package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/tenancy"
)

// requestBase puts in each request's context the base URL the client used
// to reach the emulator (face.WithBaseURL), so that signed URLs and URLs in
// responses work for that client whatever name or mapped port it used: a
// URL made for 127.0.0.1:8080 is useless to a client that reached the
// server as localbaponi:8080 inside a compose network.
//
// With TrustForwardedHeaders, X-Forwarded-Host replaces the request's Host
// before anything else sees it, so the faces also verify a signature
// against the host the client sent to the proxy (host is a signed header
// in V4), and X-Forwarded-Proto gives the scheme.
func (s *Server) requestBase(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if s.TrustForwardedHeaders {
			if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" && validHost(h) {
				r.Host = h
			}
			switch p := strings.ToLower(firstValue(r.Header.Get("X-Forwarded-Proto"))); p {
			case "http", "https":
				scheme = p
			}
		}
		info := infoFrom(r.Context()) // RequestContext's, if the server in front called it
		if info == nil {
			info = &reqInfo{}
			r = r.WithContext(face.WithRequestInfo(r.Context(), info))
		}
		if s.RequestURLs {
			info.base = s.baseFor(scheme, r.Host)
		}
		next.ServeHTTP(w, r)
	})
}

// reqInfo is what the API's middleware learns about a request: put in its
// context once, by requestBase (the base URL, for face.BaseURL), and filled
// in as the request goes on (the key, by authenticate), so that a call is
// one copy of the request rather than one per fact.
type reqInfo struct {
	base *url.URL
	key  *tenancy.Key
}

// BaseURL is the base URL the client used (nil: the face's own).
func (i *reqInfo) BaseURL() *url.URL { return i.base }

// RequestContext returns ctx with the state the API's middleware keeps for
// one request (the base URL the client used, the caller's key). A server
// in front of Handler that makes its own copy of each request (the
// emulator's controller, control.Config.Context) calls it in that copy, so
// that the API makes none; without it the API makes its own.
func (s *Server) RequestContext(ctx context.Context) context.Context {
	return face.WithRequestInfo(ctx, &reqInfo{})
}

// infoFrom returns the request's reqInfo, or nil.
func infoFrom(ctx context.Context) *reqInfo {
	i, _ := face.RequestInfoFrom(ctx).(*reqInfo)
	return i
}

// baseFor returns the base URL of a request with this scheme and Host, or
// nil if the host is not valid. Clients send the same Host on every call,
// so the last answer is kept (a *url.URL that no one changes).
func (s *Server) baseFor(scheme, host string) *url.URL {
	if b := s.lastBase.Load(); b != nil && b.Scheme == scheme && b.Host == host {
		return b
	}
	if !validHost(host) {
		return nil
	}
	b := &url.URL{Scheme: scheme, Host: host}
	s.lastBase.Store(b)
	return b
}

// firstValue returns the first element of a comma-separated header value
// (the original client's, when proxies append theirs).
func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// validHost reports whether h is a bare host[:port] that can stand as the
// host of a URL: no userinfo, path, query or fragment.
func validHost(h string) bool {
	if h == "" || strings.ContainsAny(h, "/?#@\\ \t") {
		return false
	}
	u, err := url.Parse("http://" + h)
	return err == nil && u.Host == h && u.Hostname() != ""
}

// signer returns the face's signer for the request: at the base URL the
// client used, or at the configured external URL.
func (s *Server) signer(r *http.Request) face.Signer {
	return face.SignerFor(r.Context(), s.Face)
}
