// Package gcs is the Google Cloud Storage face: V4 signed URLs with an HMAC
// key (GOOG4-HMAC-SHA256) and the XML API's PUT, GET and HEAD of one object,
// with GCS's XML errors. It is the emulator's default data plane.
package gcs

import (
	"errors"
	"fmt"
	"log/slog"
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
	return f.signer().SignUpload(sp, path, contentType, contentLength)
}

// SignDownload returns a GET URL for the file; only host is signed. The
// signature covers the method, so the URL does not allow HEAD (GCS
// documents no exception for it).
func (f *Face) SignDownload(sp store.Space, path string) (face.Signed, error) {
	return f.signer().SignDownload(sp, path)
}

// SignerAt returns a signer whose URLs start with base's scheme and host.
// Host is a signed header: the URLs verify only when sent to that host.
func (f *Face) SignerAt(base *url.URL) face.Signer { return f.signer().At(base) }

// signer signs GCS V4 URLs at the face's base URL, on the emulator clock.
func (f *Face) signer() face.V4Signer {
	return face.V4Signer{Face: "gcs", Dialect: f.dialect, Creds: f.creds, Base: f.base, Now: f.cfg.Clock.Now}
}
