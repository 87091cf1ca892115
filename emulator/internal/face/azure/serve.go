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
	rec := &recorder{ResponseWriter: w}
	h := w.Header()
	h.Set("x-ms-request-id", reqID)
	h.Set("x-ms-version", responseVersion(r))
	h.Set("Date", f.clk.Now().Format(http.TimeFormat))

	code := ""
	if e := f.serve(rec, r); e != nil {
		code = e.code
		f.writeError(rec, r, reqID, e)
	}
	// The query holds the signature, a credential: log the path only.
	f.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", rec.status), slog.String("code", code),
		slog.Int64("bytes_in", max(r.ContentLength, 0)), slog.Int64("bytes_out", rec.bytes),
		slog.String("request_id", reqID), slog.Duration("took", time.Since(began)))
}

// serve handles one request; a non-nil result is the refusal to send (the
// response has not been started then).
func (f *Face) serve(w http.ResponseWriter, r *http.Request) *azError {
	account, container, blob, ok := splitPath(r.URL.Path)
	if !ok {
		return &azError{status: http.StatusBadRequest, code: "InvalidUri",
			message: "The requested URI does not represent any resource on the server."}
	}
	q := r.URL.Query()
	if !hasSAS(q) {
		if r.Header.Get("Authorization") != "" {
			return authFailed("localbaponi authorises blob requests by SAS only; Shared Key and OAuth authorization are not supported")
		}
		return resourceNotFound()
	}
	v, e := f.verify(r, account, container, blob)
	if e != nil {
		return e
	}

	// Azure checks the SAS permission for the operation before looking at
	// the operation's own headers.
	switch r.Method {
	case http.MethodPut:
		if !strings.ContainsAny(v.perms, "cw") {
			return permissionMismatch()
		}
	case http.MethodGet, http.MethodHead:
		if !strings.Contains(v.perms, "r") {
			return permissionMismatch()
		}
	case http.MethodDelete:
		if !strings.Contains(v.perms, "d") {
			return permissionMismatch()
		}
		return unsupportedVerb()
	default:
		return unsupportedVerb()
	}
	if q.Has("comp") {
		// Put Block, Put Block List, Get Blob Tags, ...: clients that send
		// one Put Blob (curl, the SDK's Upload) never need them.
		return &azError{status: http.StatusBadRequest, code: "InvalidQueryParameterValue",
			message: "Value for one of the query parameters specified in the request URI is invalid.",
			extra: [][2]string{{"QueryParameterName", "comp"}, {"QueryParameterValue", q.Get("comp")},
				{"Reason", "localbaponi serves Put Blob, Get Blob and Get Blob Properties only"}}}
	}
	if container != face.Bucket {
		return containerNotFound()
	}
	sp, path, err := store.ParseObjectKey(blob)
	if r.Method == http.MethodPut {
		if err != nil {
			return invalidResourceName()
		}
		return f.put(w, r, v, sp, path)
	}
	if err != nil {
		return blobNotFound()
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
func (f *Face) put(w http.ResponseWriter, r *http.Request, v verified, sp store.Space, path string) *azError {
	switch bt := r.Header.Get("x-ms-blob-type"); bt {
	case "BlockBlob":
	case "":
		return missingHeader("x-ms-blob-type")
	default:
		// PageBlob and AppendBlob are real Azure types, but not Baponi's.
		return invalidHeader("x-ms-blob-type", bt)
	}
	if r.ContentLength < 0 {
		return &azError{status: http.StatusLengthRequired, code: "MissingContentLengthHeader",
			message: "The Content-Length header was not specified."}
	}
	ct := blobContentType(r)
	if v.binding != nil {
		if e := v.binding.match(r.ContentLength, ct); e != nil {
			return e
		}
	}
	if e := f.checkAccess(sp, true); e != nil {
		return e
	}
	if f.strict && r.ContentLength > MaxPutBlobBytes {
		return &azError{status: http.StatusRequestEntityTooLarge, code: "RequestBodyTooLarge",
			message: "The request body is too large and exceeds the maximum permissible limit.",
			extra:   [][2]string{{"MaxLimit", strconv.FormatInt(MaxPutBlobBytes, 10)}}}
	}
	if e := f.checkPutConditions(r.Context(), r, v, sp, path); e != nil {
		return e
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
			return &azError{status: http.StatusBadRequest, code: "InvalidInput",
				message: "One of the request inputs is not valid."}
		case errors.Is(err, store.ErrIsDir):
			// Azure has no directories; Baponi's storage does, so a blob
			// cannot be both a file and a prefix of another file. ADLS
			// (hierarchical namespace) answers this with PathConflict.
			return &azError{status: http.StatusConflict, code: "PathConflict",
				message: "The specified path, or an element of the path, exists and its resource type is invalid for this operation."}
		case errors.Is(err, store.ErrInvalidPath):
			return invalidResourceName()
		case r.Context().Err() != nil:
			f.log.Debug("put blob: client went away; nothing stored", "path", r.URL.Path, "err", err)
			return internalError()
		default:
			f.log.Error("put blob", "path", r.URL.Path, "err", err)
			return internalError()
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
	return "application/octet-stream"
}

// checkAccess asks Config.Access about the space.
func (f *Face) checkAccess(sp store.Space, write bool) *azError {
	if f.access == nil {
		return nil
	}
	err := f.access(sp, write)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, face.ErrReadOnly):
		return permissionMismatch()
	case errors.Is(err, face.ErrNoSpace):
		if write {
			return containerNotFound()
		}
		return blobNotFound()
	default:
		f.log.Error("access check", "space", sp.Key(), "err", err)
		return internalError()
	}
}

// checkPutConditions applies what depends on whether the blob already
// exists: a create-only SAS (sp has 'c' but not 'w') cannot overwrite, and
// If-Match / If-None-Match. The check and the Put are not atomic: a
// concurrent writer can slip in between, which Azure would prevent.
func (f *Face) checkPutConditions(ctx context.Context, r *http.Request, v verified, sp store.Space, path string) *azError {
	createOnly := !strings.Contains(v.perms, "w")
	ifMatch, ifNoneMatch := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	if !createOnly && ifMatch == "" && ifNoneMatch == "" {
		return nil
	}
	obj, err := f.store.Stat(ctx, sp, path)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrIsDir) {
		f.log.Error("put blob: stat", "path", r.URL.Path, "err", err)
		return internalError()
	}
	if createOnly && exists {
		return permissionMismatch()
	}
	if ifMatch != "" && (!exists || !etagListMatches(ifMatch, obj.ETag)) {
		return conditionNotMet()
	}
	if ifNoneMatch != "" && exists && etagListMatches(ifNoneMatch, obj.ETag) {
		return &azError{status: http.StatusConflict, code: "BlobAlreadyExists", message: "The specified blob already exists."}
	}
	return nil
}

