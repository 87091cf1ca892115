package mcp

// The two tools (SPEC MC-6 … MC-10). Their arguments go to the Backend
// raw, so that they are decoded and validated by the very code that
// decodes and validates the REST bodies they are derived from: the same
// rules and the same messages. The SDK's own schema validation is not used
// for that reason; the schemas below describe the arguments to clients and
// models.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Tool names (SPEC MC-5).
const (
	ToolExecute  = "sandbox_execute"
	ToolDownload = "files_download"
)

// InlineMax is the largest file files_download returns inline, as text
// (SPEC MC-9): 32 KiB, about 8k tokens of a model's context.
const InlineMax = 32 << 10

// instructions is what initialize tells the client about the server.
const instructions = "Baponi runs code in isolated sandboxes. Use sandbox_execute to run Python, Node.js or Bash; " +
	"pass a thread_id to keep files in /home/baponi between calls, and files_download to fetch a file the code wrote " +
	"(a signed URL; small text files also inline). Organisation volumes are mounted at /volumes/<slug>. No network access."

var executeInput = json.RawMessage(`{
  "type": "object",
  "properties": {
    "code": {"type": "string", "description": "The program to run: 1 byte to 1 MiB of source code."},
    "language": {"type": "string", "enum": ["python", "node", "bash"], "default": "python", "description": "Interpreter: python (default), node or bash."},
    "thread_id": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$", "description": "Thread whose storage is /home/baponi, read-write; files left there persist for later calls with the same thread_id and for files_download. Omit for an empty home that is discarded afterwards."},
    "timeout": {"type": "integer", "minimum": 1, "description": "Seconds before the whole process tree is killed: default 30, at most the API key's maximum (300 unless configured)."},
    "env_vars": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Environment variables for the program. PATH, HOME, USER, SHELL, PWD and names starting with BAPONI_ are reserved."}
  },
  "required": ["code"]
}`)

var executeOutput = json.RawMessage(`{
  "type": "object",
  "properties": {
    "success": {"type": "boolean", "description": "true when the program exited with code 0"},
    "stdout": {"type": "string"},
    "stderr": {"type": "string"},
    "exit_code": {"type": "integer"},
    "error": {"type": ["string", "null"], "description": "a platform message (timeout, memory limit, sandbox failure), else null"},
    "status": {"type": "string", "enum": ["success", "failed", "timeout", "oom", "cancelled", "blocked"]},
    "trace_id": {"type": "string", "description": "GET /v1/executions/{trace_id} returns the execution's record"},
    "duration_ms": {"type": "integer"}
  },
  "required": ["success", "stdout", "stderr", "exit_code", "error", "status", "trace_id", "duration_ms"]
}`)

var downloadInput = json.RawMessage(`{
  "type": "object",
  "properties": {
    "source": {"type": "string", "enum": ["thread", "volume"], "description": "thread: a thread's /home/baponi; volume: an organisation volume."},
    "id": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$", "description": "The thread ID or volume slug."},
    "path": {"type": "string", "description": "The file's path relative to the thread's /home/baponi or the volume's root, e.g. output/report.csv."},
    "inline": {"type": "boolean", "default": true, "description": "Also return the file's content when it is UTF-8 text of at most 32 KiB (default true)."}
  },
  "required": ["source", "id", "path"]
}`)

var downloadOutput = json.RawMessage(`{
  "type": "object",
  "properties": {
    "url": {"type": "string", "description": "signed URL; send the method with exactly the headers"},
    "method": {"type": "string"},
    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
    "expires_at": {"type": "string", "description": "RFC 3339 UTC; the URL stops working after it (15 minutes)"},
    "size": {"type": "integer", "description": "file size in bytes"},
    "content": {"type": "string", "description": "the whole file, when inline and UTF-8 text of at most 32 KiB"}
  },
  "required": ["url", "method", "headers", "expires_at", "size"]
}`)

