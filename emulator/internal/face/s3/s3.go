// Package s3 is the S3 face: SigV4 presigned URLs (path style, region
// us-east-1) signed and verified on the emulator clock, and a data plane
// speaking the S3 REST protocol through gofakes3 over the local store.
//
// Every request must carry a valid query-string signature; the middleware
// here verifies it, asks the emulator whether the space may be read or
// written, applies the provider limits, and only then hands the request to
// gofakes3. Requests signed in the Authorization header (the SDKs' default
// for direct calls) are refused: Baponi hands out presigned URLs only.
package s3

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/johannesboyne/gofakes3"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/signing"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// MaxSinglePut is the largest object S3 accepts in a single PUT (5 GiB); with
// Config.StrictProviderLimits a larger PUT is refused with EntityTooLarge.
const MaxSinglePut int64 = 5 << 30

// Face is the S3 face. It is safe for concurrent use.
type Face struct {
	cfg     face.Config
	log     *slog.Logger
	base    *url.URL
	dialect signing.Dialect
	creds   signing.Credentials
	s3      http.Handler // gofakes3, reached only through ServeHTTP's checks
	reqID   atomic.Uint64
}

var _ face.Face = (*Face)(nil)

// New builds the S3 face from cfg. Store, Clock, BaseURL, KeyID and Secret
// are required; BaseURL must have no path, since signed URLs are path style
// from the root.
func New(cfg face.Config) (*Face, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("s3 face: config has no store")
	case cfg.Clock == nil:
		return nil, errors.New("s3 face: config has no clock")
	case cfg.KeyID == "" || cfg.Secret == "":
		return nil, errors.New("s3 face: config needs a signing key id and secret")
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("s3 face: base URL %q: %w", cfg.BaseURL, err)
	}
	if base.Scheme != "http" && base.Scheme != "https" || base.Host == "" {
		return nil, fmt.Errorf("s3 face: base URL %q must be http(s)://host[:port]", cfg.BaseURL)
	}
	if base.Path != "" && base.Path != "/" || base.RawQuery != "" {
		return nil, fmt.Errorf("s3 face: base URL %q must not have a path or query: S3 URLs are path style from the root", cfg.BaseURL)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Face{
		cfg:     cfg,
		log:     log,
		base:    &url.URL{Scheme: base.Scheme, Host: base.Host},
		dialect: signing.S3(),
		creds:   signing.Credentials{KeyID: cfg.KeyID, Secret: cfg.Secret},
	}
	be := &backend{store: cfg.Store, clock: cfg.Clock, log: log}
	f.s3 = gofakes3.New(be,
		gofakes3.WithTimeSource(clockSource{cfg.Clock}),
		// Its skew check reads an x-amz-date header, which presigned
		// requests do not carry; expiry is checked here on the emulator
		// clock instead.
		gofakes3.WithTimeSkewLimit(0),
		gofakes3.WithoutVersioning(),
		gofakes3.WithLogger(slogAdapter{log}),
	).Server()
	return f, nil
}

// Name returns "s3".
func (f *Face) Name() string { return "s3" }

// SignUpload returns a presigned PUT URL for exactly contentLength bytes of
// contentType; the client must send the returned Content-Type header (and the
// Content-Length its HTTP library sends anyway).
func (f *Face) SignUpload(sp store.Space, path, contentType string, contentLength int64) (face.Signed, error) {
	return f.signer().SignUpload(sp, path, contentType, contentLength)
}

// SignDownload returns a presigned GET URL. As in S3, the method is signed:
// a HEAD needs a URL presigned for HEAD.
func (f *Face) SignDownload(sp store.Space, path string) (face.Signed, error) {
	return f.signer().SignDownload(sp, path)
}

// SignerAt returns a signer whose URLs start with base's scheme and host.
// Host is a signed header in SigV4: the URLs verify only when sent to that
// host.
func (f *Face) SignerAt(base *url.URL) face.Signer { return f.signer().At(base) }

// signer presigns SigV4 URLs at the face's base URL, on the emulator clock.
func (f *Face) signer() face.V4Signer {
	return face.V4Signer{Face: "s3", Dialect: f.dialect, Creds: f.creds, Base: f.base, Now: f.cfg.Clock.Now}
}

// slogAdapter sends gofakes3's log lines to slog: its INFO lines are per
// request chatter, so they go to debug.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Print(level gofakes3.LogLevel, v ...any) {
	msg := "gofakes3: " + strings.TrimSuffix(fmt.Sprintln(v...), "\n")
	switch level {
	case gofakes3.LogErr:
		a.log.Error(msg)
	case gofakes3.LogWarn:
		a.log.Warn(msg)
	default:
		a.log.Debug(msg)
	}
}
