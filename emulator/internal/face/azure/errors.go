package azure

// Azure's refusals: one constructor per code the face answers with, and the
// one writer of Azure Storage's XML error body.

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/localbaponi/localbaponi/emulator/internal/reqlog"
)

// azError is a refusal in Azure Storage's format: an HTTP status, an error
// code (also sent as x-ms-error-code), the fixed message Azure uses for that
// code and, for authentication failures, a detail saying what failed.
type azError struct {
	status  int
	code    string
	message string
	detail  string      // AuthenticationErrorDetail; empty for other errors
	extra   [][2]string // further elements Azure adds for some codes, e.g. HeaderName
	header  [][2]string // further response headers, e.g. Content-Range
}

func (e *azError) Error() string { return e.code + ": " + e.message }

// Azure's messages for the codes the face uses.
const (
	msgAuthFailed = "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature."
	msgPermission = "This request is not authorized to perform this operation using this permission."
)

// errAuthenticationFailed is the refusal of a SAS that is incomplete,
// malformed, tampered with or outside its time window; detail says which.
func errAuthenticationFailed(detail string) *azError {
	return &azError{status: http.StatusForbidden, code: "AuthenticationFailed", message: msgAuthFailed, detail: detail}
}

// errCorsPreflightFailure refuses a preflight that no CORS rule allows.
func errCorsPreflightFailure() *azError {
	return &azError{status: http.StatusForbidden, code: "CorsPreflightFailure",
		message: "CORS not enabled or no matching rule found for this request."}
}

func errAuthorizationPermissionMismatch() *azError {
	return &azError{status: http.StatusForbidden, code: "AuthorizationPermissionMismatch", message: msgPermission}
}

func errAuthorizationProtocolMismatch() *azError {
	return &azError{status: http.StatusForbidden, code: "AuthorizationProtocolMismatch",
		message: "This request is not authorized to perform this operation using this protocol."}
}

func errAuthorizationSourceIPMismatch(ip string) *azError {
	return &azError{status: http.StatusForbidden, code: "AuthorizationSourceIPMismatch",
		message: "This request is not authorized to perform this operation using this source IP " + ip + "."}
}

func errBlobNotFound() *azError {
	return &azError{status: http.StatusNotFound, code: "BlobNotFound", message: "The specified blob does not exist."}
}

func errContainerNotFound() *azError {
	return &azError{status: http.StatusNotFound, code: "ContainerNotFound", message: "The specified container does not exist."}
}

func errResourceNotFound() *azError {
	return &azError{status: http.StatusNotFound, code: "ResourceNotFound", message: "The specified resource does not exist."}
}

func errInvalidURI() *azError {
	return &azError{status: http.StatusBadRequest, code: "InvalidUri",
		message: "The requested URI does not represent any resource on the server."}
}

func errInvalidResourceName() *azError {
	return &azError{status: http.StatusBadRequest, code: "InvalidResourceName",
		message: "The specified resource name contains invalid characters."}
}

func errInvalidQueryParameterValue(name, value, reason string) *azError {
	return &azError{status: http.StatusBadRequest, code: "InvalidQueryParameterValue",
		message: "Value for one of the query parameters specified in the request URI is invalid.",
		extra:   [][2]string{{"QueryParameterName", name}, {"QueryParameterValue", value}, {"Reason", reason}}}
}

func errMissingRequiredHeader(name string) *azError {
	return &azError{status: http.StatusBadRequest, code: "MissingRequiredHeader",
		message: "An HTTP header that's mandatory for this request is not specified.",
		extra:   [][2]string{{"HeaderName", name}}}
}

func errInvalidHeaderValue(name, value string) *azError {
	return &azError{status: http.StatusBadRequest, code: "InvalidHeaderValue",
		message: "The value for one of the HTTP headers is not in the correct format.",
		extra:   [][2]string{{"HeaderName", name}, {"HeaderValue", value}}}
}

func errMissingContentLengthHeader() *azError {
	return &azError{status: http.StatusLengthRequired, code: "MissingContentLengthHeader",
		message: "The Content-Length header was not specified."}
}

