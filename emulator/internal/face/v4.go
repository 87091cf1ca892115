package face

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/signing"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// V4Signer presigns path-style object URLs, <base>/<Bucket>/<object key>, in
// a dialect of the V4 query-string family: it is the Signer of the GCS and S3
// faces.
type V4Signer struct {
	// Face names the face in errors ("gcs", "s3").
	Face    string
	Dialect signing.Dialect
	Creds   signing.Credentials
	Base    *url.URL // scheme and host, no path
	Now     func() time.Time
}

// UploadHeaders are the headers an upload URL signs: the content type and
// the exact length (besides host).
func UploadHeaders(contentType string, contentLength int64) http.Header {
	h := http.Header{}
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.FormatInt(contentLength, 10))
	return h
}

// SignUpload presigns a PUT of exactly contentLength bytes of contentType
// (store.DefaultContentType if empty): both are signed headers, as is host.
// The client must send the returned Content-Type (and the Content-Length its
// HTTP library sends anyway).
func (s V4Signer) SignUpload(sp store.Space, path, contentType string, contentLength int64) (Signed, error) {
	if contentLength < 0 {
		return Signed{}, fmt.Errorf("%s face: sign upload: content length %d is negative", s.Face, contentLength)
	}
	if contentType == "" {
		contentType = store.DefaultContentType
	}
	// UploadHeaders, as pairs: no map to build.
	hv := [...]signing.HeaderValue{{Name: "Content-Type", Value: contentType}, {Name: "Content-Length", Value: strconv.FormatInt(contentLength, 10)}}
	sg, err := s.presign(http.MethodPut, sp, path, nil, hv[:])
	if err != nil {
		return Signed{}, fmt.Errorf("%s face: sign upload: %w", s.Face, err)
	}
	sg.Headers = map[string]string{"Content-Type": contentType}
	return sg, nil
}

// SignDownload presigns a GET of the file; only host is signed. The method
// is signed too, so the URL does not allow HEAD.
func (s V4Signer) SignDownload(sp store.Space, path string) (Signed, error) {
	sg, err := s.Presign(http.MethodGet, sp, path, nil)
	if err != nil {
		return Signed{}, fmt.Errorf("%s face: sign download: %w", s.Face, err)
	}
	return sg, nil
}

// At returns the signer with URLs at base's scheme and host. Host is a
// signed header: the URLs verify only when sent to that host.
func (s V4Signer) At(base *url.URL) V4Signer {
	s.Base = &url.URL{Scheme: base.Scheme, Host: base.Host}
	return s
}

// Presign signs method on the object at path in sp with the headers h.
// Headers of the result is empty: callers add what the client must send.
func (s V4Signer) Presign(method string, sp store.Space, path string, h http.Header) (Signed, error) {
	sg, err := s.presign(method, sp, path, h, nil)
	if err != nil {
		return Signed{}, err
	}
	sg.Headers = map[string]string{}
	return sg, nil
}

// presign is Presign without the result's (empty) Headers.
func (s V4Signer) presign(method string, sp store.Space, path string, h http.Header, hv []signing.HeaderValue) (Signed, error) {
	if err := ValidTarget(sp, path); err != nil {
		return Signed{}, err
	}
	// The date parameter has whole seconds: sign at a whole second so that
	// ExpiresAt is exactly when verification starts refusing.
	now := s.Now().Truncate(time.Second)
	u := *s.Base
	u.Path = sp.PrefixedKey("/"+Bucket+"/", path)
	raw, err := s.Dialect.Presign(s.Creds, signing.PresignInput{
		Method: method, URL: &u, Header: h, HeaderValues: hv, Time: now, Expires: URLLifetime,
	})
	if err != nil {
		return Signed{}, err
	}
	return Signed{URL: raw, Method: method, ExpiresAt: now.Add(URLLifetime)}, nil
}

// ValidTarget checks the space and path one by one before anything is
// signed for them: a key that merely parses back could still name another
// space ("a/b" as an ID).
func ValidTarget(sp store.Space, path string) error {
	if sp.Kind != store.Thread && sp.Kind != store.Volume {
		return fmt.Errorf("%w: space kind %q is neither thread nor volume", store.ErrInvalidPath, sp.Kind)
	}
	if err := store.ValidID(sp.Org); err != nil {
		return fmt.Errorf("organisation: %w", err)
	}
	if err := store.ValidID(sp.ID); err != nil {
		return fmt.Errorf("%s id: %w", sp.Kind, err)
	}
	return store.ValidPath(path)
}
