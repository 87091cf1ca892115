package api

import (
	"net/http"
	"path"
	"strings"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
)

// URL paths outside the face (issue 8 defect 9, SPEC E-2). gorilla/mux
// answers an unclean path (/v1//files/list, /v1/files/../files/list, or
// /_emulator/volumes/a%2f..%2f..%2fetc/passwd once decoded) with a 301 and
// an empty body, and once pointed Location at /etc/passwd; and every path
// outside /v1 and /_emulator went to the face, which answered with its XML.
// Now the router never cleans or redirects (SkipClean), an unclean path
// outside the face's bucket is a JSON 404, and so is any other path that is
// not the bucket's.

// facePath reports whether p belongs to the storage face: its bucket,
// /<bucket>[/...] for GCS and S3 and /<account>/<bucket>[/...] for Azure.
// A face of another name (a test double) gets every path.
func (s *Server) facePath(p string) bool {
	first, rest, more := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	switch s.Face.Name() {
	case "gcs", "s3":
		return first == face.Bucket
	case "azure":
		second, _, _ := strings.Cut(rest, "/")
		return more && first != "" && second == face.Bucket
	}
	return true
}

// cleanPath reports whether p is in canonical form: no empty, "." or ".."
// segments (a trailing '/' is allowed).
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	return c == p || (c+"/" == p && c != "/")
}

// guardPaths answers unclean paths outside the face with a JSON 404 instead
// of letting a router redirect them.
func (s *Server) guardPaths(next http.Handler) http.Handler {
	return handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if !s.facePath(r.URL.Path) && !cleanPath(r.URL.Path) {
			return notFoundf("no route %s %q: the path has empty, '.' or '..' segments; the emulator does not clean or redirect paths", r.Method, r.URL.Path)
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

// faceOrNoRoute sends the face's bucket paths to the face and answers every
// other path with a JSON 404.
func (s *Server) faceOrNoRoute() http.Handler {
	none := noRoute("no route")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.facePath(r.URL.Path) {
			s.Face.ServeHTTP(w, r)
			return
		}
		none.ServeHTTP(w, r)
	})
}
