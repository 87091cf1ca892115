package s3

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/reqlog"
	"github.com/localbaponi/localbaponi/emulator/internal/signing"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// authParams are the query parameters of a presigned request; a request
// with none of them is anonymous.
var authParams = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"}

// subresources are the query parameters on which gofakes3 routes to
// operations other than plain object GET/HEAD/PUT/DELETE and bucket listing:
// multipart uploads, versioning, multi-delete. None is offered (the fallback
// multipart uploader and the XML body decoder buffer whole bodies).
var subresources = []string{"uploads", "uploadId", "partNumber", "versioning", "versions", "versionId", "delete"}

// ServeHTTP verifies a presigned request and serves it through gofakes3.
// The face's own refusals are written by writeError; gofakes3 writes the
// errors of the operations it serves, in the same XML.
func (f *Face) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := fmt.Sprintf("%016X", f.reqID.Add(1))
	w.Header().Set("x-amz-request-id", id)
	rec := reqlog.NewRecorder(w)
	if !face.IsPreflight(r) {
		f.cfg.CORSOf().Actual(rec.Header(), r, exposeHeaders)
	}
	if err := f.serve(rec, r); err != nil {
		f.writeError(rec, r, id, err)
	}
	f.log.LogAttrs(r.Context(), slog.LevelDebug, "s3 request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("request_id", id),
		slog.Int("status", rec.StatusOr200()), slog.String("code", rec.Code),
		slog.Int64("bytes", rec.Bytes), slog.Duration("took", time.Since(start)))
}

func (f *Face) serve(w http.ResponseWriter, r *http.Request) error {
	if face.IsPreflight(r) {
		// A browser's CORS preflight carries no signature and moves no
		// data: the bucket's CORS rule decides it.
		return f.preflight(w, r)
	}
	if r.Header.Get("Authorization") != "" {
		return errHeaderAuthorization()
	}
	q := r.URL.Query()
	anonymous := true
	for _, p := range authParams {
		if q.Has(p) {
			anonymous = false
		}
	}
	if anonymous {
		return errAccessDenied("Access Denied")
	}
	if err := f.verify(r); err != nil {
		return err
	}
	for _, s := range subresources {
		if q.Has(s) {
			return errNotImplemented(fmt.Sprintf("The %q subresource is not implemented by this emulator: only single-request object GET, HEAD, PUT and DELETE are.", s))
		}
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	switch {
	case key != "":
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			return errNotImplemented("CopyObject is not implemented by this emulator.")
		}
		if sp, _, err := store.ParseObjectKey(key); err == nil && bucket == face.Bucket {
			if err := f.access(r, sp, write, codeNoSuchKey); err != nil {
				return err
			}
		}
		if r.Method == http.MethodPut && f.cfg.StrictProviderLimits {
			if n := putSize(r); n > MaxSinglePut {
				return errEntityTooLarge(n)
			}
		}
		if r.Method == http.MethodPut && plainPut(r, bucket, key) {
			f.putObject(w, r, w.Header().Get("x-amz-request-id"), bucket, key)
			return nil
		}
	case bucket != "":
		if write {
			return errNotImplemented("Bucket operations other than listing are not implemented by this emulator.")
		}
		if sp, _, ok := spaceOfPrefix(q.Get("prefix")); ok && bucket == face.Bucket {
			if err := f.access(r, sp, false, codeNoSuchBucket); err != nil {
				return err
			}
		}
	}
	// gofakes3 puts Access-Control-Allow-Origin: * on every answer; the
	// policy's headers (set in ServeHTTP) are put back before it is sent.
	cw := &corsRestorer{ResponseWriter: w, saved: corsHeadersOf(w.Header())}
	f.s3.ServeHTTP(cw, r)
	cw.restore() // an answer with no body may not have been written yet
	return nil
}

// exposeHeaders are the response headers a page may read cross-origin: what
// the face sets on its answers.
var exposeHeaders = []string{"ETag", "Content-Length", "Content-Type", "Content-Range", "Last-Modified",
	"x-amz-request-id", "x-amz-id-2", "x-amz-version-id"}

