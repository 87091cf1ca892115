package api

// /mcp: the MCP endpoint (package mcp) acting through this server: the
// same key check and rate limit, the same decoding and validation of what
// the tools are given, the same execution service and signing as the /v1
// routes (SPEC MC-1 …).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/localbaponi/localbaponi/emulator/internal/control"
	"github.com/localbaponi/localbaponi/emulator/internal/execution"
	"github.com/localbaponi/localbaponi/emulator/internal/mcp"
)

// mcpHandler builds the /mcp handler.
func (s *Server) mcpHandler() http.Handler {
	version := s.Version
	if version == "" && s.Info != nil {
		version, _ = s.Info()["version"].(string)
	}
	return mcp.New(mcp.Config{
		Backend:      mcpBackend{s},
		Authenticate: s.authenticate,
		AllowedHosts: s.MCPAllowedHosts,
		// Behind a trusted reverse proxy the Host is the proxy's choice.
		AnyHost: s.TrustForwardedHeaders,
		Version: version,
		Logger:  s.Log.With("component", "mcp"),
	})
}

// mcpBackend runs the tools as the caller whose key is in the context.
type mcpBackend struct{ s *Server }

// toolArgs makes absent arguments an empty object, so that what is missing
// is named by validation ("code must be …") rather than "body is empty".
func toolArgs(args json.RawMessage) []byte {
	if len(bytes.TrimSpace(args)) == 0 || string(args) == "null" {
		return []byte("{}")
	}
	return args
}

// mcpError turns an envelope error into the tool's error.
func mcpError(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return &mcp.Error{Status: e.Code.Status(), Code: string(e.Code), Message: e.Message}
	}
	return err
}

// StartExecution is sandbox_execute: the body of POST /v1/sandbox/execute.
func (b mcpBackend) StartExecution(ctx context.Context, args json.RawMessage, streamed bool) (mcp.Run, error) {
	s := b.s
	if s.Exec == nil {
		return nil, mcpError(notFoundf("code execution is not enabled in this emulator"))
	}
	var body executeRequest
	if err := decodeJSONBytes(toolArgs(args), &body); err != nil {
		return nil, mcpError(err)
	}
	// Results come back in the call's answer; webhooks are a REST matter.
	body.WebhookURL = nil
	req, err := s.executeRequestFrom(ctx, body)
	if err != nil {
		return nil, mcpError(err)
	}
	req.Mode = execution.ModeSync
	if streamed {
		req.Mode = execution.ModeStream
	}
	if req.ThreadID != "" {
		control.Target(ctx, "mcp."+mcp.ToolExecute, "thread", req.ThreadID, "")
	} else {
		control.Target(ctx, "mcp."+mcp.ToolExecute, "", "", "")
	}
	e, err := s.startExecution(ctx, req)
	if err != nil {
		return nil, mcpError(err)
	}
	return mcpRun{e}, nil
}

// mcpRun is an execution as the tools see it.
type mcpRun struct{ *execution.Execution }

// Result is the execution's response (SPEC R-1).
func (r mcpRun) Result() mcp.Result {
	x := r.Response()
	return mcp.Result{Success: x.Success, Stdout: x.Stdout, Stderr: x.Stderr, ExitCode: x.ExitCode,
		Error: x.Error, Status: x.Status, TraceID: x.TraceID, DurationMS: x.DurationMS}
}

// Download is files_download: the body of POST /v1/files/download_url, and
// the bytes of a file of at most inlineMax bytes (none when inlineMax < 0).
func (b mcpBackend) Download(ctx context.Context, args json.RawMessage, inlineMax int64) (mcp.Download, error) {
	s := b.s
	var req sourceRequest
	if err := decodeJSONBytes(toolArgs(args), &req); err != nil {
		return mcp.Download{}, mcpError(err)
	}
	sp, p, err := s.resolveFile(ctx, req, readAccess)
	if err != nil {
		return mcp.Download{}, mcpError(err)
	}
	control.Target(ctx, "mcp."+mcp.ToolDownload, string(sp.Kind), sp.ID, p)
	sg, obj, err := s.signDownload(ctx, sp, p)
	if err != nil {
		return mcp.Download{}, mcpError(err)
	}
	j := signedJSON(sg)
	d := mcp.Download{URL: j.URL, Method: j.Method, Headers: j.Headers, ExpiresAt: j.ExpiresAt, Size: obj.Size}
	if inlineMax >= 0 && obj.Size <= inlineMax {
		rd, err := s.Store.Open(ctx, sp, p)
		if err != nil {
			return mcp.Download{}, mcpError(storeError(err, sp, p))
		}
		defer rd.Close()
		// The file may have changed since the Stat: read at most one byte
		// over the cap and only inline what fits.
		content, err := io.ReadAll(io.LimitReader(rd, inlineMax+1))
		if err != nil {
			return mcp.Download{}, fmt.Errorf("read %s %q %q: %w", sp.Kind, sp.ID, p, err)
		}
		if int64(len(content)) <= inlineMax {
			d.Content, d.Size = content, int64(len(content))
		}
	}
	return d, nil
}
