package conformance_test

// The MCP checks prove they can fail (issue 11, point 7): each deviation
// bends one behaviour of /mcp through the proxy of mutation_test.go, and the
// matching MC rule must fail.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/conformance"
)

// mcpBody reads and restores the request body of an /mcp request.
func mcpBody(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

// editMCP rewrites a JSON /mcp answer (SSE answers are left alone).
func editMCP(resp *http.Response, edit func(b []byte) []byte) error {
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	setBody(resp, edit(b))
	return nil
}

// editResult rewrites the result object of a JSON-RPC answer.
func editResult(resp *http.Response, edit func(res map[string]any)) error {
	return editMCP(resp, func(b []byte) []byte {
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return b
		}
		if res, ok := m["result"].(map[string]any); ok {
			edit(res)
		}
		nb, _ := json.Marshal(m)
		return nb
	})
}

func isMCP(x *exchange) bool { return x.path == "/mcp" }

var idRE = regexp.MustCompile(`"id":("[^"]*"|\d+)`)

func mcpDeviations() []deviation {
	return []deviation{
		{
			name: "answers carry another id", clauses: []string{"MC-1.a"},
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editMCP(resp, func(b []byte) []byte { return idRE.ReplaceAll(b, []byte(`"id":"other"`)) })
			},
		},
		{
			name: "/mcp lets anyone in", clauses: []string{"MC-2.a", "MC-2.b"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if isMCP(x) {
					r.Header.Set("Authorization", "Bearer "+conformance.DevAPIKey)
				}
				return nil, nil
			},
		},
		{
			name: "/mcp issues session ids", clauses: []string{"MC-3.a"},
			response: func(x *exchange, resp *http.Response) error {
				if isMCP(x) && resp.StatusCode == http.StatusOK {
					resp.Header.Set("Mcp-Session-Id", "sess-1")
				}
				return nil
			},
		},
		{
			name: "initialize negotiates 2025-06-18", clauses: []string{"MC-4.b"},
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editResult(resp, func(res map[string]any) {
					if _, ok := res["protocolVersion"]; ok {
						res["protocolVersion"] = "2025-06-18"
					}
				})
			},
		},
		{
			name: "tools/list without files_download", clauses: []string{"MC-5.a", "MC-5.b"},
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editResult(resp, func(res map[string]any) {
					tools, ok := res["tools"].([]any)
					if !ok {
						return
					}
					var kept []any
					for _, t := range tools {
						if t.(map[string]any)["name"] != "files_download" {
							kept = append(kept, t)
						}
					}
					res["tools"] = kept
				})
			},
		},
		{
			name: "sandbox_execute runs on another thread", clauses: []string{"MC-6.a"}, exec: true,
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if !isMCP(x) {
					return nil, nil
				}
				b := mcpBody(r)
				return bytes.ReplaceAll(b, []byte(`"thread_id":"conf-`), []byte(`"thread_id":"moved-conf-`)), nil
			},
		},
		{
			name: "structuredContent without exit_code", clauses: []string{"MC-7.a"}, exec: true,
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editResult(resp, func(res map[string]any) {
					if sc, ok := res["structuredContent"].(map[string]any); ok {
						delete(sc, "exit_code")
					}
				})
			},
		},
		{
			name: "platform failures not flagged as tool errors", clauses: []string{"MC-8.a"}, exec: true,
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editResult(resp, func(res map[string]any) { delete(res, "isError") })
			},
		},
		{
			name: "files_download inlines a different content", clauses: []string{"MC-9.b"},
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editResult(resp, func(res map[string]any) {
					if sc, ok := res["structuredContent"].(map[string]any); ok {
						if s, ok := sc["content"].(string); ok {
							sc["content"] = s + "!"
						}
					}
				})
			},
		},
		{
			name: "files_download: not found reported as an internal error", clauses: []string{"MC-10.a"},
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editMCP(resp, func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("not_found"), []byte("internal_error")) })
			},
		},
		{
			name: "GET /mcp answers a plain-text 404", clauses: []string{"MC-11.a"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if isMCP(x) && r.Method == http.MethodGet {
					return nil, &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader("404 page not found"))}
				}
				return nil, nil
			},
		},
		{
			name: "/mcp always answers SSE", clauses: []string{"MC-12.a"}, exec: true,
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) || resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					return nil
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					return err
				}
				resp.Header.Set("Content-Type", "text/event-stream")
				setBody(resp, []byte(fmt.Sprintf("event: message\ndata: %s\n\n", b)))
				return nil
			},
		},
		{
			name: "no DNS-rebinding protection", clauses: []string{"MC-13.a", "MC-13.b"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if isMCP(x) {
					r.Host = "localhost:" + strconv.Itoa(portOf(x.proxyURL))
					r.Header.Del("Origin")
				}
				return nil, nil
			},
		},
		{
			name: "/_emulator/info without the mcp feature", clauses: []string{"MC-1.b"},
			response: func(x *exchange, resp *http.Response) error {
				if !x.api("/_emulator/info") {
					return nil
				}
				return editJSON(resp, func(m map[string]any) {
					fs, _ := m["features"].([]any)
					m["features"] = slices.DeleteFunc(fs, func(f any) bool { return f == "mcp" })
				})
			},
		},
		{
			name: "/mcp wants a session it knows", clauses: []string{"MC-3.b"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if isMCP(x) && r.Header.Get("Mcp-Session-Id") != "" {
					return nil, &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader("session not found"))}
				}
				return nil, nil
			},
		},
		{
			name: "tools/call needs initialize first", clauses: []string{"MC-4.a"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if isMCP(x) && bytes.Contains(mcpBody(r), []byte(`"tools/call"`)) {
					return nil, jsonAnswer(http.StatusOK, map[string]any{"jsonrpc": "2.0", "id": json.RawMessage(idOf(mcpBody(r))),
						"error": map[string]any{"code": -32600, "message": "session not initialized"}})
				}
				return nil, nil
			},
		},
		{
			name: "sandbox_execute's schema without thread_id", clauses: []string{"MC-5.b"},
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editResult(resp, func(res map[string]any) {
					tools, _ := res["tools"].([]any)
					for _, t := range tools {
						if tm := t.(map[string]any); tm["name"] == "sandbox_execute" {
							delete(tm["inputSchema"].(map[string]any)["properties"].(map[string]any), "thread_id")
						}
					}
				})
			},
		},
		{
			name: "MCP runs missing from /v1/executions", clauses: []string{"MC-6.b"}, exec: true,
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if x.under("/v1/executions/") {
					return nil, envelope(http.StatusNotFound, "not_found", "execution not found")
				}
				return nil, nil
			},
		},
		{
			name: "a failing program flagged as a tool error", clauses: []string{"MC-7.b"}, exec: true,
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editResult(resp, func(res map[string]any) {
					if sc, ok := res["structuredContent"].(map[string]any); ok && sc["success"] == false {
						res["isError"] = true
					}
				})
			},
		},
		{
			name: "files_download answers method PUT", clauses: []string{"MC-9.a"},
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editResult(resp, func(res map[string]any) {
					if sc, ok := res["structuredContent"].(map[string]any); ok && sc["method"] == "GET" {
						sc["method"] = "PUT"
					}
				})
			},
		},
		{
			name: "files_download's URL expires in 10 minutes, not 15", clauses: []string{"MC-9.a"},
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editResult(resp, func(res map[string]any) {
					if sc, ok := res["structuredContent"].(map[string]any); ok {
						if s, ok := sc["expires_at"].(string); ok {
							if t, err := time.Parse(time.RFC3339, s); err == nil {
								sc["expires_at"] = t.Add(-5 * time.Minute).Format(time.RFC3339)
							}
						}
					}
				})
			},
		},
		{
			name: "files_download: bad arguments reported as internal errors", clauses: []string{"MC-10.b"},
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editMCP(resp, func(b []byte) []byte {
					return bytes.ReplaceAll(b, []byte("validation_error"), []byte("internal_error"))
				})
			},
		},
		{
			name: "/mcp answers 400 for a non-JSON Content-Type", clauses: []string{"MC-11.b"},
			response: func(x *exchange, resp *http.Response) error {
				if isMCP(x) && resp.StatusCode == http.StatusUnsupportedMediaType {
					resp.StatusCode = http.StatusBadRequest
				}
				return nil
			},
		},
		{
			name: "no progress notifications in the stream", clauses: []string{"MC-12.b"}, exec: true,
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
					return nil
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					return err
				}
				var kept []string
				for _, ev := range strings.Split(string(b), "\n\n") {
					if !strings.Contains(ev, "notifications/progress") {
						kept = append(kept, ev)
					}
				}
				setBody(resp, []byte(strings.Join(kept, "\n\n")))
				return nil
			},
		},
	}
}

