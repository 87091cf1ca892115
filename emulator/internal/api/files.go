package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// MaxContentLength is the largest file the Files API accepts (SPEC U-3).
const MaxContentLength int64 = 10 << 30 // 10737418240

// timeFormat is RFC 3339 in UTC with second precision, as the seed shows.
const timeFormat = "2006-01-02T15:04:05Z"

// sourceRequest is the part every Files API body shares.
type sourceRequest struct {
	Source *string `json:"source"`
	ID     *string `json:"id"`
	Path   *string `json:"path"`
}

// access is what a request wants to do with its space.
type access int

const (
	readAccess   access = iota // the space must exist
	writeAccess                // a thread may be new; a volume must be writable
	deleteAccess               // the space must exist and be writable
)

// target validates source and id (SPEC S-1, P-2) into a space of the
// caller's organisation (SPEC A-2), without looking it up.
func target(ctx context.Context, req sourceRequest) (store.Space, error) {
	return targetOf(keyFrom(ctx).Org, req)
}

// targetOf validates source and id into a space of org.
func targetOf(org string, req sourceRequest) (store.Space, error) {
	if req.Source == nil || *req.Source == "" {
		return store.Space{}, validationf(`source is required: "thread" or "volume"`)
	}
	sp := store.Space{Org: org}
	switch *req.Source {
	case "thread":
		sp.Kind = store.Thread
	case "volume":
		sp.Kind = store.Volume
	default:
		return store.Space{}, validationf(`source must be "thread" or "volume", not %q`, *req.Source)
	}
	if req.ID == nil || *req.ID == "" {
		return store.Space{}, validationf("id is required: the thread ID or volume slug")
	}
	sp.ID = *req.ID
	if err := store.ValidID(sp.ID); err != nil {
		return store.Space{}, validationf("id %q is invalid: must be 1 to %d characters of [A-Za-z0-9._-]", sp.ID, store.MaxIDBytes)
	}
	return sp, nil
}

// resolve checks that a space of the caller's organisation exists and
// allows the access (SPEC A-3, L-5, U-4, X-2); other organisations' spaces
// are simply not found.
func (s *Server) resolve(sp store.Space, acc access) error {
	if sp.Kind == store.Thread {
		if acc == writeAccess {
			return nil // an upload creates the thread (SPEC S-4)
		}
		ok, err := s.Store.Exists(sp)
		if err != nil {
			return fmt.Errorf("look up thread %q: %w", sp.ID, err)
		}
		if !ok {
			return notFoundf("thread %q not found", sp.ID)
		}
		return nil
	}
	v, ok := s.Tenants.Volume(sp.Org, sp.ID)
	if !ok {
		return notFoundf("volume %q not found", sp.ID)
	}
	if acc != readAccess && v.ReadOnly {
		verb := "write to"
		if acc == deleteAccess {
			verb = "delete from"
		}
		return errorf(CodeForbidden, "volume %q is read-only: cannot %s it", sp.ID, verb)
	}
	return nil
}

// filePath validates a required file path (SPEC P-1).
func filePath(p *string) (string, error) {
	if p == nil || *p == "" {
		return "", validationf("path is required")
	}
	if err := store.ValidPath(*p); err != nil {
		return "", validationf("path %q is invalid: %s", *p, strings.TrimPrefix(err.Error(), store.ErrInvalidPath.Error()+": "))
	}
	return *p, nil
}

// listPrefix validates the optional prefix of a listing: a path, or a path
// with one trailing '/' (the seed's "data/").
func listPrefix(p *string) (string, error) {
	if p == nil || *p == "" {
		return "", nil
	}
	if err := store.ValidPath(strings.TrimSuffix(*p, "/")); err != nil {
		return "", validationf("path %q is invalid: %s", *p, strings.TrimPrefix(err.Error(), store.ErrInvalidPath.Error()+": "))
	}
	return *p, nil
}

// storeError maps store errors to the envelope.
func storeError(err error, sp store.Space, p string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFoundf("file %q not found in %s %q", p, sp.Kind, sp.ID)
	case errors.Is(err, store.ErrInvalidPath):
		return validationf("path %q: %v", p, err)
	}
	return err
}

// fileEntry is one entry of a listing as the API shows it; appendListJSON
// writes exactly what json.Marshal writes for it.
type fileEntry struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	Modified    string `json:"modified"`
	IsDirectory bool   `json:"is_directory"`
}

// listSpace resolves sp for reading and lists it under prefix: a space
// that does not exist is a 404 (for /v1/files/list and the dashboard's
// /_emulator/files alike).
func (s *Server) listSpace(ctx context.Context, sp store.Space, prefix string) ([]store.Entry, error) {
	if err := s.resolve(sp, readAccess); err != nil {
		return nil, err
	}
	entries, err := s.Store.List(ctx, sp, prefix)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("%s %q not found", sp.Kind, sp.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("list %s %q: %w", sp.Kind, sp.ID, err)
	}
	return entries, nil
}

