package api

// Admin endpoints the dashboard reads (behind the admin token like every
// /_emulator/ route): GET /_emulator/files, a space's files with their
// content type, and GET /_emulator/executions, the recent executions of
// every organisation.

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/localbaponi/localbaponi/emulator/internal/execution"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// Bounds of the dashboard's lists.
const (
	DefaultAdminFiles   = 1000
	MaxAdminFiles       = 10000
	DefaultAdminExecs   = 50
	MaxAdminExecs       = execution.DefaultMaxRecords
	MaxAdminExecsOutput = 16 << 10 // bytes of stdout and of stderr per listed execution
)

// queryLimit reads the limit parameter: def when absent, 1..max otherwise.
func queryLimit(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, validationf("limit %q must be a whole number from 1 to %d", v, max)
	}
	return n, nil
}

// adminFileJSON is one file of GET /_emulator/files.
type adminFileJSON struct {
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	Modified    string `json:"modified"`
	ContentType string `json:"content_type"`
	ETag        string `json:"etag"`
}

// handleAdminFiles is GET /_emulator/files?org=O&source=thread|volume&id=ID
// [&prefix=P][&limit=N]: the regular files of one space under prefix (a
// plain string prefix, as /v1/files/list), in path order, with size,
// modified time and content type. At most limit files (default 1000,
// maximum 10000); truncated says whether more matched.
func (s *Server) handleAdminFiles(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	org, source, id, prefix := q.Get("org"), q.Get("source"), q.Get("id"), q.Get("prefix")
	if org == "" {
		return validationf("org is required: the organisation whose space to list")
	}
	if !s.Tenants.HasOrg(org) {
		return notFoundf("organisation %q not found", org)
	}
	sp, err := targetOf(org, sourceRequest{Source: &source, ID: &id})
	if err != nil {
		return err
	}
	if prefix, err = listPrefix(&prefix); err != nil {
		return err
	}
	limit, err := queryLimit(r, DefaultAdminFiles, MaxAdminFiles)
	if err != nil {
		return err
	}
	entries, err := s.listSpace(r.Context(), sp, prefix)
	if err != nil {
		return err
	}
	files := make([]adminFileJSON, 0, min(len(entries), limit))
	truncated := false
	for _, e := range entries {
		if e.IsDir {
			continue
		}
		if len(files) == limit {
			truncated = true
			break
		}
		f := adminFileJSON{Path: e.Path, Size: e.Size, Modified: rfc3339(e.Modified), ContentType: store.DefaultContentType}
		obj, err := s.Store.Stat(r.Context(), sp, e.Path)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue // removed since the listing
		case err != nil:
			return fmt.Errorf("stat %s %q %s: %w", sp.Kind, sp.ID, e.Path, err)
		}
		f.Size, f.Modified, f.ETag = obj.Size, rfc3339(obj.Modified), obj.ETag
		if obj.ContentType != "" {
			f.ContentType = obj.ContentType
		}
		files = append(files, f)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"files": files, "truncated": truncated})
}

// adminExecJSON is one execution of GET /_emulator/executions: the
// summary with its output cut to MaxAdminExecsOutput bytes per stream.
type adminExecJSON struct {
	execution.Summary
	OutputTruncated bool `json:"output_truncated"`
}

// cutOutput keeps at most n bytes of s, not splitting a UTF-8 sequence.
func cutOutput(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}

// handleAdminExecutions is GET /_emulator/executions[?org=O][&limit=N]: the
// executions the emulator remembers (the same bounded set as
// /v1/executions/{trace_id}), newest first, running ones included, with
// organisation, thread, language, status, duration, exit code and output
// (each stream cut to 16 KiB; output_truncated says so).
func (s *Server) handleAdminExecutions(w http.ResponseWriter, r *http.Request) error {
	org := r.URL.Query().Get("org")
	if org != "" && !s.Tenants.HasOrg(org) {
		return notFoundf("organisation %q not found", org)
	}
	limit, err := queryLimit(r, DefaultAdminExecs, MaxAdminExecs)
	if err != nil {
		return err
	}
	out := []adminExecJSON{}
	if s.Exec != nil {
		for _, e := range s.Exec.Recent(org, limit) {
			var cutOut, cutErr bool
			e.Stdout, cutOut = cutOutput(e.Stdout, MaxAdminExecsOutput)
			e.Stderr, cutErr = cutOutput(e.Stderr, MaxAdminExecsOutput)
			out = append(out, adminExecJSON{Summary: e, OutputTruncated: cutOut || cutErr})
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"executions": out, "enabled": s.Exec != nil})
}
