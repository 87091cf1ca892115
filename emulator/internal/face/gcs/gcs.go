// Package gcs is the Google Cloud Storage face: V4 signed URLs with an HMAC
// key (GOOG4-HMAC-SHA256) and the XML API's PUT, GET and HEAD of one object,
// with GCS's XML errors. It is the emulator's default data plane.
package gcs

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

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

// defaultContentType is what GCS assumes when an upload names none.
const defaultContentType = "application/octet-stream"

// SignUpload returns a PUT URL for exactly contentLength bytes of
// contentType; both are signed headers, as is host.
func (f *Face) SignUpload(sp store.Space, path, contentType string, contentLength int64) (face.Signed, error) {
	if contentLength < 0 {
		return face.Signed{}, fmt.Errorf("gcs face: sign upload: content length %d is negative", contentLength)
	}
	if contentType == "" {
		contentType = defaultContentType
	}
	s, err := f.sign(http.MethodPut, sp, path, face.UploadHeaders(contentType, contentLength))
	if err != nil {
		return face.Signed{}, fmt.Errorf("gcs face: sign upload: %w", err)
	}
	s.Headers = map[string]string{"Content-Type": contentType}
	return s, nil
}

// SignDownload returns a GET URL for the file; only host is signed. The
// signature covers the method, so the URL does not allow HEAD (GCS
// documents no exception for it).
func (f *Face) SignDownload(sp store.Space, path string) (face.Signed, error) {
	s, err := f.sign(http.MethodGet, sp, path, nil)
	if err != nil {
		return face.Signed{}, fmt.Errorf("gcs face: sign download: %w", err)
	}
	return s, nil
}

// sign presigns method on the object at path in sp.
func (f *Face) sign(method string, sp store.Space, path string, h http.Header) (face.Signed, error) {
	return face.V4Signer{Dialect: f.dialect, Creds: f.creds, Base: f.base, Now: f.cfg.Clock.Now}.Presign(method, sp, path, h)
}

// ServeHTTP serves one data-plane request: verify the signature, ask
// Access, then PUT into or GET/HEAD from the store.
func (f *Face) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	f.serve(rec, r)
	f.log.LogAttrs(r.Context(), slog.LevelDebug, "gcs request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", rec.status), slog.String("code", rec.code),
		slog.Int64("bytes", rec.bytes), slog.Duration("took", time.Since(start)))
}

