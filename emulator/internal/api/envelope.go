package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/localbaponi/localbaponi/emulator/internal/control"
)

// Code is an error code of the envelope (SPEC E-1, E-2). Each code has one
// HTTP status, which Status reports.
type Code string

// Error codes of the envelope (SPEC E-1, E-2).
const (
	CodeValidation       Code = "validation_error"
	CodeUnauthorized     Code = "unauthorized"
	CodeForbidden        Code = "forbidden"
	CodeNotFound         Code = "not_found"
	CodeConflict         Code = "conflict"
	CodeRateLimited      Code = "rate_limited"
	CodeMethodNotAllowed Code = "method_not_allowed"
	CodePayloadTooLarge  Code = "payload_too_large"
	CodeInternal         Code = "internal_error"
)

// Status returns the HTTP status that the code is sent with; an unknown code
// is a 500.
func (c Code) Status() int {
	switch c {
	case CodeValidation:
		return http.StatusBadRequest
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeConflict:
		return http.StatusConflict
	case CodeRateLimited:
		return http.StatusTooManyRequests
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodePayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// MaxBodyBytes is the largest JSON request body accepted (SPEC E-2).
const MaxBodyBytes = 4 << 20

// Error is an API error: the envelope's code and message, and the headers
// that go with it (Allow on a 405, Retry-After on a 429). Handlers return
// it; writeError sends it.
type Error struct {
	Code    Code
	Message string
	// Header is set on the response before the envelope is written.
	Header http.Header
}

// Error returns the code and the message.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// errorf makes an *Error with a formatted message.
func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// validationf is a 400 validation_error; the message names the field and
// the limit.
func validationf(format string, args ...any) *Error {
	return errorf(CodeValidation, format, args...)
}

// notFoundf is a 404 not_found.
func notFoundf(format string, args ...any) *Error {
	return errorf(CodeNotFound, format, args...)
}

// unauthorized is a 401 with a fixed message.
func unauthorized(msg string) *Error {
	return &Error{Code: CodeUnauthorized, Message: msg}
}

// errRateLimited is the 429 of a key over its rate limit (SPEC E-3), with
// Retry-After in whole seconds.
func errRateLimited(secs int) *Error {
	e := errorf(CodeRateLimited, "rate limit exceeded for this API key; retry after %d s", secs)
	e.Header = http.Header{"Retry-After": {strconv.Itoa(secs)}}
	return e
}

// errMethodNotAllowed is the 405 of a known path with another method (SPEC
// E-2), with Allow listing the methods the path has.
func errMethodNotAllowed(method, path, allow string) *Error {
	e := errorf(CodeMethodNotAllowed, "method %s is not allowed on %s; allowed: %s", method, path, allow)
	e.Header = http.Header{"Allow": {allow}}
	return e
}

// errPayloadTooLarge is the 413 of a JSON body over MaxBodyBytes (SPEC E-2).
func errPayloadTooLarge() *Error {
	return errorf(CodePayloadTooLarge, "request body exceeds the maximum of %d bytes (4 MiB)", MaxBodyBytes)
}

// handlerFunc is an HTTP handler that returns its error instead of writing
// it. A nil error means the handler wrote the response; otherwise nothing
// may have been written yet, and ServeHTTP writes the error (the one place
// that does).
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP calls h and writes its error in the envelope.
func (h handlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		writeError(w, err)
	}
}

// envelope is the body of every error response.
type envelope struct {
	Error   Code   `json:"error"`
	Message string `json:"message"`
}

// writeJSON writes v as a JSON response. It fails, having written nothing,
// only if v cannot be encoded.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	writeBody(w, status, body)
	return nil
}

// writeBody writes a JSON body and its newline. A failed write means the
// client went away; there is no one left to tell.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// writeError writes err in the envelope, with its headers. Errors that are
// not *Error are internal errors; their text is still shown, since the
// emulator is a development tool and hiding the cause would only slow its
// user down.
func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = errorf(CodeInternal, "%v", err)
	}
	h := w.Header()
	for k, vs := range e.Header {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	// Two strings always encode.
	body, _ := json.Marshal(envelope{Error: e.Code, Message: e.Message})
	writeBody(w, e.Code.Status(), body)
}

// decodeJSON decodes a request body of at most MaxBodyBytes into dst.
// Errors name the offending field.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	// The Content-Type is not checked: curl -d sends a form type unless told
	// otherwise, and every example of the docs sends JSON either way.
	if wb, ok := r.Body.(wholeBody); ok {
		// The fault and journal middleware has read the body already.
		if data, ok := wb.WholeBody(); ok {
			if len(data) > MaxBodyBytes {
				return errPayloadTooLarge()
			}
			if err := decodeJSONBytes(data, dst); err != nil {
				return err
			}
			decoded(r.Context(), dst)
			return nil
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return jsonError(err)
	}
	return decodeJSONBytes(data, dst)
}

// decoded tells the journal the target of a /v1 body that decoded into
// dst (control.Decoded), so that it need not scan the body for it.
func decoded(ctx context.Context, dst any) {
	switch d := dst.(type) {
	case *sourceRequest:
		control.Decoded(ctx, orEmpty(d.Source), orEmpty(d.ID), orEmpty(d.Path), "")
	case *uploadRequest:
		control.Decoded(ctx, orEmpty(d.Source), orEmpty(d.ID), orEmpty(d.Path), "")
	case *executeRequest:
		control.Decoded(ctx, "", "", "", orEmpty(d.ThreadID))
	}
}

func orEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// wholeBody is a request body that was read whole ahead of the handler
// (control's read-ahead of /v1 bodies): WholeBody hands over the bytes,
// once, if none of them has been read since.
type wholeBody interface {
	WholeBody() ([]byte, bool)
}

// decodeJSONBytes decodes one JSON object into dst as decodeJSON decodes a
// request body (the /mcp tools decode their arguments here).
func decodeJSONBytes(data []byte, dst any) error {
	if decodeFlat(data, dst) {
		return nil // a flat object decoded as the general path would (flat.go)
	}
	// Case-only key matches, duplicate fields and invalid UTF-8 are
	// refused before encoding/json would quietly accept them (strict.go).
	if err := checkJSON(data, reflect.TypeOf(dst)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err)
		}
		return validationf("request body must be a single JSON object; found data after it")
	}
	return nil
}

func jsonError(err error) error {
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var idleErr *BodyIdleError
	switch {
	case errors.As(err, &idleErr):
		return validationf("request body stalled: no data arrived for %s (the body idle timeout); send the whole body without pausing", idleErr.Idle)
	case errors.As(err, &maxErr):
		return errPayloadTooLarge()
	case errors.Is(err, io.EOF):
		return validationf("request body is empty; send a JSON object")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return validationf("request body must be a JSON object, not %s", typeErr.Value)
		}
		return validationf("%s must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type.String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return validationf("request body is not valid JSON: %v (at byte %d)", syntaxErr, syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return validationf("request body is not valid JSON: unexpected end of input")
	}
	return validationf("request body is not valid JSON: %v", err)
}

func jsonKind(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "json.Number", "int", "int64", "float64":
		return "a number"
	case "map[string]string":
		return "an object of strings"
	}
	return "of type " + goType
}

// recoverer turns a panic into a 500 envelope; the server keeps serving.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeError(w, errorf(CodeInternal, "internal error: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
