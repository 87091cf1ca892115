package gcs

import (
	"context"
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
	"github.com/localbaponi/localbaponi/emulator/internal/reqlog"
	"github.com/localbaponi/localbaponi/emulator/internal/signing"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// ServeHTTP serves one data-plane request: verify the signature, ask
// Access, then PUT into or GET/HEAD from the store. A refusal is written by
// writeError, in GCS's XML.
func (f *Face) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := reqlog.NewRecorder(w)
	if face.IsPreflight(r) {
		f.preflight(rec, r)
	} else {
		f.cfg.CORSOf().Actual(rec.Header(), r, exposeHeaders)
		if err := f.serve(rec, r); err != nil {
			f.writeError(rec, r, err)
		}
	}
	f.log.LogAttrs(r.Context(), slog.LevelDebug, "gcs request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", rec.StatusOr200()), slog.String("code", rec.Code),
		slog.Int64("bytes", rec.Bytes), slog.Duration("took", time.Since(start)))
}

func (f *Face) serve(w *reqlog.Recorder, r *http.Request) error {
	if r.Method == http.MethodPut {
		// A streamed body of unknown length cannot match the signed length;
		// GCS refuses it before looking at the signature.
		if r.Header.Get("Content-Length") == "" || r.ContentLength < 0 {
			return errMissingContentLength()
		}
	}
	sreq := signing.FromHTTP(r)
	if !f.hasAnySigningParam(sreq.Query) {
		return errAnonymous()
	}
	if p, err := f.dialect.Verify(sreq, f.creds, f.cfg.Clock.Now()); err != nil {
		return verifyError(p, err)
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket != face.Bucket {
		return errNoSuchBucket(fmt.Sprintf("No such bucket: %s", bucket))
	}
	sp, path, err := store.ParseObjectKey(key)
	switch {
	case err != nil && r.Method == http.MethodPut:
		return errInvalidArgument(fmt.Sprintf("The object name %q is outside what this emulator stores: %v", key, err))
	case err != nil:
		return errNoSuchKey(key)
	}
	switch r.Method {
	case http.MethodPut:
		return f.put(w, r, sp, path, key)
	case http.MethodGet, http.MethodHead:
		return f.get(w, r, sp, path, key)
	}
	return errMethodNotAllowed(r.Method)
}

// exposeHeaders are the response headers a page may read cross-origin: what
// the face sets on its answers.
var exposeHeaders = []string{"ETag", "Content-Length", "Content-Type", "Content-Range", "Last-Modified",
	"X-Goog-Stored-Content-Length", "X-Goog-Stored-Content-Encoding", "X-Goog-Storage-Class"}

// preflight answers a browser's CORS preflight as GCS answers it for a
// bucket with a CORS configuration: 200 with the Access-Control-* headers
// when a rule matches the origin, method and headers, and 200 without them
// when none does (the browser then refuses the request itself). No
// signature is involved.
func (f *Face) preflight(w http.ResponseWriter, r *http.Request) {
	h, _ := f.cfg.CORSOf().Preflight(r) // refused: 200 without the headers, as GCS
	face.WritePreflight(w, h, false)
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

// verifyError maps a signing failure to the error GCS gives (SPEC U-5).
func verifyError(p signing.Params, err error) error {
	var se *signing.Error
	if !errors.As(err, &se) {
		return err
	}
	switch {
	case errors.Is(err, signing.ErrExpired):
		return errExpiredToken(p.ExpiresAt())
	case errors.Is(err, signing.ErrMissingParam), errors.Is(err, signing.ErrMalformed):
		return errMalformedSecurityHeader(se.Detail, se.Param)
	case errors.Is(err, signing.ErrNotYetValid):
		// GCS documents no code for a date in the future; refuse it as
		// access denied rather than pretend the signature is wrong.
		return errAccessDenied("Request is not yet valid: " + se.Detail)
	case errors.Is(err, signing.ErrCredential):
		// A changed credential is a changed query (SPEC U-5).
		return errCredentialMismatch(se.Detail)
	}
	return errSignatureDoesNotMatch(se.StringToSign, se.CanonicalRequest)
}

// access asks cfg.Access about the space of the object key.
func (f *Face) access(sp store.Space, key string, write bool) error {
	if f.cfg.Access == nil {
		return nil
	}
	err := f.cfg.Access(sp, write)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, face.ErrNoSpace) && write:
		return errNoSuchBucket(fmt.Sprintf("No such thread or volume for object %s", key))
	case errors.Is(err, face.ErrNoSpace):
		return errNoSuchKey(key)
	case errors.Is(err, face.ErrReadOnly):
		return errAccessDenied(fmt.Sprintf("The caller does not have storage.objects.create access to %s: the volume is read-only", key))
	}
	return err
}

func (f *Face) put(w *reqlog.Recorder, r *http.Request, sp store.Space, path, key string) error {
	if err := f.access(sp, key, true); err != nil {
		return err
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = store.DefaultContentType
	}
	obj, err := f.cfg.Store.Put(r.Context(), sp, path, ct, r.ContentLength, r.Body)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrSizeMismatch), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.Canceled), errors.Is(err, os.ErrDeadlineExceeded):
		// The client sent less than it declared (or went away): nothing
		// was stored; the answer likely reaches no one, but say why.
		return errIncompleteBody(key, err)
	case errors.Is(err, store.ErrIsDir):
		return errDirectoryConflict(key)
	case errors.Is(err, store.ErrInvalidPath), errors.Is(err, store.ErrNotFound):
		return errInvalidArgument(err.Error())
	default:
		return err
	}
	h := w.Header()
	h.Set("ETag", obj.ETag)
	h.Set("X-Goog-Stored-Content-Length", strconv.FormatInt(obj.Size, 10))
	h.Set("X-Goog-Stored-Content-Encoding", "identity")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

func (f *Face) get(w *reqlog.Recorder, r *http.Request, sp store.Space, path, key string) error {
	if err := f.access(sp, key, false); err != nil {
		return err
	}
	rd, err := f.cfg.Store.Open(r.Context(), sp, path)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrIsDir), errors.Is(err, store.ErrInvalidPath):
		return errNoSuchKey(key)
	default:
		return err
	}
	defer rd.Close()
	h := w.Header()
	ct := rd.ContentType
	if ct == "" {
		ct = store.DefaultContentType
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
	http.ServeContent(&rangeErrors{Recorder: w, face: f, r: r}, r, "", rd.Modified, rd.ReadSeekCloser)
	return nil
}

// rangeErrors turns the plain-text 416 of http.ServeContent into GCS's
// InvalidRange XML error.
type rangeErrors struct {
	*reqlog.Recorder
	face    *Face
	r       *http.Request
	swallow bool
}

func (e *rangeErrors) WriteHeader(status int) {
	if status == http.StatusRequestedRangeNotSatisfiable {
		e.swallow = true
		h := e.Recorder.Header()
		h.Del("Content-Length")
		h.Del("X-Content-Type-Options")
		e.face.writeError(e.Recorder, e.r, errInvalidRange(e.r.Header.Get("Range")))
		return
	}
	e.Recorder.WriteHeader(status)
}

func (e *rangeErrors) ReadFrom(src io.Reader) (int64, error) {
	if e.swallow {
		return io.Copy(io.Discard, src)
	}
	return e.Recorder.ReadFrom(src)
}

func (e *rangeErrors) Write(p []byte) (int, error) {
	if e.swallow {
		return len(p), nil
	}
	return e.Recorder.Write(p)
}
