package azure

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"strings"
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

func authFailed(detail string) *azError {
	return &azError{status: http.StatusForbidden, code: "AuthenticationFailed", message: msgAuthFailed, detail: detail}
}

func permissionMismatch() *azError {
	return &azError{status: http.StatusForbidden, code: "AuthorizationPermissionMismatch", message: msgPermission}
}

func blobNotFound() *azError {
	return &azError{status: http.StatusNotFound, code: "BlobNotFound", message: "The specified blob does not exist."}
}

func containerNotFound() *azError {
	return &azError{status: http.StatusNotFound, code: "ContainerNotFound", message: "The specified container does not exist."}
}

func resourceNotFound() *azError {
	return &azError{status: http.StatusNotFound, code: "ResourceNotFound", message: "The specified resource does not exist."}
}

func missingHeader(name string) *azError {
	return &azError{status: http.StatusBadRequest, code: "MissingRequiredHeader",
		message: "An HTTP header that's mandatory for this request is not specified.",
		extra:   [][2]string{{"HeaderName", name}}}
}

func invalidHeader(name, value string) *azError {
	return &azError{status: http.StatusBadRequest, code: "InvalidHeaderValue",
		message: "The value for one of the HTTP headers is not in the correct format.",
		extra:   [][2]string{{"HeaderName", name}, {"HeaderValue", value}}}
}

func conditionNotMet() *azError {
	return &azError{status: http.StatusPreconditionFailed, code: "ConditionNotMet",
		message: "The condition specified using HTTP conditional header(s) is not met."}
}

func internalError() *azError {
	return &azError{status: http.StatusInternalServerError, code: "InternalError",
		message: "Server encountered an internal error. Please try again after some time."}
}

// xmlText escapes s for XML character data. Unlike xml.EscapeText it keeps
// '\n' literal, as Azure writes the RequestId and Time lines of a message.
var xmlText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;", "\r", "&#xD;")

// writeError sends e with the request ID reqID. A HEAD response carries the
// code in x-ms-error-code only, as Azure's does.
func (f *Face) writeError(w http.ResponseWriter, r *http.Request, reqID string, e *azError) {
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