// idOf returns the raw id of a JSON-RPC request body.
func idOf(body []byte) []byte {
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &m) != nil || m.ID == nil {
		return []byte("null")
	}
	return m.ID
}

func portOf(u string) int {
	i := strings.LastIndexByte(u, ':')
	p, _ := strconv.Atoi(u[i+1:])
	return p
}

// TestTargetWithoutMCP: a target that serves no /mcp has every MC check
// skipped with the reason, and the run still passes.
func TestTargetWithoutMCP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite")
	}
	d := deviation{request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
		if isMCP(x) || x.under("/_emulator/") {
			return nil, &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader("404 page not found"))}
		}
		return nil, nil
	}}
	base, _ := startProxied(t, d)
	res, out := runSuite(t, base, "mcp", "")
	jr := res.Report
	if res.ExitCode != conformance.ExitPass || jr == nil {
		t.Fatalf("exit code %d, want 0\n%s", res.ExitCode, out)
	}
	skipped := 0
	for _, c := range jr.Checks {
		if !strings.HasPrefix(c.Rule, "MC-") {
			continue
		}
		if c.Status != conformance.StatusSkipped || !strings.Contains(c.Message, "/mcp") && !strings.Contains(c.Message, "emulator") {
			t.Errorf("%s %q: %s %q, want skipped with the reason", c.Rule, c.Name, c.Status, c.Message)
		}
		skipped++
	}
	if skipped == 0 {
		t.Errorf("no MC check reported\n%s", out)
	}
}