// newServer builds the SDK server with the two tools.
func newServer(cfg Config) *sdk.Server {
	srv := sdk.NewServer(&sdk.Implementation{Name: "localbaponi", Title: "Baponi (localbaponi emulator)", Version: cfg.Version},
		&sdk.ServerOptions{
			Instructions: instructions,
			Logger:       cfg.Logger,
			// Stateless: there is no session to send list_changed to, and
			// no logging to set a level for.
			Capabilities:              &sdk.ServerCapabilities{Tools: &sdk.ToolCapabilities{}},
			SupportedProtocolVersions: protocolVersions,
		})
	t := &tools{backend: cfg.Backend}
	no, yes := false, true
	srv.AddTool(&sdk.Tool{
		Name:  ToolExecute,
		Title: "Run code in a Baponi sandbox",
		Description: "Run Python, Node.js or Bash code in an isolated sandbox and return its stdout, stderr and exit code. " +
			"With thread_id, /home/baponi is that thread's storage: files written there persist for later calls and can be fetched with files_download. " +
			"Without it the home directory starts empty and is discarded. Volumes are at /volumes/<slug>. No network access. " +
			"A program that fails is a normal result with success false; a timeout, memory limit or busy thread is a tool error.",
		InputSchema:  executeInput,
		OutputSchema: executeOutput,
		Annotations:  &sdk.ToolAnnotations{Title: "Run code", DestructiveHint: &yes, OpenWorldHint: &no},
	}, t.execute)
	srv.AddTool(&sdk.Tool{
		Name:  ToolDownload,
		Title: "Download a file from a thread or volume",
		Description: "Get a signed URL (valid 15 minutes) to download a file from a thread's /home/baponi or from a volume, " +
			"e.g. a file that sandbox_execute wrote. The content of a UTF-8 text file of at most 32 KiB is returned too.",
		InputSchema:  downloadInput,
		OutputSchema: downloadOutput,
		Annotations:  &sdk.ToolAnnotations{Title: "Download a file", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: &no},
	}, t.download)
	return srv
}

type tools struct {
	backend Backend
}

// toolError is the result of a call that could not do its work: isError,
// with a text naming the problem (SPEC MC-8, MC-10).
func toolError(err error) *sdk.CallToolResult {
	return &sdk.CallToolResult{IsError: true, Content: []sdk.Content{&sdk.TextContent{Text: err.Error()}}}
}

// callError turns a Backend error into a tool error; a context error (the
// client went away) ends the call instead.
func callError(ctx context.Context, err error) (*sdk.CallToolResult, error) {
	var e *Error
	if !errors.As(err, &e) && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if e == nil {
		e = &Error{http.StatusInternalServerError, "internal_error", err.Error()}
	}
	return toolError(e), nil
}

// execute is sandbox_execute (SPEC MC-6 … MC-8).
func (t *tools) execute(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
	ci := callInfoFrom(ctx)
	token := req.Params.GetProgressToken()
	progress := ci.stream && token != nil
	e, err := t.backend.StartExecution(ci.ctx, req.Params.Arguments, progress)
	if err != nil {
		return callError(ci.ctx, err)
	}
	if progress {
		t.notifyOutput(ctx, ci.ctx, req, token, e)
	}
	select {
	case <-e.Done():
	case <-ci.ctx.Done():
		// The client left; the execution is cancelled with the request.
		return nil, ci.ctx.Err()
	}
	resp := e.Result()
	return &sdk.CallToolResult{
		StructuredContent: resp,
		Content:           []sdk.Content{&sdk.TextContent{Text: renderExecution(resp)}},
		IsError:           platformFailure(resp),
	}, nil
}

// maxPartialLine is how much of an unfinished line is held back before it
// is sent anyway.
const maxPartialLine = 4 << 10

// notifyOutput sends the execution's output as progress notifications,
// whole lines at a time per stream (one notification per batch of lines
// as the program writes them; a line still unfinished at the end, or longer
// than 4 KiB, goes as it is). progress counts the output bytes sent so far;
// _meta.stream says stdout or stderr.
func (t *tools) notifyOutput(ctx, reqCtx context.Context, req *sdk.CallToolRequest, token any, e Run) {
	var sent float64
	pending := map[string]string{}
	send := func(stream, text string) error {
		if text == "" {
			return nil
		}
		sent += float64(len(text))
		return req.Session.NotifyProgress(ctx, &sdk.ProgressNotificationParams{
			ProgressToken: token, Progress: sent, Message: text, Meta: sdk.Meta{"stream": stream},
		})
	}
	_ = e.Follow(reqCtx, func(ev []byte) error {
		var out struct {
			Event string `json:"event"`
			Data  string `json:"data"`
		}
		if json.Unmarshal(ev, &out) != nil {
			return nil
		}
		switch out.Event {
		case "stdout", "stderr":
			buf := pending[out.Event] + out.Data
			cut := strings.LastIndexByte(buf, '\n') + 1
			if len(buf)-cut > maxPartialLine {
				cut = len(buf)
			}
			pending[out.Event] = buf[cut:]
			return send(out.Event, buf[:cut])
		case "result":
			if err := send("stdout", pending["stdout"]); err != nil {
				return err
			}
			return send("stderr", pending["stderr"])
		}
		return nil
	})
}

