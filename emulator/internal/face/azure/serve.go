package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/reqlog"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// ServeHTTP serves the blob data plane: Put Blob (PUT), Get Blob (GET) and
// Get Blob Properties (HEAD) on /<account>/<container>/<blob>, authorised by
// a service SAS in the query.
//
// A request with no SAS parameter at all is anonymous, and is answered as
// Azure answers anonymous access to a private container: 404
// ResourceNotFound. A request with a SAS that is incomplete, malformed,
// tampered with or outside its time window gets 403 AuthenticationFailed.
func (f *Face) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	began := time.Now() // real time: this measures work, not the emulator clock
	reqID := newRequestID()
	rec := reqlog.NewRecorder(w)
	h := w.Header()
	h.Set("x-ms-request-id", reqID)
	h.Set("x-ms-version", responseVersion(r))
	h.Set("Date", f.clk.Now().Format(http.TimeFormat))

	var err error
	if face.IsPreflight(r) {
		err = f.preflight(rec, r)
	} else {
		f.cors.Actual(h, r, exposeHeaders)
		err = f.serve(rec, r)
	}
	if err != nil {
		f.writeError(rec, r, reqID, err)
	}
	// The query holds the signature, a credential: log the path only.
	f.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", rec.StatusOr200()), slog.String("code", rec.Code),
		slog.Int64("bytes_in", max(r.ContentLength, 0)), slog.Int64("bytes_out", rec.Bytes),
		slog.String("request_id", reqID), slog.Duration("took", time.Since(began)))
}

// exposeHeaders are the response headers a page may read cross-origin: what
// the face sets on its answers.
var exposeHeaders = []string{"ETag", "Content-Length", "Content-Type", "Content-Range", "Content-MD5", "Last-Modified",
	"x-ms-request-id", "x-ms-version", "x-ms-error-code", "x-ms-blob-type", "x-ms-request-server-encrypted"}

// preflight answers a browser's CORS preflight as Azure Storage does with a
// CORS rule on the blob service: 200 with the Access-Control-* headers (and
// Access-Control-Allow-Credentials) when a rule matches, 403
// CorsPreflightFailure when none does.
func (f *Face) preflight(w http.ResponseWriter, r *http.Request) error {
	h, ok := f.cors.Preflight(r)
	if !ok {
		return errCorsPreflightFailure()
	}
	face.WritePreflight(w, h, true)
	return nil
}

// serve handles one request; a non-nil result is the refusal to send (the
// response has not been started then).
func (f *Face) serve(w http.ResponseWriter, r *http.Request) error {
	account, container, blob, ok := splitPath(r.URL.Path)
	if !ok {
		return errInvalidURI()
	}
	q := r.URL.Query()
	if !hasSAS(q) {
		if r.Header.Get("Authorization") != "" {
			return errAuthenticationFailed("localbaponi authorises blob requests by SAS only; Shared Key and OAuth authorization are not supported")
		}
		return errResourceNotFound()
	}
	v, err := f.verify(r, account, container, blob)
	if err != nil {
		return err
	}

	// Azure checks the SAS permission for the operation before looking at
	// the operation's own headers.
	switch r.Method {
	case http.MethodPut:
		if !strings.ContainsAny(v.perms, "cw") {
			return errAuthorizationPermissionMismatch()
		}
	case http.MethodGet, http.MethodHead:
		if !strings.Contains(v.perms, "r") {
			return errAuthorizationPermissionMismatch()
		}
	case http.MethodDelete:
		if !strings.Contains(v.perms, "d") {
			return errAuthorizationPermissionMismatch()
		}
		return errUnsupportedHttpVerb()
	default:
		return errUnsupportedHttpVerb()
	}
	if q.Has("comp") {
		// Put Block, Put Block List, Get Blob Tags, ...: clients that send
		// one Put Blob (curl, the SDK's Upload) never need them.
		return errInvalidQueryParameterValue("comp", q.Get("comp"), "localbaponi serves Put Blob, Get Blob and Get Blob Properties only")
	}
	if container != face.Bucket {
		return errContainerNotFound()
	}
	sp, path, err := store.ParseObjectKey(blob)
	if r.Method == http.MethodPut {
		if err != nil {
			return errInvalidResourceName()
		}
		return f.put(w, r, v, sp, path)
	}
	if err != nil {
		return errBlobNotFound()
	}
	return f.get(w, r, v, sp, path)
}

