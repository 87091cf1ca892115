package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
)

// Error codes of the envelope (SPEC E-1, E-2).
const (
	CodeValidation       = "validation_error"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodeRateLimited      = "rate_limited"
	CodeMethodNotAllowed = "method_not_allowed"
	CodePayloadTooLarge  = "payload_too_large"
	CodeInternal         = "internal_error"
)

// MaxBodyBytes is the largest JSON request body accepted (SPEC E-2).
const MaxBodyBytes = 4 << 20

// Error is an API error: an HTTP status and the envelope's code and message.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// errorf makes an *Error with a formatted message.
func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func validationf(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, CodeValidation, format, args...)
}

func notFoundf(format string, args ...any) *Error {
	return errorf(http.StatusNotFound, CodeNotFound, format, args...)
}

// envelope is the body of every error response.
type envelope struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, errorf(http.StatusInternalServerError, CodeInternal, "encode response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// writeError writes err in the envelope. Errors that are not *Error are
// internal errors; their text is still shown, since the emulator is a
// development tool and hiding the cause would only slow its user down.
func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = errorf(http.StatusInternalServerError, CodeInternal, "%v", err)
	}
	writeJSON(w, e.Status, envelope{Error: e.Code, Message: e.Message})
}

// decodeJSON decodes a request body of at most MaxBodyBytes into dst.
// Errors name the offending field and are ready for writeError.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	// The Content-Type is not checked: curl -d sends a form type unless told
	// otherwise, and every example of the docs sends JSON either way.
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
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
	switch {
	case errors.As(err, &maxErr):
		return errorf(http.StatusRequestEntityTooLarge, CodePayloadTooLarge,
			"request body exceeds the maximum of %d bytes (4 MiB)", MaxBodyBytes)
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
				writeError(w, errorf(http.StatusInternalServerError, CodeInternal, "internal error: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