// handleList is POST /v1/files/list (SPEC L-1..L-5).
func (s *Server) handleList(w http.ResponseWriter, r *http.Request) error {
	var req sourceRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	sp, err := target(r.Context(), req)
	if err != nil {
		return err
	}
	prefix, err := listPrefix(req.Path)
	if err != nil {
		return err
	}
	entries, err := s.listSpace(r.Context(), sp, prefix)
	if err != nil {
		return err
	}
	size := 16
	for _, e := range entries {
		size += len(e.Name) + len(e.Path) + 96
	}
	writeBody(w, http.StatusOK, appendListJSON(make([]byte, 0, size+1), entries))
	return nil
}

type uploadRequest struct {
	sourceRequest
	ContentType   *string         `json:"content_type"`
	ContentLength json.RawMessage `json:"content_length"`
}

type signedResponse struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt string            `json:"expires_at"`
}

func signedJSON(sg face.Signed) signedResponse {
	h := sg.Headers
	if h == nil {
		h = map[string]string{}
	}
	return signedResponse{URL: sg.URL, Method: sg.Method, Headers: h, ExpiresAt: sg.ExpiresAt.UTC().Format(timeFormat)}
}

// writeSigned answers 200 with a signed URL, written from a pooled buffer
// (the writer copies what it is given).
func writeSigned(w http.ResponseWriter, sg face.Signed) {
	bp := signedBufs.Get().(*[]byte)
	b := appendSignedJSON((*bp)[:0], signedJSON(sg))
	writeBody(w, http.StatusOK, b)
	if cap(b) <= signedBufMax {
		*bp = b[:0]
		signedBufs.Put(bp)
	}
}

// signedBufs are writeSigned's buffers; one that grew past signedBufMax
// (a URL with a very long path) is left to the collector.
var signedBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const signedBufMax = 16 << 10

// contentLength validates content_length (SPEC U-3).
func contentLength(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, validationf("content_length is required: the exact file size in bytes (maximum %d bytes)", MaxContentLength)
	}
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return 0, validationf("content_length must be an integer number of bytes, not %s", raw)
	}
	if v, ok := plainDigits(raw); ok {
		if v > MaxContentLength {
			return 0, validationf("content_length exceeds maximum of %d bytes (10 GiB)", MaxContentLength)
		}
		return v, nil
	}
	n := json.Number(raw)
	v, err := n.Int64()
	if err != nil {
		if strings.ContainsAny(n.String(), ".eE") {
			return 0, validationf("content_length must be a whole number of bytes, not %s", n)
		}
		if strings.HasPrefix(n.String(), "-") {
			return 0, validationf("content_length must not be negative, got %s", n)
		}
		return 0, validationf("content_length exceeds maximum of %d bytes (10 GiB)", MaxContentLength)
	}
	switch {
	case v < 0:
		return 0, validationf("content_length must not be negative, got %d", v)
	case v > MaxContentLength:
		return 0, validationf("content_length exceeds maximum of %d bytes (10 GiB)", MaxContentLength)
	}
	return v, nil
}