// splitPath splits /<account>/<container>/<blob> (blob unescaped, may hold '/').
func splitPath(p string) (account, container, blob string, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// responseVersion is the x-ms-version a response carries: the request's
// x-ms-version, else the SAS version (Azure's version for a SAS request
// without the header), else the face's.
func responseVersion(r *http.Request) string {
	for _, v := range []string{r.Header.Get("x-ms-version"), r.URL.Query().Get("sv")} {
		if _, err := time.Parse("2006-01-02", v); err == nil {
			return v
		}
	}
	return Version
}

// put is Put Blob for a block blob.
func (f *Face) put(w http.ResponseWriter, r *http.Request, v verified, sp store.Space, path string) error {
	switch bt := r.Header.Get("x-ms-blob-type"); bt {
	case "BlockBlob":
	case "":
		return errMissingRequiredHeader("x-ms-blob-type")
	default:
		// PageBlob and AppendBlob are real Azure types, but not Baponi's.
		return errInvalidHeaderValue("x-ms-blob-type", bt)
	}
	if r.ContentLength < 0 {
		return errMissingContentLengthHeader()
	}
	ct := blobContentType(r)
	if v.binding != nil {
		if err := v.binding.match(r.ContentLength, ct); err != nil {
			return err
		}
	}
	if err := f.checkAccess(sp, true); err != nil {
		return err
	}
	if f.strict && r.ContentLength > MaxPutBlobBytes {
		return errRequestBodyTooLarge(MaxPutBlobBytes)
	}
	if err := f.checkPutConditions(r.Context(), r, v, sp, path); err != nil {
		return err
	}

	obj, err := f.store.Put(r.Context(), sp, path, ct, r.ContentLength, r.Body)
	if err != nil {
		switch {
		case errors.Is(err, store.ErrSizeMismatch), errors.Is(err, io.ErrUnexpectedEOF),
			errors.Is(err, os.ErrDeadlineExceeded):
			// The client sent fewer bytes than its Content-Length, the
			// connection broke, or the body stalled past the idle timeout:
			// nothing was stored. Usually nobody is left to read this answer.
			f.log.Debug("put blob: body shorter than Content-Length; nothing stored", "path", r.URL.Path, "err", err)
			return errInvalidInput()
		case errors.Is(err, store.ErrIsDir):
			// Azure has no directories; Baponi's storage does, so a blob
			// cannot be both a file and a prefix of another file. ADLS
			// (hierarchical namespace) answers this with PathConflict.
			return errPathConflict()
		case errors.Is(err, store.ErrInvalidPath):
			return errInvalidResourceName()
		case r.Context().Err() != nil:
			f.log.Debug("put blob: client went away; nothing stored", "path", r.URL.Path, "err", err)
			return errInternalError()
		default:
			f.log.Error("put blob", "path", r.URL.Path, "err", err)
			return errInternalError()
		}
	}
	h := w.Header()
	h.Set("ETag", obj.ETag)
	h.Set("Last-Modified", obj.Modified.UTC().Format(http.TimeFormat))
	h.Set("x-ms-request-server-encrypted", "true")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// blobContentType is the content type Put Blob stores: x-ms-blob-content-type
// if sent (the SDKs send it, with Content-Type: application/octet-stream for
// the request body), else Content-Type, else application/octet-stream.
func blobContentType(r *http.Request) string {
	if ct := strings.TrimSpace(r.Header.Get("x-ms-blob-content-type")); ct != "" {
		return ct
	}
	if ct := strings.TrimSpace(r.Header.Get("Content-Type")); ct != "" {
		return ct
	}
	return store.DefaultContentType
}

// checkAccess asks Config.Access about the space.
func (f *Face) checkAccess(sp store.Space, write bool) error {
	if f.access == nil {
		return nil
	}
	err := f.access(sp, write)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, face.ErrReadOnly):
		return errAuthorizationPermissionMismatch()
	case errors.Is(err, face.ErrNoSpace):
		if write {
			return errContainerNotFound()
		}
		return errBlobNotFound()
	default:
		f.log.Error("access check", "space", sp.Key(), "err", err)
		return errInternalError()
	}
}

// checkPutConditions applies what depends on whether the blob already
// exists: a create-only SAS (sp has 'c' but not 'w') cannot overwrite, and
// If-Match / If-None-Match. The check and the Put are not atomic: a
// concurrent writer can slip in between, which Azure would prevent.
func (f *Face) checkPutConditions(ctx context.Context, r *http.Request, v verified, sp store.Space, path string) error {
	createOnly := !strings.Contains(v.perms, "w")
	ifMatch, ifNoneMatch := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	if !createOnly && ifMatch == "" && ifNoneMatch == "" {
		return nil
	}
	obj, err := f.store.Stat(ctx, sp, path)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrIsDir) {
		f.log.Error("put blob: stat", "path", r.URL.Path, "err", err)
		return errInternalError()
	}
	if createOnly && exists {
		return errAuthorizationPermissionMismatch()
	}
	if ifMatch != "" && (!exists || !etagListMatches(ifMatch, obj.ETag)) {
		return errConditionNotMet()
	}
	if ifNoneMatch != "" && exists && etagListMatches(ifNoneMatch, obj.ETag) {
		return errBlobAlreadyExists()
	}
	return nil
}