func (f *Face) serve(w *recorder, r *http.Request) {
	if r.Method == http.MethodPut {
		// A streamed body of unknown length cannot match the signed length;
		// GCS refuses it before looking at the signature.
		if r.Header.Get("Content-Length") == "" || r.ContentLength < 0 {
			f.fail(w, r, http.StatusLengthRequired, "MissingContentLength",
				"You must provide the Content-Length HTTP header.",
				"a PUT to a signed URL needs a Content-Length header (not chunked transfer encoding)")
			return
		}
	}
	if !f.hasAnySigningParam(r.URL.Query()) {
		f.fail(w, r, http.StatusForbidden, "AccessDenied", "Access denied.",
			"Anonymous caller does not have access to the Google Cloud Storage object: the URL carries no X-Goog-Signature")
		return
	}
	if p, err := f.dialect.Verify(signing.FromHTTP(r), f.creds, f.cfg.Clock.Now()); err != nil {
		f.verifyFailed(w, r, p, err)
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket != face.Bucket {
		f.fail(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist.",
			fmt.Sprintf("No such bucket: %s", bucket))
		return
	}
	sp, path, err := store.ParseObjectKey(key)
	switch {
	case err != nil && r.Method == http.MethodPut:
		f.fail(w, r, http.StatusBadRequest, "InvalidArgument", "Invalid argument.",
			fmt.Sprintf("The object name %q is outside what this emulator stores: %v", key, err))
		return
	case err != nil:
		f.noSuchKey(w, r, key)
		return
	}
	switch r.Method {
	case http.MethodPut:
		f.put(w, r, sp, path, key)
	case http.MethodGet, http.MethodHead:
		f.get(w, r, sp, path, key)
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT")
		f.fail(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The specified method is not allowed against this resource.",
			fmt.Sprintf("%s is not supported by this emulator's GCS face; use GET, HEAD or PUT", r.Method))
	}
}

// hasAnySigningParam tells a signed URL with parts missing (a client bug
// worth a precise 400) from a plain unauthenticated request (403).
func (f *Face) hasAnySigningParam(q url.Values) bool {
	for k := range q {
		if strings.HasPrefix(k, f.dialect.ParamPrefix) {
			return true
		}
	}
	return false
}

// verifyFailed maps a signing failure to the error GCS gives (SPEC U-5).
func (f *Face) verifyFailed(w *recorder, r *http.Request, p signing.Params, err error) {
	var se *signing.Error
	if !errors.As(err, &se) {
		f.internal(w, r, err)
		return
	}
	switch {
	case errors.Is(err, signing.ErrExpired):
		f.fail(w, r, http.StatusBadRequest, "ExpiredToken", "The provided token has expired.",
			"Request signature expired at: "+p.ExpiresAt().Format("2006-01-02T15:04:05-07:00"))
	case errors.Is(err, signing.ErrMissingParam), errors.Is(err, signing.ErrMalformed):
		f.failExtra(w, r, http.StatusBadRequest, "MalformedSecurityHeader", "Your request has a malformed header.",
			se.Detail, element{"ParameterName", se.Param})
	case errors.Is(err, signing.ErrNotYetValid):
		// GCS documents no code for a date in the future; refuse it as
		// access denied rather than pretend the signature is wrong.
		f.fail(w, r, http.StatusForbidden, "AccessDenied", "Access denied.",
			"Request is not yet valid: "+se.Detail)
	case errors.Is(err, signing.ErrCredential):
		// A changed credential is a changed query (SPEC U-5).
		f.fail(w, r, http.StatusForbidden, "SignatureDoesNotMatch", "Access denied.",
			"The request signature we calculated does not match the signature you provided: "+se.Detail)
	default:
		f.failExtra(w, r, http.StatusForbidden, "SignatureDoesNotMatch", "Access denied.",
			"The request signature we calculated does not match the signature you provided. Check your Google secret key and signing method.",
			element{"StringToSign", se.StringToSign}, element{"CanonicalRequest", se.CanonicalRequest})
	}
}

// access asks cfg.Access and answers for it; it reports whether to go on.
func (f *Face) access(w *recorder, r *http.Request, sp store.Space, key string, write bool) bool {
	if f.cfg.Access == nil {
		return true
	}
	err := f.cfg.Access(sp, write)
	switch {
	case err == nil:
		return true
	case errors.Is(err, face.ErrNoSpace) && write:
		f.fail(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist.",
			fmt.Sprintf("No such thread or volume for object %s", key))
	case errors.Is(err, face.ErrNoSpace):
		f.noSuchKey(w, r, key)
	case errors.Is(err, face.ErrReadOnly):
		f.fail(w, r, http.StatusForbidden, "AccessDenied", "Access denied.",
			fmt.Sprintf("The caller does not have storage.objects.create access to %s: the volume is read-only", key))
	default:
		f.internal(w, r, err)
	}
	return false
}

func (f *Face) put(w *recorder, r *http.Request, sp store.Space, path, key string) {
	if !f.access(w, r, sp, key, true) {
		return
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = defaultContentType
	}
	obj, err := f.cfg.Store.Put(r.Context(), sp, path, ct, r.ContentLength, r.Body)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrSizeMismatch), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.Canceled), errors.Is(err, os.ErrDeadlineExceeded):
		// The client sent less than it declared (or went away): nothing
		// was stored; the answer likely reaches no one, but say why.
		f.fail(w, r, http.StatusBadRequest, "IncompleteBody",
			"You did not provide the number of bytes specified by the Content-Length HTTP header.",
			fmt.Sprintf("Upload of %s was incomplete; nothing was stored: %v", key, err))
		return
	case errors.Is(err, store.ErrIsDir):
		f.fail(w, r, http.StatusConflict, "Conflict", "A directory exists at this name.",
			fmt.Sprintf("%s is a directory in the emulator's store", key))
		return
	case errors.Is(err, store.ErrInvalidPath), errors.Is(err, store.ErrNotFound):
		f.fail(w, r, http.StatusBadRequest, "InvalidArgument", "Invalid argument.", err.Error())
		return
	default:
		f.internal(w, r, err)
		return
	}
	h := w.Header()
	h.Set("ETag", obj.ETag)
	h.Set("X-Goog-Stored-Content-Length", strconv.FormatInt(obj.Size, 10))
	h.Set("X-Goog-Stored-Content-Encoding", "identity")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

