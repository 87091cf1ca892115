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
// a dialect of the V4 query-string family (GCS and S3 faces).
type V4Signer struct {
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

// Presign signs method on the object at path in sp with the headers h.
// Headers of the result is empty: callers add what the client must send.
func (s V4Signer) Presign(method string, sp store.Space, path string, h http.Header) (Signed, error) {
	if err := ValidTarget(sp, path); err != nil {
		return Signed{}, err
	}
	// The date parameter has whole seconds: sign at a whole second so that
	// ExpiresAt is exactly when verification starts refusing.
	now := s.Now().Truncate(time.Second)
	u := *s.Base
	u.Path = "/" + Bucket + "/" + sp.ObjectKey(path)
	raw, err := s.Dialect.Presign(s.Creds, signing.PresignInput{
		Method: method, URL: &u, Header: h, Time: now, Expires: URLLifetime,
	})
	if err != nil {
		return Signed{}, err
	}
	return Signed{URL: raw, Method: method, Headers: map[string]string{}, ExpiresAt: now.Add(URLLifetime)}, nil
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
