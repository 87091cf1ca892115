package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/localbaponi/localbaponi/emulator/internal/faults"
	"github.com/localbaponi/localbaponi/emulator/internal/journal"
)

// StateControl resets the emulator and moves its state in and out as a
// snapshot (SPEC M-6, M-7). The emulator implements it.
type StateControl interface {
	// Reset returns the whole emulator to its start state (org ""), or
	// removes what one org (or one thread of it) holds.
	Reset(ctx context.Context, org, thread string) error
	// WriteSnapshot streams a snapshot archive to w.
	WriteSnapshot(ctx context.Context, w io.Writer) error
	// LoadSnapshot replaces the emulator's state with the archive's, or
	// changes nothing and returns why.
	LoadSnapshot(ctx context.Context, r io.Reader) error
}

// controlRoutes registers faults, the journal, reset and snapshots
// (SPEC M-4..M-8).
func (s *Server) controlRoutes(r *mux.Router) {
	if s.Faults != nil {
		methods(r, "/faults", routes{
			http.MethodGet: s.handleFaultsList, http.MethodPost: s.handleFaultCreate, http.MethodDelete: s.handleFaultsClear})
		methods(r, "/faults/{id}", routes{
			http.MethodGet: s.handleFaultGet, http.MethodDelete: s.handleFaultDelete})
	}
	if s.Journal != nil {
		methods(r, "/requests", routes{
			http.MethodGet: s.handleRequestsList, http.MethodDelete: s.handleRequestsClear})
	}
	if s.State != nil {
		methods(r, "/reset", routes{http.MethodPost: s.handleReset})
		methods(r, "/snapshot", routes{
			http.MethodGet: s.handleSnapshotGet, http.MethodPost: s.handleSnapshotPost})
	}
}

// faultError maps the engine's errors to the envelope.
func faultError(err error) error {
	var fe *faults.FieldError
	switch {
	case errors.As(err, &fe):
		return validationf("%s %s", fe.Field, fe.Message)
	case errors.Is(err, faults.ErrNotFound):
		return notFoundf("%v", err)
	case errors.Is(err, faults.ErrExists):
		return errorf(CodeConflict, "%v", err)
	}
	return err
}

// DecodeFaultRule decodes one rule strictly: an unknown field (a typo such
// as "retry-after") is an error naming it.
func DecodeFaultRule(data []byte) (faults.Rule, error) {
	var rule faults.Rule
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rule); err != nil {
		var de *faults.DurationError
		if errors.As(err, &de) {
			var doc any
			_ = json.Unmarshal(data, &doc)
			return faults.Rule{}, validationf("%s: %v", fieldOf(doc, de.Value, ""), de)
		}
		return faults.Rule{}, jsonError(err)
	}
	return rule, nil
}

// fieldOf returns the dotted path of the first string equal to v in doc.
func fieldOf(doc any, v, at string) string {
	switch d := doc.(type) {
	case string:
		if d == v {
			return at
		}
	case map[string]any:
		for k, x := range d {
			name := k
			if at != "" {
				name = at + "." + k
			}
			if f := fieldOf(x, v, name); f != "" {
				return f
			}
		}
	}
	return ""
}

// handleFaultCreate is POST /_emulator/faults (SPEC M-4).
func (s *Server) handleFaultCreate(w http.ResponseWriter, r *http.Request) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return jsonError(err)
	}
	rule, err := DecodeFaultRule(data)
	if err != nil {
		return err
	}
	out, err := s.Faults.Add(rule)
	if err != nil {
		return faultError(err)
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) handleFaultsList(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{"faults": s.Faults.List()})
}

func (s *Server) handleFaultGet(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["id"]
	rule, ok := s.Faults.Get(id)
	if !ok {
		return notFoundf("fault rule %q not found", id)
	}
	return writeJSON(w, http.StatusOK, rule)
}

func (s *Server) handleFaultDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.Faults.Delete(mux.Vars(r)["id"]); err != nil {
		return faultError(err)
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"deleted": true})
}

func (s *Server) handleFaultsClear(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]int{"deleted": s.Faults.Clear()})
}

// JournalFilter reads ?route=&org=&thread_id=&status=&since=&scope=&limit=.
func JournalFilter(q map[string][]string) (journal.Filter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := journal.Filter{Route: get("route"), Org: get("org"), ThreadID: get("thread_id"), Status: get("status"), Scope: get("scope")}
	if st := f.Status; st != "" {
		if _, err := strconv.Atoi(st); err != nil && !(len(st) == 3 && st[1:] == "xx" && st[0] >= '1' && st[0] <= '5') {
			return f, validationf("status %q must be a status such as 503 or a class such as 5xx", st)
		}
	}
	if v := get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, validationf("since %q is not an RFC 3339 time (e.g. \"2026-03-04T12:00:00Z\")", v)
		}
		f.Since = t
	}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return f, validationf("limit %q must be a whole number of entries, 0 or more", v)
		}
		f.Limit = n
	}
	return f, nil
}

// handleRequestsList is GET /_emulator/requests (SPEC M-5).
func (s *Server) handleRequestsList(w http.ResponseWriter, r *http.Request) error {
	f, err := JournalFilter(r.URL.Query())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"requests": s.Journal.List(f), "size": s.Journal.Size()})
}

func (s *Server) handleRequestsClear(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]int{"deleted": s.Journal.Clear()})
}

// handleReset is POST /_emulator/reset with an optional body {org, thread_id}.
func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Org      string `json:"org"`
		ThreadID string `json:"thread_id"`
	}
	if r.ContentLength != 0 {
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			return jsonError(err)
		}
		if len(bytes.TrimSpace(data)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				return jsonError(err)
			}
		}
	}
	if req.ThreadID != "" && req.Org == "" {
		return validationf("thread_id needs org: a thread belongs to one organisation")
	}
	if req.Org != "" && !s.Tenants.HasOrg(req.Org) {
		return notFoundf("organisation %q not found", req.Org)
	}
	if err := s.State.Reset(r.Context(), req.Org, req.ThreadID); err != nil {
		return err
	}
	scope := "emulator"
	switch {
	case req.ThreadID != "":
		scope = "thread"
	case req.Org != "":
		scope = "org"
	}
	return writeJSON(w, http.StatusOK, map[string]any{"reset": scope, "org": req.Org, "thread_id": req.ThreadID})
}

// handleSnapshotGet streams the snapshot archive (SPEC M-7).
func (s *Server) handleSnapshotGet(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="localbaponi-snapshot.tar"`)
	if err := s.State.WriteSnapshot(r.Context(), w); err != nil {
		// The status is sent: cut the stream so the client sees a broken
		// archive rather than a short one that looks whole.
		s.Log.Error("snapshot", "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// handleSnapshotPost loads a snapshot archive from the body.
func (s *Server) handleSnapshotPost(w http.ResponseWriter, r *http.Request) error {
	if err := s.State.LoadSnapshot(r.Context(), r.Body); err != nil {
		var e *Error
		if !errors.As(err, &e) {
			err = validationf("%v", err)
		}
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"loaded": true})
}
