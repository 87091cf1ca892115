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
			name: "answers carry another id", filter: "MC-1", rules: []string{"MC-1"},
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editMCP(resp, func(b []byte) []byte { return idRE.ReplaceAll(b, []byte(`"id":"other"`)) })
			},
		},
		{
			name: "/mcp lets anyone in", filter: "MC-2", rules: []string{"MC-2"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if isMCP(x) {
					r.Header.Set("Authorization", "Bearer "+conformance.DevAPIKey)
				}
				return nil, nil
			},
		},
		{
			name: "/mcp issues session ids", filter: "MC-3", rules: []string{"MC-3"},
			response: func(x *exchange, resp *http.Response) error {
				if isMCP(x) && resp.StatusCode == http.StatusOK {
					resp.Header.Set("Mcp-Session-Id", "sess-1")
				}
				return nil
			},
		},
		{
			name: "initialize negotiates 2025-06-18", filter: "MC-4", rules: []string{"MC-4"},
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
			name: "tools/list without files_download", filter: "MC-5", rules: []string{"MC-5"},
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
			name: "sandbox_execute runs on another thread", filter: "MC-6", rules: []string{"MC-6"}, exec: true,
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if !isMCP(x) {
					return nil, nil
				}
				b := mcpBody(r)
				return bytes.ReplaceAll(b, []byte(`"thread_id":"conf-`), []byte(`"thread_id":"moved-conf-`)), nil
			},
		},
		{
			name: "structuredContent without exit_code", filter: "MC-7", rules: []string{"MC-7"}, exec: true,
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
			name: "platform failures not flagged as tool errors", filter: "MC-8", rules: []string{"MC-8"}, exec: true,
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editResult(resp, func(res map[string]any) { delete(res, "isError") })
			},
		},
		{
			name: "files_download inlines a different content", filter: "MC-9", rules: []string{"MC-9"},
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
			name: "files_download: not found reported as an internal error", filter: "MC-10", rules: []string{"MC-10"},
			response: func(x *exchange, resp *http.Response) error {
				if !isMCP(x) {
					return nil
				}
				return editMCP(resp, func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("not_found"), []byte("internal_error")) })
			},
		},
		{
			name: "GET /mcp answers a plain-text 404", filter: "MC-11", rules: []string{"MC-11"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if isMCP(x) && r.Method == http.MethodGet {
					return nil, &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader("404 page not found"))}
				}
				return nil, nil
			},
		},
		{
			name: "/mcp always answers SSE", filter: "MC-12", rules: []string{"MC-12"}, exec: true,
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
			name: "no DNS-rebinding protection", filter: "MC-13", rules: []string{"MC-13"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if isMCP(x) {
					r.Host = "localhost:" + strconv.Itoa(portOf(x.proxyURL))
					r.Header.Del("Origin")
				}
				return nil, nil
			},
		},
	}
}

func portOf(u string) int {
	i := strings.LastIndexByte(u, ':')
	p, _ := strconv.Atoi(u[i+1:])
	return p
}

// TestSuiteCatchesMCPDeviations: every MC rule fails when /mcp bends it.
func TestSuiteCatchesMCPDeviations(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite many times")
	}
	covered := map[string]bool{}
	for _, d := range mcpDeviations() {
		for _, r := range d.rules {
			covered[r] = true
		}
	}
	for _, r := range conformance.Rules() {
		if strings.HasPrefix(r.ID, "MC-") && !covered[r.ID] {
			t.Errorf("no deviation shows that %s can fail", r.ID)
		}
	}
	sem := make(chan struct{}, 3) // bounded: the machine is shared
	for _, d := range mcpDeviations() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			defer func() { <-sem }()
			base, canExec := startProxied(t, d)
			if d.exec && !canExec {
				t.Skip("the emulator in this build cannot execute code")
			}
			res, out := runSuite(t, base, d.filter, "")
			jr := res.Report
			if res.ExitCode != conformance.ExitFailed || jr == nil {
				t.Fatalf("exit code %d, want %d\n%s", res.ExitCode, conformance.ExitFailed, out)
			}
			got := failedRules(jr)
			for _, want := range d.rules {
				if !slices.Contains(got, want) {
					t.Errorf("failed rules %v do not include %s\n%s", got, want, out)
				}
			}
		})
	}
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