// plainDigits is the value of raw if it is 1 to 18 decimal digits (what
// json.Number's Int64 would return, without making a string of it).
func plainDigits(raw []byte) (int64, bool) {
	if len(raw) == 0 || len(raw) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// handleUploadURL is POST /v1/files/upload_url (SPEC U-1..U-4).
func (s *Server) handleUploadURL(w http.ResponseWriter, r *http.Request) error {
	var req uploadRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	// Every field is validated before the space is looked up, so a bad
	// request is a 400 whatever the space.
	sp, err := target(r.Context(), req.sourceRequest)
	if err != nil {
		return err
	}
	p, err := filePath(req.Path)
	if err != nil {
		return err
	}
	n, err := contentLength(req.ContentLength)
	if err != nil {
		return err
	}
	ct := store.DefaultContentType
	if req.ContentType != nil && *req.ContentType != "" {
		ct = *req.ContentType
		if !plainMediaType(ct) && !validMediaType(ct) {
			return validationf("content_type %q is not a valid MIME type", ct)
		}
	}
	if err := s.resolve(sp, writeAccess); err != nil {
		return err
	}
	if err := s.checkUpload(r.Context(), sp, p, n); err != nil {
		return err
	}
	sg, err := s.signer(r).SignUpload(sp, p, ct, n)
	if err != nil {
		return fmt.Errorf("sign upload URL: %w", err)
	}
	writeSigned(w, sg)
	return nil
}

// validMediaType reports whether ct is a MIME type a signed URL can carry.
func validMediaType(ct string) bool {
	_, _, err := mime.ParseMediaType(ct)
	return err == nil && !strings.ContainsAny(ct, "\r\n")
}

// plainMediaType reports whether ct is type/subtype with no parameters, of
// token characters only: what validMediaType accepts without parsing (the
// common case, "application/json").
func plainMediaType(ct string) bool {
	typ, sub, ok := strings.Cut(ct, "/")
	return ok && isToken(typ) && isToken(sub)
}

// isToken reports whether s is a non-empty RFC 2045 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// occupier is a store that looks up, at once, what upload_url checks: the
// size of the file an upload would replace and the bytes its space holds
// (the file store: store.Store.Occupancy).
type occupier interface {
	Occupancy(ctx context.Context, sp store.Space, p string, withUsage bool) (size, used int64, err error)
}

// checkUpload refuses an upload of n bytes to p that cannot be made: p is
// a directory, or the upload would take the space over its size limit
// (thread_quota_mib, or the volume's quota_mib); it grows the space by n
// less the size of the file it replaces.
func (s *Server) checkUpload(ctx context.Context, sp store.Space, p string, n int64) error {
	limit, name := s.Tenants.ThreadQuotaBytes(sp.Org), "thread_quota_mib"
	if sp.Kind == store.Volume {
		v, _ := s.Tenants.Volume(sp.Org, sp.ID)
		limit, name = v.QuotaBytes(), "quota_mib"
	}
	var oldSize, used int64
	var err error
	if o, ok := s.Store.(occupier); ok {
		oldSize, used, err = o.Occupancy(ctx, sp, p, limit > 0)
		if errors.Is(err, store.ErrIsDir) {
			return validationf("path %q is a directory", p)
		}
		if err != nil {
			return fmt.Errorf("size of %s %q: %w", sp.Kind, sp.ID, err)
		}
	} else {
		oldSize, err = s.Store.Size(ctx, sp, p)
		if errors.Is(err, store.ErrIsDir) {
			return validationf("path %q is a directory", p)
		}
		if err != nil {
			oldSize = 0 // nothing there that the upload would replace
		}
		if limit > 0 && n-oldSize > 0 {
			if used, err = s.Store.Usage(ctx, sp); err != nil {
				return fmt.Errorf("size of %s %q: %w", sp.Kind, sp.ID, err)
			}
		}
	}
	grow := n - oldSize
	if limit <= 0 || grow <= 0 {
		return nil
	}
	if used+grow > limit {
		return validationf("content_length: uploading %q would take %s %q to %d bytes, over its size limit of %d MiB (%s); it holds %d bytes",
			p, sp.Kind, sp.ID, used+grow, limit>>20, name, used)
	}
	return nil
}

// fileTarget decodes a {source, id, path} body naming one file and
// resolves it for the access.
func (s *Server) fileTarget(w http.ResponseWriter, r *http.Request, acc access) (store.Space, string, error) {
	var req sourceRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return store.Space{}, "", err
	}
	return s.resolveFile(r.Context(), req, acc)
}

// resolveFile validates a {source, id, path} naming one file of the
// caller's organisation and resolves its space for the access (/mcp's
// files_download resolves here too).
func (s *Server) resolveFile(ctx context.Context, req sourceRequest, acc access) (store.Space, string, error) {
	sp, err := target(ctx, req)
	if err != nil {
		return store.Space{}, "", err
	}
	p, err := filePath(req.Path)
	if err != nil {
		return store.Space{}, "", err
	}
	if err := s.resolve(sp, acc); err != nil {
		return store.Space{}, "", err
	}
	return sp, p, nil
}

// handleDownloadURL is POST /v1/files/download_url (SPEC D-1, D-2).
func (s *Server) handleDownloadURL(w http.ResponseWriter, r *http.Request) error {
	sp, p, err := s.fileTarget(w, r, readAccess)
	if err != nil {
		return err
	}
	sg, _, err := s.signDownload(r.Context(), sp, p)
	if err != nil {
		return err
	}
	writeSigned(w, sg)
	return nil
}

// signDownload signs a download URL for a file of a resolved space; a
// directory or a missing file is 404 (SPEC D-2). /mcp's files_download
// signs here too.
func (s *Server) signDownload(ctx context.Context, sp store.Space, p string) (face.Signed, store.Object, error) {
	obj, err := s.Store.Stat(ctx, sp, p)
	if err != nil {
		if errors.Is(err, store.ErrIsDir) {
			return face.Signed{}, obj, notFoundf("path %q in %s %q is a directory, not a file", p, sp.Kind, sp.ID)
		}
		return face.Signed{}, obj, storeError(err, sp, p)
	}
	sg, err := face.SignerFor(ctx, s.Face).SignDownload(sp, p)
	if err != nil {
		return face.Signed{}, obj, fmt.Errorf("sign download URL: %w", err)
	}
	return sg, obj, nil
}

// handleDelete is DELETE /v1/files (SPEC X-1..X-3).
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) error {
	sp, p, err := s.fileTarget(w, r, deleteAccess)
	if err != nil {
		return err
	}
	if err := s.Store.Delete(r.Context(), sp, p); err != nil {
		if errors.Is(err, store.ErrIsDir) {
			return validationf("path %q is a directory; deletion is not recursive, delete its files", p)
		}
		return storeError(err, sp, p)
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"deleted": true})
}

// rfc3339 formats t as the API does.
func rfc3339(t time.Time) string { return t.UTC().Format(timeFormat) }
