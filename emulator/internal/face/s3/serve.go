package s3

import (
	"errors"
	"fmt"
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
	if err := f.serve(rec, r); err != nil {
		f.writeError(rec, r, id, err)
	}
	f.log.LogAttrs(r.Context(), slog.LevelDebug, "s3 request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("request_id", id),
		slog.Int("status", rec.StatusOr200()), slog.String("code", rec.Code),
		slog.Int64("bytes", rec.Bytes), slog.Duration("took", time.Since(start)))
}

func (f *Face) serve(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		// A browser's CORS preflight carries no signature and moves no
		// data: gofakes3 answers it, allowing any origin.
		f.s3.ServeHTTP(w, r)
		return nil
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
	f.s3.ServeHTTP(w, r)
	return nil
}

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