// get is Get Blob (GET) and Get Blob Properties (HEAD).
func (f *Face) get(w http.ResponseWriter, r *http.Request, v verified, sp store.Space, path string) error {
	if err := f.checkAccess(sp, false); err != nil {
		return err
	}
	rd, err := f.store.Open(r.Context(), sp, path)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrIsDir) || errors.Is(err, store.ErrInvalidPath) {
			return errBlobNotFound()
		}
		f.log.Error("get blob: open", "path", r.URL.Path, "err", err)
		return errInternalError()
	}
	defer rd.Close()
	obj := rd.Object

	h := w.Header()
	h.Set("ETag", obj.ETag)
	h.Set("Last-Modified", obj.Modified.UTC().Format(http.TimeFormat))
	status, err := getConditions(r, obj)
	if err != nil {
		return err
	}
	if status == http.StatusNotModified {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}

	ct := obj.ContentType
	if ct == "" {
		ct = store.DefaultContentType
	}
	h.Set("Content-Type", ct)
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("x-ms-lease-state", "available")
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-server-encrypted", "true")
	// Response-header overrides are signed SAS fields, so they are honoured.
	for _, o := range [...]struct{ val, header string }{
		{v.rsct, "Content-Type"}, {v.rscd, "Content-Disposition"}, {v.rsce, "Content-Encoding"},
		{v.rscl, "Content-Language"}, {v.rscc, "Cache-Control"},
	} {
		if o.val != "" {
			h.Set(o.header, o.val)
		}
	}

	if r.Method == http.MethodHead {
		// Get Blob Properties ignores Range.
		h.Set("Content-Length", strconv.FormatInt(obj.Size, 10))
		w.WriteHeader(http.StatusOK)
		return nil
	}

	start, n, status := int64(0), obj.Size, http.StatusOK
	// x-ms-range wins over Range, as in Azure.
	spec, header := r.Header.Get("x-ms-range"), "x-ms-range"
	if spec == "" {
		spec, header = r.Header.Get("Range"), "Range"
	}
	if spec != "" {
		s, l, res := parseRange(spec, obj.Size)
		switch res {
		case rangeOK:
			start, n, status = s, l, http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", s, s+l-1, obj.Size))
		case rangeUnsatisfiable:
			return errInvalidRange(obj.Size)
		case rangeMalformed:
			// A malformed Range is ignored, as HTTP says; Azure's own
			// header is validated.
			if header == "x-ms-range" {
				return errInvalidHeaderValue("x-ms-range", spec)
			}
		}
	}
	if start > 0 {
		if _, err := rd.Seek(start, io.SeekStart); err != nil {
			f.log.Error("get blob: seek", "path", r.URL.Path, "err", err)
			return errInternalError()
		}
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	// Copy from the store's own reader so that the response writer can use
	// sendfile for a plain file.
	if _, err := io.Copy(w, io.LimitReader(rd.ReadSeekCloser, n)); err != nil {
		f.log.Debug("get blob: copy ended early", "path", r.URL.Path, "err", err)
	}
	return nil
}

// getConditions evaluates the conditional headers of a read in RFC 9110
// order: it returns a 412 refusal, or 304, or 200 to go on.
func getConditions(r *http.Request, obj store.Object) (int, error) {
	mod := obj.Modified.UTC().Truncate(time.Second)
	if im := r.Header.Get("If-Match"); im != "" {
		if !etagListMatches(im, obj.ETag) {
			return 0, errConditionNotMet()
		}
	} else if ius := r.Header.Get("If-Unmodified-Since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && mod.After(t) {
			return 0, errConditionNotMet()
		}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if etagListMatches(inm, obj.ETag) {
			return http.StatusNotModified, nil
		}
	} else if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !mod.After(t) {
			return http.StatusNotModified, nil
		}
	}
	return http.StatusOK, nil
}

// etagListMatches reports whether a comma-separated If-Match/If-None-Match
// list holds "*" or etag (weak prefixes ignored).
func etagListMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag || t == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

type rangeResult int

const (
	rangeOK rangeResult = iota
	rangeMalformed
	rangeUnsatisfiable
)

// parseRange parses one byte range ("bytes=a-b", "bytes=a-", "bytes=-n") of
// a blob of size bytes into its start and length. Azure serves a single range
// only, so a list of ranges is malformed.
func parseRange(spec string, size int64) (start, length int64, res rangeResult) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(spec), "bytes=")
	if !ok || strings.Contains(rest, ",") {
		return 0, 0, rangeMalformed
	}
	a, b, ok := strings.Cut(strings.TrimSpace(rest), "-")
	if !ok {
		return 0, 0, rangeMalformed
	}
	if a == "" { // suffix: the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, rangeMalformed
		}
		if n == 0 || size == 0 {
			return 0, 0, rangeUnsatisfiable
		}
		n = min(n, size)
		return size - n, n, rangeOK
	}
	s, err := strconv.ParseInt(a, 10, 64)
	if err != nil || s < 0 {
		return 0, 0, rangeMalformed
	}
	end := size - 1
	if b != "" {
		e, err := strconv.ParseInt(b, 10, 64)
		if err != nil || e < s {
			return 0, 0, rangeMalformed
		}
		end = min(e, size-1)
	}
	if s >= size {
		return 0, 0, rangeUnsatisfiable
	}
	return s, end - s + 1, rangeOK
}