// get is Get Blob (GET) and Get Blob Properties (HEAD).
func (f *Face) get(w http.ResponseWriter, r *http.Request, v verified, sp store.Space, path string) *azError {
	if e := f.checkAccess(sp, false); e != nil {
		return e
	}
	rd, err := f.store.Open(r.Context(), sp, path)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrIsDir) || errors.Is(err, store.ErrInvalidPath) {
			return blobNotFound()
		}
		f.log.Error("get blob: open", "path", r.URL.Path, "err", err)
		return internalError()
	}
	defer rd.Close()
	obj := rd.Object

	h := w.Header()
	h.Set("ETag", obj.ETag)
	h.Set("Last-Modified", obj.Modified.UTC().Format(http.TimeFormat))
	status, e := getConditions(r, obj)
	if e != nil {
		return e
	}
	if status == http.StatusNotModified {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}

	ct := obj.ContentType
	if ct == "" {
		ct = "application/octet-stream"
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
			return &azError{status: http.StatusRequestedRangeNotSatisfiable, code: "InvalidRange",
				message: "The range specified is invalid for the current size of the resource.",
				header:  [][2]string{{"Content-Range", fmt.Sprintf("bytes */%d", obj.Size)}}}
		case rangeMalformed:
			// A malformed Range is ignored, as HTTP says; Azure's own
			// header is validated.
			if header == "x-ms-range" {
				return invalidHeader("x-ms-range", spec)
			}
		}
	}
	if start > 0 {
		if _, err := rd.Seek(start, io.SeekStart); err != nil {
			f.log.Error("get blob: seek", "path", r.URL.Path, "err", err)
			return internalError()
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
func getConditions(r *http.Request, obj store.Object) (int, *azError) {
	mod := obj.Modified.UTC().Truncate(time.Second)
	if im := r.Header.Get("If-Match"); im != "" {
		if !etagListMatches(im, obj.ETag) {
			return 0, conditionNotMet()
		}
	} else if ius := r.Header.Get("If-Unmodified-Since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && mod.After(t) {
			return 0, conditionNotMet()
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

func unsupportedVerb() *azError {
	return &azError{status: http.StatusMethodNotAllowed, code: "UnsupportedHttpVerb",
		message: "The resource doesn't support specified Http Verb.",
		header:  [][2]string{{"Allow", "GET, HEAD, PUT"}}}
}

func invalidResourceName() *azError {
	return &azError{status: http.StatusBadRequest, code: "InvalidResourceName",
		message: "The specified resource name contains invalid characters."}
}

// recorder remembers the status and body size of a response for the log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the underlying writer's ReadFrom (sendfile) reachable
// through the recorder.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := io.Copy(r.ResponseWriter, src)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
