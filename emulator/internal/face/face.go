// Package face defines what a storage face is: the signer of upload and
// download URLs and the data-plane server that honours them, in the dialect of
// one cloud provider (gcs, s3, azure).
//
// Every face package has the same shape: <face>.go holds Face, New and the
// signing; serve.go holds ServeHTTP, whose handlers return an error; errors.go
// holds the provider's refusals, one named constructor per error code
// (errNoSuchKey, errSignatureDoesNotMatch, ...), and writeError, the one
// writer of the provider's XML error body. An error that is not a refusal is
// answered as the provider's internal error and logged.
package face

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// URLLifetime is how long a signed URL stays valid (SPEC U-2).
const URLLifetime = 15 * time.Minute

// Bucket is the bucket (or container) name in signed URLs (DESIGN dev defaults).
const Bucket = "baponi-local-storage"

// Signed is a signed URL and what the client must send with it.
type Signed struct {
	URL       string
	Method    string            // "PUT" or "GET"
	Headers   map[string]string // every header the client must send; never nil
	ExpiresAt time.Time
}

// Signer signs upload and download URLs.
type Signer interface {
	// SignUpload returns a URL that accepts one PUT of exactly contentLength
	// bytes with the given Content-Type, until URLLifetime from now.
	SignUpload(sp store.Space, path, contentType string, contentLength int64) (Signed, error)
	// SignDownload returns a URL that GETs the file until URLLifetime from now.
	SignDownload(sp store.Space, path string) (Signed, error)
}

// Face signs URLs and serves the data plane. ServeHTTP receives every request
// that is not under /v1/ or /_emulator/ and answers it in the provider's own
// format (XML errors and all). Its own SignUpload and SignDownload use
// Config.BaseURL.
type Face interface {
	http.Handler
	Signer
	// Name is "gcs", "s3" or "azure".
	Name() string
	// SignerAt returns a Signer whose URLs start with base (scheme and host
	// only) instead of Config.BaseURL: the API passes the scheme and host
	// the client used for its request, so the URL works for that client.
	SignerAt(base *url.URL) Signer
}

// RequestInfo is what the layers above the faces learn about a request and
// put in its context (WithRequestInfo); a face asks it for the base URL.
type RequestInfo interface {
	// BaseURL is the scheme and host the request reached the emulator at,
	// or nil.
	BaseURL() *url.URL
}

type requestInfoKey struct{}

// WithRequestInfo returns ctx carrying info. The API keeps one value per
// request and fills it in as it goes, instead of one context (and one copy
// of the request) per fact.
func WithRequestInfo(ctx context.Context, info RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// RequestInfoFrom returns the RequestInfo in ctx, or nil.
func RequestInfoFrom(ctx context.Context) RequestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(RequestInfo)
	return info
}

// WithBaseURL returns ctx carrying base (scheme and host, no path): the URL
// a request reached the emulator at, which signed URLs made for that request
// start with.
func WithBaseURL(ctx context.Context, base *url.URL) context.Context {
	return WithRequestInfo(ctx, fixedBase{base})
}

// fixedBase is the RequestInfo of WithBaseURL.
type fixedBase struct{ u *url.URL }

func (b fixedBase) BaseURL() *url.URL { return b.u }

// BaseURL returns the base URL of the RequestInfo in ctx (WithBaseURL,
// WithRequestInfo), or nil.
func BaseURL(ctx context.Context) *url.URL {
	if info := RequestInfoFrom(ctx); info != nil {
		return info.BaseURL()
	}
	return nil
}

// SignerFor returns the signer for a request's context: f at the base URL in
// ctx, or f itself (Config.BaseURL) when ctx carries none.
//
// The base URL in a request's context is the same *url.URL for every
// request from the same host (the api keeps the last one), so the signer
// made for it is kept too, and reused while both are the same: a face's
// signer at a base depends on nothing else.
func SignerFor(ctx context.Context, f Face) Signer {
	base := BaseURL(ctx)
	if base == nil {
		return f
	}
	if c := lastSigner.Load(); c != nil && c.f == f && c.base == base {
		return c.s
	}
	s := f.SignerAt(base)
	lastSigner.Store(&signerAt{f: f, base: base, s: s})
	return s
}

// signerAt is SignerFor's last answer.
type signerAt struct {
	f    Face
	base *url.URL
	s    Signer
}

var lastSigner atomic.Pointer[signerAt]

// Config is what every face is built from.
type Config struct {
	Store store.Backend
	Clock *clock.Clock
	// BaseURL is the external URL of the emulator, without a trailing slash,
	// e.g. "http://127.0.0.1:8080". Signed URLs start with it.
	BaseURL string
	// KeyID and Secret are the signing identity: the GCS HMAC access id and
	// secret, the S3 access key id and secret, the Azure account name and
	// (base64 of Secret) account key.
	KeyID  string
	Secret string
	// StrictProviderLimits makes a face refuse what its provider would
	// (S3: a single PUT over 5 GiB).
	StrictProviderLimits bool
	// Access is asked before every data-plane request is served, after the
	// signature is verified: it returns an error if the space is unknown
	// (then the face answers as its provider does for a missing bucket or
	// object) or, with write true, if it is read-only (the face answers 403
	// in its provider's format). Nil allows everything.
	Access func(sp store.Space, write bool) error
	// CORS is the cross-origin policy of the data plane; nil means
	// DefaultCORS (loopback origins only).
	CORS   *CORS
	Logger *slog.Logger
}

// ErrReadOnly is returned by Config.Access for a write to a read-only space.
var ErrReadOnly = errors.New("the volume is read-only")

// ErrNoSpace is returned by Config.Access for a space that does not exist.
var ErrNoSpace = errors.New("no such thread or volume")
