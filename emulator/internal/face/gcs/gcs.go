// Package gcs is the Google Cloud Storage face: V4 signed URLs with an HMAC
// key (GOOG4-HMAC-SHA256) and the XML API's PUT, GET and HEAD of one object,
// with GCS's XML errors. It is the emulator's default data plane.
package gcs

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/signing"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// Face signs GCS V4 URLs and serves them. Safe for concurrent use.
type Face struct {
	cfg     face.Config
	base    *url.URL
	dialect signing.Dialect
	creds   signing.Credentials
	log     *slog.Logger
}

var _ face.Face = (*Face)(nil)

// New returns a GCS face. cfg needs a Store, a Clock, a BaseURL of the form
// scheme://host[:port] and a KeyID and Secret.
func New(cfg face.Config) (*Face, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("gcs face: config has no store")
	case cfg.Clock == nil:
		return nil, errors.New("gcs face: config has no clock")
	case cfg.KeyID == "" || cfg.Secret == "":
		return nil, errors.New("gcs face: config needs a key id and a secret")
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("gcs face: base URL %q: %w", cfg.BaseURL, err)
	}
	// The signature covers the path as the client sends it, so a path
	// prefix that a proxy strips would break every URL: refuse it early.
	if base.Scheme == "" || base.Host == "" || (base.Path != "" && base.Path != "/") || base.RawQuery != "" {
		return nil, fmt.Errorf("gcs face: base URL %q must be scheme://host[:port] with no path or query", cfg.BaseURL)
	}
	base.Path = ""
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Face{
		cfg:     cfg,
		base:    base,
		dialect: signing.GCS(),
		creds:   signing.Credentials{KeyID: cfg.KeyID, Secret: cfg.Secret},
		log:     log.With("face", "gcs"),
	}, nil
}

// Name returns "gcs".
func (f *Face) Name() string { return "gcs" }

// SignUpload returns a PUT URL for exactly contentLength bytes of
// contentType; both are signed headers, as is host.
func (f *Face) SignUpload(sp store.Space, path, contentType string, contentLength int64) (face.Signed, error) {
	return f.signUpload(f.base, sp, path, contentType, contentLength)
}

// SignDownload returns a GET URL for the file; only host is signed. The
// signature covers the method, so the URL does not allow HEAD (GCS
// documents no exception for it).
func (f *Face) SignDownload(sp store.Space, path string) (face.Signed, error) {
	return f.signDownload(f.base, sp, path)
}

// SignerAt returns a signer whose URLs start with base's scheme and host.
// Host is a signed header: the URLs verify only when sent to that host.
func (f *Face) SignerAt(base *url.URL) face.Signer {
	return signerAt{f: f, base: &url.URL{Scheme: base.Scheme, Host: base.Host}}
}

// signerAt signs with the face's identity at another base URL.
type signerAt struct {
	f    *Face
	base *url.URL
}

func (s signerAt) SignUpload(sp store.Space, path, contentType string, contentLength int64) (face.Signed, error) {
	return s.f.signUpload(s.base, sp, path, contentType, contentLength)
}

func (s signerAt) SignDownload(sp store.Space, path string) (face.Signed, error) {
	return s.f.signDownload(s.base, sp, path)
}

func (f *Face) signUpload(base *url.URL, sp store.Space, path, contentType string, contentLength int64) (face.Signed, error) {
	if contentLength < 0 {
		return face.Signed{}, fmt.Errorf("gcs face: sign upload: content length %d is negative", contentLength)
	}
	if contentType == "" {
		contentType = store.DefaultContentType
	}
	s, err := f.sign(base, http.MethodPut, sp, path, face.UploadHeaders(contentType, contentLength))
	if err != nil {
		return face.Signed{}, fmt.Errorf("gcs face: sign upload: %w", err)
	}
	s.Headers = map[string]string{"Content-Type": contentType}
	return s, nil
}

func (f *Face) signDownload(base *url.URL, sp store.Space, path string) (face.Signed, error) {
	s, err := f.sign(base, http.MethodGet, sp, path, nil)
	if err != nil {
		return face.Signed{}, fmt.Errorf("gcs face: sign download: %w", err)
	}
	return s, nil
}

// sign presigns method on the object at path in sp, at base.
func (f *Face) sign(base *url.URL, method string, sp store.Space, path string, h http.Header) (face.Signed, error) {
	return face.V4Signer{Dialect: f.dialect, Creds: f.creds, Base: base, Now: f.cfg.Clock.Now}.Presign(method, sp, path, h)
}
