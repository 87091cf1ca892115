// Package cli is the client side of localbaponi: the `files` and `exec`
// subcommands. It talks to a Baponi deployment (the emulator or the real
// service) through the public /v1 API and the signed URLs it hands out only,
// never through emulator internals, so the same commands work against both.
package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls the /v1 API of one deployment with one API key.
type Client struct {
	// BaseURL is the deployment's base URL, without a trailing slash.
	BaseURL string
	// APIKey is sent as the Bearer token.
	APIKey string
	// HTTP carries the requests; nil means a client without a total
	// timeout (transfers of many GiB take long), which is what the
	// commands use.
	HTTP *http.Client
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// APIError is a refusal from the API: the server's {error, message}
// envelope, or for a storage face (which speaks its provider's XML) the
// status and the start of the body.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("%s: %s (HTTP %d)", e.Code, e.Message, e.Status)
}

// errorFrom reads a refused response into an *APIError.
func errorFrom(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	var env struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != "" {
		return &APIError{Status: resp.StatusCode, Code: env.Error, Message: env.Message}
	}
	msg := strings.TrimSpace(string(body))
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &APIError{Status: resp.StatusCode, Message: msg}
}

// call sends a JSON request to path and decodes a 2xx answer into out
// (unless out is nil).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return errorFrom(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// Location is a place in a thread or volume: thread:<id>/<path> or
// volume:<slug>/<path>.
type Location struct {
	Source string // "thread" or "volume"
	ID     string
	Path   string
}

func (l Location) String() string {
	return l.Source + ":" + l.ID + "/" + l.Path
}

// IsRemote reports whether s names a thread or volume location rather
// than a local file.
func IsRemote(s string) bool {
	return strings.HasPrefix(s, "thread:") || strings.HasPrefix(s, "volume:")
}

// ParseLocation parses thread:<id>[/<path>] or volume:<slug>[/<path>].
func ParseLocation(s string) (Location, error) {
	src, rest, ok := strings.Cut(s, ":")
	if !ok || (src != "thread" && src != "volume") {
		return Location{}, fmt.Errorf("%q: want thread:<id>/<path> or volume:<slug>/<path>", s)
	}
	id, p, _ := strings.Cut(rest, "/")
	if id == "" {
		return Location{}, fmt.Errorf("%q: the %s id is empty", s, src)
	}
	return Location{Source: src, ID: id, Path: p}, nil
}

// File is one entry of a listing.
type File struct {
	Name        string    `json:"name"`
	Path        string    `json:"path"`
	Size        int64     `json:"size"`
	Modified    time.Time `json:"modified"`
	IsDirectory bool      `json:"is_directory"`
}

type fileRef struct {
	Source string `json:"source"`
	ID     string `json:"id"`
	Path   string `json:"path,omitempty"`
}

func ref(l Location) fileRef { return fileRef{Source: l.Source, ID: l.ID, Path: l.Path} }

// List is POST /v1/files/list with l.Path as the prefix.
func (c *Client) List(ctx context.Context, l Location) ([]File, error) {
	var out struct {
		Files []File `json:"files"`
	}
	if err := c.call(ctx, http.MethodPost, "/v1/files/list", ref(l), &out); err != nil {
		return nil, err
	}
	return out.Files, nil
}

// SignedURL is the answer of upload_url and download_url.
type SignedURL struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// UploadURL is POST /v1/files/upload_url.
func (c *Client) UploadURL(ctx context.Context, l Location, contentType string, size int64) (SignedURL, error) {
	in := struct {
		fileRef
		ContentType   string `json:"content_type,omitempty"`
		ContentLength int64  `json:"content_length"`
	}{ref(l), contentType, size}
	var out SignedURL
	err := c.call(ctx, http.MethodPost, "/v1/files/upload_url", in, &out)
	return out, err
}

// DownloadURL is POST /v1/files/download_url.
func (c *Client) DownloadURL(ctx context.Context, l Location) (SignedURL, error) {
	var out SignedURL
	err := c.call(ctx, http.MethodPost, "/v1/files/download_url", ref(l), &out)
	return out, err
}

// Delete is DELETE /v1/files.
func (c *Client) Delete(ctx context.Context, l Location) error {
	return c.call(ctx, http.MethodDelete, "/v1/files", ref(l), nil)
}

// ExecRequest is the body of POST /v1/sandbox/execute.
type ExecRequest struct {
	Code     string            `json:"code"`
	Language string            `json:"language,omitempty"`
	ThreadID string            `json:"thread_id,omitempty"`
	Timeout  int               `json:"timeout,omitempty"`
	EnvVars  map[string]string `json:"env_vars,omitempty"`
}

// ExecResult is the outcome of an execution.
type ExecResult struct {
	Success    bool    `json:"success"`
	Stdout     string  `json:"stdout"`
	Stderr     string  `json:"stderr"`
	ExitCode   int     `json:"exit_code"`
	Error      *string `json:"error"`
	Status     string  `json:"status"`
	DurationMS int64   `json:"duration_ms"`
	TraceID    string  `json:"trace_id"`
}

// Execute runs code and waits for the result.
func (c *Client) Execute(ctx context.Context, in ExecRequest) (ExecResult, error) {
	var out ExecResult
	err := c.call(ctx, http.MethodPost, "/v1/sandbox/execute", in, &out)
	return out, err
}

// ErrNoResult means a streamed execution ended without its result line.
var ErrNoResult = errors.New("the output stream ended without a result")

// ExecuteStream runs code in the NDJSON mode, writing stdout and stderr
// events to the writers as they arrive, and returns the result event.
func (c *Client) ExecuteStream(ctx context.Context, in ExecRequest, stdout, stderr io.Writer) (ExecResult, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return ExecResult{}, fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/v1/sandbox/execute", bytes.NewReader(body))
	if err != nil {
		return ExecResult{}, fmt.Errorf("execute: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.APIKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := c.http().Do(req)
	if err != nil {
		return ExecResult{}, fmt.Errorf("execute: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return ExecResult{}, errorFrom(resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var ev struct {
			Event string `json:"event"`
			Data  string `json:"data"`
			ExecResult
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return ExecResult{}, fmt.Errorf("execute: bad event line: %w", err)
		}
		switch ev.Event {
		case "stdout":
			if _, err := io.WriteString(stdout, ev.Data); err != nil {
				return ExecResult{}, fmt.Errorf("write stdout: %w", err)
			}
		case "stderr":
			if _, err := io.WriteString(stderr, ev.Data); err != nil {
				return ExecResult{}, fmt.Errorf("write stderr: %w", err)
			}
		case "result":
			return ev.ExecResult, nil
		}
	}
	if err := sc.Err(); err != nil {
		return ExecResult{}, fmt.Errorf("execute: %w", err)
	}
	return ExecResult{}, ErrNoResult
}