func errRequestBodyTooLarge(maxLimit int64) *azError {
	return &azError{status: http.StatusRequestEntityTooLarge, code: "RequestBodyTooLarge",
		message: "The request body is too large and exceeds the maximum permissible limit.",
		extra:   [][2]string{{"MaxLimit", strconv.FormatInt(maxLimit, 10)}}}
}

// errInvalidInput refuses a body shorter than its Content-Length.
func errInvalidInput() *azError {
	return &azError{status: http.StatusBadRequest, code: "InvalidInput",
		message: "One of the request inputs is not valid."}
}

// errPathConflict refuses a blob whose name is a directory in the store, or
// runs through a file: Azure has no directories, Baponi's storage does, and
// ADLS (hierarchical namespace) answers this with PathConflict.
func errPathConflict() *azError {
	return &azError{status: http.StatusConflict, code: "PathConflict",
		message: "The specified path, or an element of the path, exists and its resource type is invalid for this operation."}
}

func errBlobAlreadyExists() *azError {
	return &azError{status: http.StatusConflict, code: "BlobAlreadyExists", message: "The specified blob already exists."}
}

func errConditionNotMet() *azError {
	return &azError{status: http.StatusPreconditionFailed, code: "ConditionNotMet",
		message: "The condition specified using HTTP conditional header(s) is not met."}
}

// errInvalidRange refuses a range outside a blob of size bytes.
func errInvalidRange(size int64) *azError {
	return &azError{status: http.StatusRequestedRangeNotSatisfiable, code: "InvalidRange",
		message: "The range specified is invalid for the current size of the resource.",
		header:  [][2]string{{"Content-Range", fmt.Sprintf("bytes */%d", size)}}}
}

func errUnsupportedHttpVerb() *azError {
	return &azError{status: http.StatusMethodNotAllowed, code: "UnsupportedHttpVerb",
		message: "The resource doesn't support specified Http Verb.",
		header:  [][2]string{{"Allow", "GET, HEAD, PUT"}}}
}

func errInternalError() *azError {
	return &azError{status: http.StatusInternalServerError, code: "InternalError",
		message: "Server encountered an internal error. Please try again after some time."}
}

// xmlText escapes s for XML character data. Unlike xml.EscapeText it keeps
// '\n' literal, as Azure writes the RequestId and Time lines of a message.
var xmlText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;", "\r", "&#xD;")

// writeError sends err with the request ID reqID, in Azure's XML. An error
// that is not a refusal is an internal error, logged. A HEAD response carries
// the code in x-ms-error-code only, as Azure's does.
func (f *Face) writeError(w *reqlog.Recorder, r *http.Request, reqID string, err error) {
	var e *azError
	if !errors.As(err, &e) {
		f.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", reqID, "err", err)
		e = errInternalError()
	}
	w.Code = e.code
	now := f.clk.Now()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><Error><Code>`)
	b.WriteString(xmlText.Replace(e.code))
	b.WriteString("</Code><Message>")
	b.WriteString(xmlText.Replace(e.message + "\nRequestId:" + reqID + "\nTime:" + now.Format("2006-01-02T15:04:05.0000000Z")))
	b.WriteString("</Message>")
	if e.detail != "" {
		b.WriteString("<AuthenticationErrorDetail>")
		b.WriteString(xmlText.Replace(e.detail))
		b.WriteString("</AuthenticationErrorDetail>")
	}
	for _, kv := range e.extra {
		fmt.Fprintf(&b, "<%s>%s</%s>", kv[0], xmlText.Replace(kv[1]), kv[0])
	}
	b.WriteString("</Error>")

	h := w.Header()
	for _, kv := range e.header {
		h.Set(kv[0], kv[1])
	}
	h.Set("x-ms-error-code", e.code)
	if r.Method == http.MethodHead {
		w.WriteHeader(e.status)
		return
	}
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(e.status)
	_, _ = w.Write([]byte(b.String()))
}

// newRequestID returns a random UUID (version 4), the form of Azure's
// x-ms-request-id.
func newRequestID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go 1.24+)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