// platformFailure tells a run the platform cut short or could not start
// (timeout, memory limit, cancelled, blocked, a sandbox or interpreter
// failure: exit_code -1) from a program that ran and failed.
func platformFailure(r Result) bool {
	switch r.Status {
	case "success":
		return false
	case "failed":
		return r.ExitCode == -1 && r.Error != nil
	}
	return true
}

// renderExecution is the result as a model reads it.
func renderExecution(r Result) string {
	var b strings.Builder
	switch {
	case platformFailure(r):
		msg := r.Status
		if r.Error != nil {
			msg = *r.Error
		}
		fmt.Fprintf(&b, "Execution did not complete: %s (status %s).\n", msg, r.Status)
	case r.Success:
		b.WriteString("Execution succeeded (exit code 0).\n")
	default:
		fmt.Fprintf(&b, "The program failed with exit code %d.\n", r.ExitCode)
		if r.Error != nil {
			fmt.Fprintf(&b, "error: %s\n", *r.Error)
		}
	}
	fmt.Fprintf(&b, "status: %s, exit_code: %d, duration: %d ms, trace_id: %s\n", r.Status, r.ExitCode, r.DurationMS, r.TraceID)
	section(&b, "stdout", r.Stdout)
	section(&b, "stderr", r.Stderr)
	return b.String()
}

func section(b *strings.Builder, name, text string) {
	if text == "" {
		fmt.Fprintf(b, "%s: (empty)\n", name)
		return
	}
	fmt.Fprintf(b, "--- %s ---\n%s", name, text)
	if !strings.HasSuffix(text, "\n") {
		b.WriteString("\n")
	}
}

// downloadResult is files_download's structuredContent: the download_url
// answer plus the size and, for small text files, the content.
type downloadResult struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt string            `json:"expires_at"`
	Size      int64             `json:"size"`
	Content   *string           `json:"content,omitempty"`
}

// download is files_download (SPEC MC-9, MC-10).
func (t *tools) download(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
	ci := callInfoFrom(ctx)
	var opt struct {
		Inline *bool `json:"inline"`
	}
	if len(req.Params.Arguments) > 0 {
		if err := json.Unmarshal(req.Params.Arguments, &opt); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) && typeErr.Field == "inline" {
				return toolError(&Error{http.StatusBadRequest, "validation_error", "inline must be a boolean, not " + typeErr.Value}), nil
			}
			// Anything else is the Backend's to report, as REST does.
		}
	}
	inline := opt.Inline == nil || *opt.Inline
	var max int64 = -1
	if inline {
		max = InlineMax
	}
	d, err := t.backend.Download(ci.ctx, req.Params.Arguments, max)
	if err != nil {
		return callError(ci.ctx, err)
	}
	out := downloadResult{URL: d.URL, Method: d.Method, Headers: d.Headers, ExpiresAt: d.ExpiresAt, Size: d.Size}
	if out.Headers == nil {
		out.Headers = map[string]string{}
	}
	note := ""
	switch {
	case !inline:
		note = "content not inline (inline: false)"
	case d.Content == nil:
		note = fmt.Sprintf("content not inline: the file is larger than %d bytes", InlineMax)
	case !utf8.Valid(d.Content) || strings.ContainsRune(string(d.Content), 0):
		note = "content not inline: the file is not UTF-8 text"
	default:
		s := string(d.Content)
		out.Content = &s
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\nexpires_at: %s\nsize: %d bytes\n", out.Method, out.URL, out.ExpiresAt, out.Size)
	if len(out.Headers) > 0 {
		b.WriteString("headers to send:")
		for _, k := range slices.Sorted(maps.Keys(out.Headers)) {
			fmt.Fprintf(&b, " %s: %s;", k, out.Headers[k])
		}
		b.WriteString("\n")
	}
	if out.Content != nil {
		section(&b, "content", *out.Content)
	} else {
		b.WriteString(note + "; fetch the URL for the bytes\n")
	}
	return &sdk.CallToolResult{
		StructuredContent: out,
		Content:           []sdk.Content{&sdk.TextContent{Text: b.String()}},
	}, nil
}
