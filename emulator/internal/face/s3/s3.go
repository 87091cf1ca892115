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
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

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
	if contentLength < 0 {
		return face.Signed{}, fmt.Errorf("s3 face: sign upload: negative content length %d", contentLength)
	}
	if contentType == "" {
		contentType = defaultContentType
	}
	s, err := f.presign(http.MethodPut, sp, path, face.UploadHeaders(contentType, contentLength))
	if err != nil {
		return face.Signed{}, fmt.Errorf("s3 face: sign upload: %w", err)
	}
	s.Headers = map[string]string{"Content-Type": contentType}
	return s, nil
}

// SignDownload returns a presigned GET URL. As in S3, the method is signed:
// a HEAD needs a URL presigned for HEAD.
func (f *Face) SignDownload(sp store.Space, path string) (face.Signed, error) {
	s, err := f.presign(http.MethodGet, sp, path, http.Header{})
	if err != nil {
		return face.Signed{}, fmt.Errorf("s3 face: sign download: %w", err)
	}
	s.Headers = map[string]string{}
	return s, nil
}

// presign presigns method on the object at path in sp.
func (f *Face) presign(method string, sp store.Space, path string, h http.Header) (face.Signed, error) {
	return face.V4Signer{Dialect: f.dialect, Creds: f.creds, Base: f.base, Now: f.cfg.Clock.Now}.Presign(method, sp, path, h)
}

// authParams are the query parameters of a presigned request; a request
// with none of them is anonymous.
var authParams = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"}

// subresources are the query parameters on which gofakes3 routes to
// operations other than plain object GET/HEAD/PUT/DELETE and bucket listing:
// multipart uploads, versioning, multi-delete. None is offered (the fallback
// multipart uploader and the XML body decoder buffer whole bodies).
var subresources = []string{"uploads", "uploadId", "partNumber", "versioning", "versions", "versionId", "delete"}

// ServeHTTP verifies a presigned request and serves it through gofakes3.
func (f *Face) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := fmt.Sprintf("%016X", f.reqID.Add(1))
	w.Header().Set("x-amz-request-id", id)
	f.log.Debug("s3 face: request", "method", r.Method, "path", r.URL.Path, "request_id", id)

	if r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		// A browser's CORS preflight carries no signature and moves no
		// data: gofakes3 answers it, allowing any origin.
		f.s3.ServeHTTP(w, r)
		return
	}
	if r.Header.Get("Authorization") != "" {
		f.refuse(w, r, id, http.StatusForbidden, s3Error{Code: "AccessDenied",
			Message: "This emulator's S3 face accepts presigned URLs only (query-string SigV4); requests signed in the Authorization header are not supported."})
		return
	}
	q := r.URL.Query()
	anonymous := true
	for _, p := range authParams {
		if q.Has(p) {
			anonymous = false
		}
	}
	if anonymous {
		f.refuse(w, r, id, http.StatusForbidden, s3Error{Code: "AccessDenied", Message: "Access Denied"})
		return
	}
	if !f.verify(w, r, id) {
		return
	}

	for _, s := range subresources {
		if q.Has(s) {
			f.refuse(w, r, id, http.StatusNotImplemented, s3Error{Code: "NotImplemented",
				Message: fmt.Sprintf("The %q subresource is not implemented by this emulator: only single-request object GET, HEAD, PUT and DELETE are.", s)})
			return
		}
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	switch {
	case key != "":
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			f.refuse(w, r, id, http.StatusNotImplemented, s3Error{Code: "NotImplemented", Message: "CopyObject is not implemented by this emulator."})
			return
		}
		if sp, _, err := store.ParseObjectKey(key); err == nil && bucket == face.Bucket {
			if !f.access(w, r, id, sp, write, "NoSuchKey") {
				return
			}
		}
		if r.Method == http.MethodPut && f.cfg.StrictProviderLimits {
			if n := putSize(r); n > MaxSinglePut {
				f.refuse(w, r, id, http.StatusBadRequest, s3Error{Code: "EntityTooLarge",
					Message:        "Your proposed upload exceeds the maximum allowed size",
					ProposedSize:   strconv.FormatInt(n, 10),
					MaxSizeAllowed: strconv.FormatInt(MaxSinglePut, 10)})
				return
			}
		}
	case bucket != "":
		if write {
			f.refuse(w, r, id, http.StatusNotImplemented, s3Error{Code: "NotImplemented",
				Message: "Bucket operations other than listing are not implemented by this emulator."})
			return
		}
		if sp, _, ok := spaceOfPrefix(q.Get("prefix")); ok && bucket == face.Bucket {
			if !f.access(w, r, id, sp, false, "NoSuchBucket") {
				return
			}
		}
	}
	f.s3.ServeHTTP(w, r)
}