// preflight answers a browser's CORS preflight as S3 does for a bucket with
// a CORS configuration: 200 with the Access-Control-* headers (and
// Access-Control-Allow-Credentials) when a rule matches, 403 AccessForbidden
// when none does.
func (f *Face) preflight(w http.ResponseWriter, r *http.Request) error {
	h, ok := f.cfg.CORSOf().Preflight(r)
	if !ok {
		return errCORSForbidden()
	}
	face.WritePreflight(w, h, true)
	return nil
}

// corsHeadersOf copies the Access-Control-* and Vary headers of h.
func corsHeadersOf(h http.Header) http.Header {
	saved := http.Header{}
	for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Vary"} {
		if v := h.Values(k); len(v) > 0 {
			saved[k] = v
		}
	}
	return saved
}

// corsRestorer puts the face's CORS headers back over gofakes3's before the
// status is sent.
type corsRestorer struct {
	http.ResponseWriter
	saved http.Header
	done  bool
}

func (c *corsRestorer) restore() {
	if c.done {
		return
	}
	c.done = true
	h := c.ResponseWriter.Header()
	h.Del("Access-Control-Allow-Origin")
	for k, v := range c.saved {
		h[k] = v
	}
}

func (c *corsRestorer) WriteHeader(status int) {
	c.restore()
	c.ResponseWriter.WriteHeader(status)
}

func (c *corsRestorer) Write(b []byte) (int, error) {
	c.restore()
	return c.ResponseWriter.Write(b)
}

// ReadFrom keeps the recorder's ReadFrom (sendfile) on the GET path.
func (c *corsRestorer) ReadFrom(src io.Reader) (int64, error) {
	c.restore()
	if rf, ok := c.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(c.ResponseWriter, src)
}

// Unwrap lets http.ResponseController reach the connection.
func (c *corsRestorer) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// verify checks the signature and time window on the emulator clock.
func (f *Face) verify(r *http.Request) error {
	now := f.cfg.Clock.Now()
	p, err := f.dialect.Verify(signing.FromHTTP(r), f.creds, now)
	if err == nil {
		return nil
	}
	var se *signing.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("verify: %w", err)
	}
	f.log.Debug("s3 face: refused", "err", err)
	switch {
	case errors.Is(err, signing.ErrMissingParam):
		return errAuthorizationQueryParameters("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
	case errors.Is(err, signing.ErrMalformed):
		return errAuthorizationQueryParameters(se.Detail)
	case errors.Is(err, signing.ErrCredential) && p.KeyID != f.creds.KeyID:
		// As S3 does for a key it does not know.
		return errInvalidAccessKeyID(p.KeyID)
	case errors.Is(err, signing.ErrCredential):
		// A scope with another date, region or service.
		return errAuthorizationQueryParameters("Error parsing the X-Amz-Credential parameter; " + se.Detail + ".")
	case errors.Is(err, signing.ErrNotYetValid):
		return errNotYetValid(now)
	case errors.Is(err, signing.ErrExpired):
		return errExpired(p, now)
	}
	// signing.ErrSignature
	return errSignatureDoesNotMatch(p.KeyID, se.StringToSign, r.URL.Query().Get("X-Amz-Signature"), se.CanonicalRequest)
}

// access asks the emulator whether the space may be used; missing is the S3
// code for a space that does not exist.
func (f *Face) access(r *http.Request, sp store.Space, write bool, missing string) error {
	if f.cfg.Access == nil {
		return nil
	}
	err := f.cfg.Access(sp, write)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, face.ErrNoSpace) && r.Method == http.MethodPut:
		// S3 has no missing "directory": a PUT into a space the emulator
		// does not know is a PUT into a missing bucket.
		return errNoSuchBucket()
	case errors.Is(err, face.ErrNoSpace) && missing == codeNoSuchBucket:
		return errNoSuchBucket()
	case errors.Is(err, face.ErrNoSpace):
		return errNoSuchKey()
	}
	// face.ErrReadOnly, or anything else the emulator refuses
	return errAccessDenied("Access Denied: " + err.Error())
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
