package s3

// S3's refusals: one constructor per code the face answers with before
// gofakes3 sees a request, and the one writer of their XML (writeError).
// The PUTs the face serves itself (put.go) answer in gofakes3's own format
// instead, byte for byte, so that they look like every other operation
// gofakes3 answers: writeGofakes3Error writes that one.

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/johannesboyne/gofakes3"

	"github.com/localbaponi/localbaponi/emulator/internal/reqlog"
	"github.com/localbaponi/localbaponi/emulator/internal/signing"
)

// s3Error is a refusal: its HTTP status and S3's XML error body. Optional
// elements are those S3 itself adds for the error in question (the string it
// signed, the expiry, the limit).
type s3Error struct {
	status            int
	XMLName           xml.Name `xml:"Error"`
	Code              string   `xml:"Code"`
	Message           string   `xml:"Message"`
	AWSAccessKeyID    string   `xml:"AWSAccessKeyId,omitempty"`
	StringToSign      string   `xml:"StringToSign,omitempty"`
	SignatureProvided string   `xml:"SignatureProvided,omitempty"`
	CanonicalRequest  string   `xml:"CanonicalRequest,omitempty"`
	XAmzExpires       string   `xml:"X-Amz-Expires,omitempty"`
	Expires           string   `xml:"Expires,omitempty"`
	ServerTime        string   `xml:"ServerTime,omitempty"`
	ProposedSize      string   `xml:"ProposedSize,omitempty"`
	MaxSizeAllowed    string   `xml:"MaxSizeAllowed,omitempty"`
	RequestID         string   `xml:"RequestId"`
	HostID            string   `xml:"HostId"`
}

func (e *s3Error) Error() string { return e.Code + ": " + e.Message }

// The codes that access chooses between.
const (
	codeNoSuchKey    = "NoSuchKey"
	codeNoSuchBucket = "NoSuchBucket"
)

// errCORSForbidden refuses a preflight that no CORS rule allows, with S3's
// own wording.
func errCORSForbidden() *s3Error {
	return &s3Error{status: http.StatusForbidden, Code: "AccessForbidden",
		Message: "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."}
}

func errAccessDenied(msg string) *s3Error {
	return &s3Error{status: http.StatusForbidden, Code: "AccessDenied", Message: msg}
}

// errHeaderAuthorization refuses a request signed in the Authorization
// header: Baponi hands out presigned URLs only.
func errHeaderAuthorization() *s3Error {
	return errAccessDenied("This emulator's S3 face accepts presigned URLs only (query-string SigV4); requests signed in the Authorization header are not supported.")
}

func errNotImplemented(msg string) *s3Error {
	return &s3Error{status: http.StatusNotImplemented, Code: "NotImplemented", Message: msg}
}

func errEntityTooLarge(size int64) *s3Error {
	return &s3Error{status: http.StatusBadRequest, Code: "EntityTooLarge",
		Message:        "Your proposed upload exceeds the maximum allowed size",
		ProposedSize:   strconv.FormatInt(size, 10),
		MaxSizeAllowed: strconv.FormatInt(MaxSinglePut, 10)}
}

func errAuthorizationQueryParameters(msg string) *s3Error {
	return &s3Error{status: http.StatusBadRequest, Code: "AuthorizationQueryParametersError", Message: msg}
}

func errInvalidAccessKeyID(keyID string) *s3Error {
	return &s3Error{status: http.StatusForbidden, Code: "InvalidAccessKeyId",
		Message: "The AWS Access Key Id you provided does not exist in our records.", AWSAccessKeyID: keyID}
}

// errNotYetValid is S3's AccessDenied for a URL dated in the future.
func errNotYetValid(now time.Time) *s3Error {
	e := errAccessDenied("Request is not valid yet")
	e.ServerTime = now.Format(time.RFC3339)
	return e
}

// errExpired is S3's AccessDenied for an expired URL.
func errExpired(p signing.Params, now time.Time) *s3Error {
	e := errAccessDenied("Request has expired")
	e.XAmzExpires = strconv.FormatInt(int64(p.Expires/time.Second), 10)
	e.Expires = p.ExpiresAt().Format(time.RFC3339)
	e.ServerTime = now.Format(time.RFC3339)
	return e
}

// errSignatureDoesNotMatch carries what the face signed, as S3 does, so
// that a client can see how its request differs.
func errSignatureDoesNotMatch(keyID, stringToSign, provided, canonicalRequest string) *s3Error {
	return &s3Error{status: http.StatusForbidden, Code: "SignatureDoesNotMatch",
		Message:           "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
		AWSAccessKeyID:    keyID,
		StringToSign:      stringToSign,
		SignatureProvided: provided,
		CanonicalRequest:  canonicalRequest}
}

func errNoSuchKey() *s3Error {
	return &s3Error{status: http.StatusNotFound, Code: codeNoSuchKey, Message: "The specified key does not exist."}
}

func errNoSuchBucket() *s3Error {
	return &s3Error{status: http.StatusNotFound, Code: codeNoSuchBucket, Message: "The specified bucket does not exist"}
}

func errInternal() *s3Error {
	return &s3Error{status: http.StatusInternalServerError, Code: "InternalError", Message: "We encountered an internal error. Please try again."}
}

// writeError writes err as an S3 error response with the request ID id
// (headers only for HEAD, as S3 does). An error that is not a refusal is an
// internal error, logged.
func (f *Face) writeError(w *reqlog.Recorder, r *http.Request, id string, err error) {
	var e *s3Error
	if !errors.As(err, &e) {
		f.log.Error("s3 face: request failed", "method", r.Method, "path", r.URL.Path, "request_id", id, "err", err)
		e = errInternal()
	}
	e.RequestID = id
	e.HostID = base64.StdEncoding.EncodeToString([]byte(id + id))
	// Only strings: cannot fail.
	body, _ := xml.Marshal(e)
	w.Code = e.Code
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("x-amz-id-2", e.HostID)
	h.Set("Server", "AmazonS3")
	if r.Method == http.MethodHead {
		w.WriteHeader(e.status)
		return
	}
	body = append([]byte(xml.Header), body...)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	if _, err := w.Write(body); err != nil {
		f.log.Debug("s3 face: write error response", "err", err)
	}
}

// errBadKey is the backend's answer to a key outside the store's layout.
func errBadKey(key string) error {
	return gofakes3.ErrorMessagef(gofakes3.ErrInvalidArgument, "key %q is not orgs/<org>/{threads|volumes}/<id>/<path>", key)
}

// writeGofakes3Error writes err exactly as gofakes3's httpError does: the
// status, then (except for HEAD) the XML declaration and the indented
// <Error> document; the Content-Type it sets after the status is not sent,
// so net/http sniffs one, as it does for gofakes3.
func (f *Face) writeGofakes3Error(w http.ResponseWriter, r *http.Request, err error) {
	var resp gofakes3.Error
	switch e := err.(type) {
	case *gofakes3.ErrorResponse:
		resp = e
	case gofakes3.ErrorCode:
		resp = &gofakes3.ErrorResponse{Code: e, Message: string(e)}
	default:
		f.log.Error("s3 face: put failed", "err", err)
		resp = &gofakes3.ErrorResponse{Code: gofakes3.ErrInternal, Message: "Internal Error"}
	}
	w.WriteHeader(resp.ErrorCode().Status())
	if r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write([]byte(xml.Header)); err != nil {
		return
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(resp); err != nil {
		f.log.Debug("s3 face: write error response", "err", err)
	}
}
