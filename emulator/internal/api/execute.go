package api

// The execute endpoint (SPEC R-1..R-8): POST /v1/sandbox/execute and the
// execution records, GET /v1/executions/{trace_id}[/output].

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/localbaponi/localbaponi/emulator/internal/execution"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// Executor is the execution service behind the execute routes.
type Executor = *execution.Service

// Limits of an execute request (SPEC ).
const (
	MaxCodeBytes   = 1 << 20
	DefaultTimeout = 30 * time.Second
)

// reservedEnv are the variables the sandbox sets itself (SPEC R-7); names
// starting with BAPONI_ are reserved too.
var reservedEnv = map[string]bool{"PATH": true, "HOME": true, "USER": true, "SHELL": true, "PWD": true}

// ndjson is the media type of streamed executions (SPEC R-8).
const ndjson = "application/x-ndjson"

// executeRoutes registers the execute routes on the authenticated /v1 router.
func (s *Server) executeRoutes(v1 *mux.Router) {
	methods(v1, "/sandbox/execute", routes{http.MethodPost: s.handleExecute})
	methods(v1, "/executions/{trace_id}", routes{http.MethodGet: s.handleExecution})
	methods(v1, "/executions/{trace_id}/output", routes{http.MethodGet: s.handleExecutionOutput})
}

type executeRequest struct {
	Code       *string           `json:"code"`
	Language   *string           `json:"language"`
	ThreadID   *string           `json:"thread_id"`
	Timeout    json.RawMessage   `json:"timeout"`
	EnvVars    map[string]string `json:"env_vars"`
	WebhookURL *string           `json:"webhook_url"`
}

// executeRequestFrom validates the body into a request of the caller's
// organisation (the key in ctx), except for the delivery mode. /mcp's
// sandbox_execute validates its arguments here too.
func (s *Server) executeRequestFrom(ctx context.Context, body executeRequest) (execution.Request, error) {
	key := keyFrom(ctx)
	req := execution.Request{Org: key.Org, Language: "python", Timeout: DefaultTimeout, MemoryLimit: key.MemoryLimit}
	if body.Code == nil || len(*body.Code) == 0 || len(*body.Code) > MaxCodeBytes {
		return req, validationf("code must be between 1 byte and 1 MB (1 to %d bytes)", MaxCodeBytes)
	}
	req.Code = []byte(*body.Code)
	if body.Language != nil {
		switch *body.Language {
		case "python", "node", "bash":
			req.Language = *body.Language
		default:
			return req, validationf("language must be one of python, node, bash; got %q", *body.Language)
		}
	}
	if body.ThreadID != nil {
		if err := store.ValidID(*body.ThreadID); err != nil {
			return req, validationf("thread_id %q is invalid: must be 1 to %d characters of [A-Za-z0-9._-]", *body.ThreadID, store.MaxIDBytes)
		}
		req.ThreadID = *body.ThreadID
	}
	maxSecs := int64(key.MaxTimeout / time.Second)
	if raw := string(body.Timeout); raw != "" && raw != "null" {
		if !strings.ContainsAny(raw[:1], "-0123456789") {
			return req, validationf("timeout must be a number of seconds, not %s", raw)
		}
		secs, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || secs < 1 || secs > maxSecs {
			return req, validationf("timeout must be a whole number of seconds between 1 and %d; got %s", maxSecs, raw)
		}
		req.Timeout = time.Duration(secs) * time.Second
	}
	if req.Timeout > key.MaxTimeout {
		req.Timeout = key.MaxTimeout
	}
	var reserved []string
	for name, v := range body.EnvVars {
		switch {
		case reservedEnv[name] || strings.HasPrefix(name, "BAPONI_"):
			reserved = append(reserved, name)
		case name == "" || strings.ContainsAny(name, "=\x00"):
			return req, validationf("env_vars: %q is not a valid variable name", name)
		case strings.ContainsRune(v, 0):
			return req, validationf("env_vars: the value of %s must not contain NUL", name)
		}
	}
	if len(reserved) > 0 {
		sort.Strings(reserved)
		return req, validationf("env_vars: reserved names are not allowed: %s (reserved: PATH, HOME, USER, SHELL, PWD and names starting with BAPONI_)",
			strings.Join(reserved, ", "))
	}
	req.Env = body.EnvVars
	if body.WebhookURL != nil {
		u, err := url.Parse(*body.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return req, validationf("webhook_url must be an absolute http or https URL; got %q", *body.WebhookURL)
		}
		req.WebhookURL = *body.WebhookURL
	}
	req.ThreadQuota = s.Tenants.ThreadQuotaBytes(key.Org)
	for _, v := range s.Tenants.Volumes(key.Org) {
		req.Volumes = append(req.Volumes, execution.Volume{Slug: v.Slug, ReadOnly: v.ReadOnly, Quota: v.QuotaBytes()})
	}
	return req, nil
}