// verify checks the signature and time window on the emulator clock and
// answers the refusal itself; it reports whether the request may go on.
func (f *Face) verify(w http.ResponseWriter, r *http.Request, id string) bool {
	now := f.cfg.Clock.Now()
	req := signing.FromHTTP(r)
	p, err := f.dialect.Verify(req, f.creds, now)
	if err == nil {
		return true
	}
	var se *signing.Error
	if !errors.As(err, &se) {
		f.log.Error("s3 face: verify", "err", err)
		f.refuse(w, r, id, http.StatusInternalServerError, s3Error{Code: "InternalError", Message: "We encountered an internal error. Please try again."})
		return false
	}
	f.log.Debug("s3 face: refused", "request_id", id, "err", err)
	switch {
	case errors.Is(err, signing.ErrMissingParam):
		f.refuse(w, r, id, http.StatusBadRequest, s3Error{Code: "AuthorizationQueryParametersError",
			Message: "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."})
	case errors.Is(err, signing.ErrMalformed):
		f.refuse(w, r, id, http.StatusBadRequest, s3Error{Code: "AuthorizationQueryParametersError", Message: se.Detail})
	case errors.Is(err, signing.ErrCredential) && p.KeyID != f.creds.KeyID:
		// As S3 does for a key it does not know.
		f.refuse(w, r, id, http.StatusForbidden, s3Error{Code: "InvalidAccessKeyId",
			Message: "The AWS Access Key Id you provided does not exist in our records.", AWSAccessKeyID: p.KeyID})
	case errors.Is(err, signing.ErrCredential):
		// A scope with another date, region or service.
		f.refuse(w, r, id, http.StatusBadRequest, s3Error{Code: "AuthorizationQueryParametersError",
			Message: "Error parsing the X-Amz-Credential parameter; " + se.Detail + "."})
	case errors.Is(err, signing.ErrNotYetValid):
		f.refuse(w, r, id, http.StatusForbidden, s3Error{Code: "AccessDenied", Message: "Request is not valid yet",
			ServerTime: now.Format(time.RFC3339)})
	case errors.Is(err, signing.ErrExpired):
		f.refuse(w, r, id, http.StatusForbidden, s3Error{Code: "AccessDenied", Message: "Request has expired",
			XAmzExpires: strconv.FormatInt(int64(p.Expires/time.Second), 10),
			Expires:     p.ExpiresAt().Format(time.RFC3339),
			ServerTime:  now.Format(time.RFC3339)})
	default: // signing.ErrSignature
		f.refuse(w, r, id, http.StatusForbidden, s3Error{Code: "SignatureDoesNotMatch",
			Message:           "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
			AWSAccessKeyID:    p.KeyID,
			StringToSign:      se.StringToSign,
			SignatureProvided: r.URL.Query().Get("X-Amz-Signature"),
			CanonicalRequest:  se.CanonicalRequest})
	}
	return false
}

// access asks the emulator whether the space may be used and answers the
// refusal itself; missing is the S3 code for a space that does not exist.
func (f *Face) access(w http.ResponseWriter, r *http.Request, id string, sp store.Space, write bool, missing string) bool {
	if f.cfg.Access == nil {
		return true
	}
	err := f.cfg.Access(sp, write)
	switch {
	case err == nil:
		return true
	case errors.Is(err, face.ErrNoSpace):
		msg := "The specified key does not exist."
		if missing == "NoSuchBucket" {
			msg = "The specified bucket does not exist"
		}
		if r.Method == http.MethodPut {
			// S3 has no missing "directory": a PUT into a space the
			// emulator does not know is a PUT into a missing bucket.
			missing, msg = "NoSuchBucket", "The specified bucket does not exist"
		}
		f.refuse(w, r, id, http.StatusNotFound, s3Error{Code: missing, Message: msg})
	default: // face.ErrReadOnly, or anything else the emulator refuses
		f.refuse(w, r, id, http.StatusForbidden, s3Error{Code: "AccessDenied", Message: "Access Denied: " + err.Error()})
	}
	return false
}

// putSize is the object size a PUT declares: the decoded length of an
// aws-chunked body, else Content-Length.
func putSize(r *http.Request) int64 {
	if v := r.Header.Get("X-Amz-Decoded-Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return r.ContentLength
}

// s3Error is S3's XML error body. Optional elements are those S3 itself adds
// for the error in question (the string it signed, the expiry, the limit).
type s3Error struct {
	XMLName           xml.Name `xml:"Error"`
	Code              string   `xml:"Code"`
	Message           string   `xml:"Message"`
	AWSAccessKeyID    string   `xml:"AWSAccessKeyId,omitempty"`
	StringToSign      string   `xml:"StringToSign,omitempty"`
	SignatureProvided string   `xml:"SignatureProvided,omitempty"`
	CanonicalRequest  string   `xml:"CanonicalRequest,omitempty"`
	XAmzExpires       string   `xml:"X-Amz-Expires,omitempty"`
	Expires           string   `xml:"Expires,omitempty"`
	ServerTime        string   `xml:"ServerTime,omitempty"`
	ProposedSize      string   `xml:"ProposedSize,omitempty"`
	MaxSizeAllowed    string   `xml:"MaxSizeAllowed,omitempty"`
	RequestID         string   `xml:"RequestId"`
	HostID            string   `xml:"HostId"`
}

// refuse writes an S3 error response (headers only for HEAD, as S3 does).
func (f *Face) refuse(w http.ResponseWriter, r *http.Request, id string, status int, e s3Error) {
	e.RequestID = id
	e.HostID = base64.StdEncoding.EncodeToString([]byte(id + id))
	body, err := xml.Marshal(e)
	if err != nil {
		// Only strings: cannot fail.
		f.log.Error("s3 face: encode error", "err", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("x-amz-id-2", e.HostID)
	h.Set("Server", "AmazonS3")
	// As gofakes3 does for the requests it answers, so that a browser
	// client can read why it was refused.
	h.Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	body = append([]byte(xml.Header), body...)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if _, err := w.Write(body); err != nil {
		f.log.Debug("s3 face: write error response", "err", err)
	}
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