func (f *Face) get(w *recorder, r *http.Request, sp store.Space, path, key string) {
	if !f.access(w, r, sp, key, false) {
		return
	}
	rd, err := f.cfg.Store.Open(r.Context(), sp, path)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrIsDir), errors.Is(err, store.ErrInvalidPath):
		f.noSuchKey(w, r, key)
		return
	default:
		f.internal(w, r, err)
		return
	}
	defer rd.Close()
	h := w.Header()
	ct := rd.ContentType
	if ct == "" {
		ct = defaultContentType
	}
	h.Set("Content-Type", ct)
	if rd.ETag != "" {
		h.Set("ETag", rd.ETag)
	}
	h.Set("X-Goog-Stored-Content-Length", strconv.FormatInt(rd.Size, 10))
	h.Set("X-Goog-Stored-Content-Encoding", "identity")
	h.Set("X-Goog-Storage-Class", "STANDARD")
	// ServeContent does Range, conditional requests, Content-Length,
	// Last-Modified and HEAD; its own error bodies (416) are rewritten in
	// GCS's format by rangeErrors.
	// The store's own reader (a plain file) goes in, so that the copy to
	// the connection can use sendfile.
	http.ServeContent(&rangeErrors{recorder: w, face: f, r: r}, r, "", rd.Modified, rd.ReadSeekCloser)
}

// rangeErrors turns the plain-text 416 of http.ServeContent into GCS's
// InvalidRange XML error.
type rangeErrors struct {
	*recorder
	face    *Face
	r       *http.Request
	swallow bool
}

func (e *rangeErrors) WriteHeader(status int) {
	if status == http.StatusRequestedRangeNotSatisfiable {
		e.swallow = true
		h := e.recorder.Header()
		h.Del("Content-Length")
		h.Del("X-Content-Type-Options")
		e.face.fail(e.recorder, e.r, status, "InvalidRange",
			"The requested range cannot be satisfied.",
			fmt.Sprintf("Range %q is not satisfiable for an object of this size", e.r.Header.Get("Range")))
		return
	}
	e.recorder.WriteHeader(status)
}

func (e *rangeErrors) ReadFrom(src io.Reader) (int64, error) {
	if e.swallow {
		return io.Copy(io.Discard, src)
	}
	return e.recorder.ReadFrom(src)
}

func (e *rangeErrors) Write(p []byte) (int, error) {
	if e.swallow {
		return len(p), nil
	}
	return e.recorder.Write(p)
}

func (f *Face) noSuchKey(w *recorder, r *http.Request, key string) {
	f.fail(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.",
		fmt.Sprintf("No such object: %s/%s", face.Bucket, key))
}

func (f *Face) internal(w *recorder, r *http.Request, err error) {
	f.log.LogAttrs(r.Context(), slog.LevelError, "gcs request failed",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	f.fail(w, r, http.StatusInternalServerError, "InternalError",
		"We encountered an internal error. Please try again.", err.Error())
}

// element is one extra child of <Error> after Details.
type element struct{ name, text string }

func (f *Face) fail(w *recorder, r *http.Request, status int, code, msg, details string) {
	f.failExtra(w, r, status, code, msg, details)
}

// failExtra writes a GCS XML error:
// <Error><Code/><Message/><Details/>[extra...]</Error>.
func (f *Face) failExtra(w *recorder, r *http.Request, status int, code, msg, details string, extra ...element) {
	var b strings.Builder
	b.WriteString("<?xml version='1.0' encoding='UTF-8'?><Error>")
	writeElem(&b, "Code", code)
	writeElem(&b, "Message", msg)
	writeElem(&b, "Details", details)
	for _, e := range extra {
		if e.text != "" {
			writeElem(&b, e.name, e.text)
		}
	}
	b.WriteString("</Error>")
	w.code = code
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	h.Del("ETag")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		io.WriteString(w, b.String())
	}
}

func writeElem(b *strings.Builder, name, text string) {
	b.WriteString("<" + name + ">")
	xml.EscapeText(b, []byte(text)) // a strings.Builder never fails to write
	b.WriteString("</" + name + ">")
}

// recorder remembers what was answered, for the request's log line.
type recorder struct {
	http.ResponseWriter
	status int
	code   string
	bytes  int64
}

func (w *recorder) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (w *recorder) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the connection's ReadFrom (sendfile) reachable through the
// recorder.
func (w *recorder) ReadFrom(src io.Reader) (int64, error) {
	n, err := io.Copy(w.ResponseWriter, src)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