// handleExecute is POST /v1/sandbox/execute.
func (s *Server) handleExecute(w http.ResponseWriter, r *http.Request) error {
	if s.Exec == nil {
		return notFoundf("code execution is not enabled in this emulator")
	}
	var body executeRequest
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	req, err := s.executeRequestFrom(r.Context(), body)
	if err != nil {
		return err
	}
	switch {
	case headerHasToken(r.Header.Values("Prefer"), "respond-async"):
		req.Mode = execution.ModeAsync
	case headerHasToken(r.Header.Values("Accept"), ndjson):
		req.Mode = execution.ModeStream
	default:
		req.Mode = execution.ModeSync
	}
	e, err := s.startExecution(r.Context(), req)
	if err != nil {
		return err
	}
	switch req.Mode {
	case execution.ModeAsync:
		return writeJSON(w, http.StatusAccepted, map[string]string{"trace_id": e.TraceID()})
	case execution.ModeStream:
		s.streamEvents(w, r, e)
		return nil
	}
	select {
	case <-e.Done():
		return writeJSON(w, http.StatusOK, e.Response())
	case <-r.Context().Done():
		// The client left; the execution is cancelled with its context.
		return nil
	}
}

// startExecution starts req; a busy thread is 409 conflict (SPEC R-4).
func (s *Server) startExecution(ctx context.Context, req execution.Request) (*execution.Execution, error) {
	e, err := s.Exec.Start(ctx, req)
	if errors.Is(err, execution.ErrBusy) {
		return nil, errorf(CodeConflict, "thread %q is busy: an execution is already running on it", req.ThreadID)
	}
	if err != nil {
		return nil, fmt.Errorf("start execution: %w", err)
	}
	return e, nil
}

// streamEvents writes the execution's events as NDJSON, replaying what was
// emitted and following it live until the result.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, e *execution.Execution) {
	w.Header().Set("Content-Type", ndjson)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// Once the status is sent, an error can no longer become an envelope:
	// the stream just ends (the client sees no result line).
	err := e.Follow(r.Context(), func(ev []byte) error {
		if _, err := w.Write(append(ev, '\n')); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		return nil
	})
	if err != nil {
		s.Log.DebugContext(r.Context(), "execution stream ended early", "trace_id", e.TraceID(), "err", err)
	}
}

// execution finds the execution of the path for the caller's organisation
// (SPEC R-8: other organisations' executions are not found).
func (s *Server) execution(r *http.Request) (*execution.Execution, error) {
	id := mux.Vars(r)["trace_id"]
	if s.Exec == nil {
		return nil, notFoundf("execution %q not found", id)
	}
	e, ok := s.Exec.Get(keyFrom(r.Context()).Org, id)
	if !ok {
		return nil, notFoundf("execution %q not found", id)
	}
	return e, nil
}

// handleExecution is GET /v1/executions/{trace_id}.
func (s *Server) handleExecution(w http.ResponseWriter, r *http.Request) error {
	e, err := s.execution(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e.Record())
}

// handleExecutionOutput is GET /v1/executions/{trace_id}/output.
func (s *Server) handleExecutionOutput(w http.ResponseWriter, r *http.Request) error {
	e, err := s.execution(r)
	if err != nil {
		return err
	}
	s.streamEvents(w, r, e)
	return nil
}

// headerHasToken reports whether a comma-separated header (Prefer, Accept)
// holds token, ignoring parameters and case.
func headerHasToken(values []string, token string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part, _, _ = strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}
