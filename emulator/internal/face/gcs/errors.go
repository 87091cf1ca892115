package gcs

// GCS's refusals: one constructor per code the face answers with, and the
// one writer of GCS's XML error body.

import (
	"encoding/xml"
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
)

// gcsError is a refusal in GCS's XML API format: an HTTP status, GCS's
// code and fixed message, a detail saying what failed, and, for some codes,
// further elements (the string GCS signed) and headers (Allow).
type gcsError struct {
	status  int
	code    string
	message string
	details string
	extra   []element
	header  http.Header
}

func (e *gcsError) Error() string { return e.code + ": " + e.details }

// element is one extra child of <Error> after Details; empty ones are left
// out.
type element struct{ name, text string }

const msgAccessDenied = "Access denied."

func errMissingContentLength() *gcsError {
	return &gcsError{status: http.StatusLengthRequired, code: "MissingContentLength",
		message: "You must provide the Content-Length HTTP header.",
		details: "a PUT to a signed URL needs a Content-Length header (not chunked transfer encoding)"}
}

// errAnonymous is the refusal of a URL with no signature at all.
func errAnonymous() *gcsError {
	return errAccessDenied("Anonymous caller does not have access to the Google Cloud Storage object: the URL carries no X-Goog-Signature")
}

func errAccessDenied(details string) *gcsError {
	return &gcsError{status: http.StatusForbidden, code: "AccessDenied", message: msgAccessDenied, details: details}
}

func errExpiredToken(expiredAt time.Time) *gcsError {
	return &gcsError{status: http.StatusBadRequest, code: "ExpiredToken", message: "The provided token has expired.",
		details: "Request signature expired at: " + expiredAt.Format("2006-01-02T15:04:05-07:00")}
}

func errMalformedSecurityHeader(details, param string) *gcsError {
	return &gcsError{status: http.StatusBadRequest, code: "MalformedSecurityHeader",
		message: "Your request has a malformed header.", details: details,
		extra: []element{{"ParameterName", param}}}
}

// errCredentialMismatch is SignatureDoesNotMatch for a credential (key,
// date, scope) other than the one the face signs with.
func errCredentialMismatch(details string) *gcsError {
	return &gcsError{status: http.StatusForbidden, code: "SignatureDoesNotMatch", message: msgAccessDenied,
		details: "The request signature we calculated does not match the signature you provided: " + details}
}

// errSignatureDoesNotMatch carries what the face signed, as GCS does, so
// that a client can see how its request differs.
func errSignatureDoesNotMatch(stringToSign, canonicalRequest string) *gcsError {
	return &gcsError{status: http.StatusForbidden, code: "SignatureDoesNotMatch", message: msgAccessDenied,
		details: "The request signature we calculated does not match the signature you provided. Check your Google secret key and signing method.",
		extra:   []element{{"StringToSign", stringToSign}, {"CanonicalRequest", canonicalRequest}}}
}

func errNoSuchBucket(details string) *gcsError {
	return &gcsError{status: http.StatusNotFound, code: "NoSuchBucket", message: "The specified bucket does not exist.", details: details}
}

func errNoSuchKey(key string) *gcsError {
	return &gcsError{status: http.StatusNotFound, code: "NoSuchKey", message: "The specified key does not exist.",
		details: fmt.Sprintf("No such object: %s/%s", face.Bucket, key)}
}

func errInvalidArgument(details string) *gcsError {
	return &gcsError{status: http.StatusBadRequest, code: "InvalidArgument", message: "Invalid argument.", details: details}
}

func errMethodNotAllowed(method string) *gcsError {
	return &gcsError{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed",
		message: "The specified method is not allowed against this resource.",
		details: fmt.Sprintf("%s is not supported by this emulator's GCS face; use GET, HEAD or PUT", method),
		header:  http.Header{"Allow": {"GET, HEAD, PUT"}}}
}

func errIncompleteBody(key string, err error) *gcsError {
	return &gcsError{status: http.StatusBadRequest, code: "IncompleteBody",
		message: "You did not provide the number of bytes specified by the Content-Length HTTP header.",
		details: fmt.Sprintf("Upload of %s was incomplete; nothing was stored: %v", key, err)}
}

// errDirectoryConflict refuses an object whose name is a directory in the
// store: GCS has no directories, Baponi's storage does.
func errDirectoryConflict(key string) *gcsError {
	return &gcsError{status: http.StatusConflict, code: "Conflict", message: "A directory exists at this name.",
		details: fmt.Sprintf("%s is a directory in the emulator's store", key)}
}

func errInvalidRange(rangeHeader string) *gcsError {
	return &gcsError{status: http.StatusRequestedRangeNotSatisfiable, code: "InvalidRange",
		message: "The requested range cannot be satisfied.",
		details: fmt.Sprintf("Range %q is not satisfiable for an object of this size", rangeHeader)}
}

func errInternal(err error) *gcsError {
	return &gcsError{status: http.StatusInternalServerError, code: "InternalError",
		message: "We encountered an internal error. Please try again.", details: err.Error()}
}

// writeError writes err as a GCS XML error:
// <Error><Code/><Message/><Details/>[extra...]</Error>. An error that is not
// a refusal is an internal error, logged. HEAD gets the headers only.
func (f *Face) writeError(w *reqlog.Recorder, r *http.Request, err error) {
	var e *gcsError
	if !errors.As(err, &e) {
		f.log.LogAttrs(r.Context(), slog.LevelError, "gcs request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		e = errInternal(err)
	}
	var b strings.Builder
	b.WriteString("<?xml version='1.0' encoding='UTF-8'?><Error>")
	writeElem(&b, "Code", e.code)
	writeElem(&b, "Message", e.message)
	writeElem(&b, "Details", e.details)
	for _, x := range e.extra {
		if x.text != "" {
			writeElem(&b, x.name, x.text)
		}
	}
	b.WriteString("</Error>")
	w.Code = e.code
	h := w.Header()
	for k, vs := range e.header {
		h[k] = vs
	}
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	h.Del("ETag")
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, b.String()) // a failed write means the client left
	}
}

func writeElem(b *strings.Builder, name, text string) {
	b.WriteString("<" + name + ">")
	xml.EscapeText(b, []byte(text)) // a strings.Builder never fails to write
	b.WriteString("</" + name + ">")
}
