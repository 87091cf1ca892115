package mcp_test

// Real clients against a real emulator: the Go SDK's own client (here) and
// the TypeScript SDK (node_test.go) run the seed's workflow through /mcp on
// every storage face.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/localbaponi/localbaponi/emulator"
	"github.com/localbaponi/localbaponi/emulator/internal/mcp"
)

// seedInput and seedCode are the seed's complete workflow (files-api.txt).
const (
	seedInput = `{"values": [1, 2, 3, 4, 5]}`
	seedCode  = `
import json
with open('/home/baponi/input.json') as f:
    data = json.load(f)
result = {"sum": sum(data["values"]), "count": len(data["values"])}
with open('/home/baponi/output.json', 'w') as f:
    json.dump(result, f)
print(f"Processed {result['count']} values, sum = {result['sum']}")
`
	seedStdout = "Processed 5 values, sum = 15\n"
	seedOutput = `{"sum": 15, "count": 5}`
)

func startEmulator(t testing.TB, opts emulator.Options) *emulator.Emulator {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	emu, err := emulator.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// bearer adds the API key to every request, as an MCP host's "headers"
// setting does.
type bearer struct {
	key  string
	base http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.base.RoundTrip(r)
}

// restPost calls a /v1 route and decodes its JSON answer.
func restPost(t testing.TB, emu *emulator.Emulator, path string, body any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, emu.URL()+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+emu.APIKey())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, raw)
		}
	}
	return resp.StatusCode
}

// uploadREST stores data in a thread the way the seed does: upload_url, PUT.
func uploadREST(t testing.TB, emu *emulator.Emulator, thread, path, contentType string, data []byte) {
	t.Helper()
	var up struct {
		URL     string            `json:"url"`
		Method  string            `json:"method"`
		Headers map[string]string `json:"headers"`
	}
	if st := restPost(t, emu, "/v1/files/upload_url", map[string]any{
		"source": "thread", "id": thread, "path": path, "content_type": contentType, "content_length": len(data),
	}, &up); st != http.StatusOK {
		t.Fatalf("upload_url: HTTP %d", st)
	}
	req, _ := http.NewRequest(up.Method, up.URL, bytes.NewReader(data))
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT to the upload URL: HTTP %d", resp.StatusCode)
	}
}

func connectGo(t *testing.T, emu *emulator.Emulator, opts *sdk.ClientOptions) *sdk.ClientSession {
	t.Helper()
	hc := &http.Client{Transport: bearer{emu.APIKey(), http.DefaultTransport}, Timeout: time.Minute}
	client := sdk.NewClient(&sdk.Implementation{Name: "localbaponi-go-test", Version: "1"}, opts)
	cs, err := client.Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: emu.URL() + mcp.Path, HTTPClient: hc}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func structured(t *testing.T, res *sdk.CallToolResult, out any) {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("structuredContent %s: %v", b, err)
	}
}

func text(res *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

type execOut struct {
	Success    bool    `json:"success"`
	Stdout     string  `json:"stdout"`
	Stderr     string  `json:"stderr"`
	ExitCode   int     `json:"exit_code"`
	Error      *string `json:"error"`
	Status     string  `json:"status"`
	TraceID    string  `json:"trace_id"`
	DurationMS *int64  `json:"duration_ms"`
}

type downloadOut struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt string            `json:"expires_at"`
	Size      int64             `json:"size"`
	Content   *string           `json:"content"`
}

// TestGoSDKClient: the Go SDK's client lists the two tools, runs the seed's
// workflow through sandbox_execute on a thread and fetches the output
// through a files_download URL, on every storage face.
func TestGoSDKClient(t *testing.T) {
	for _, backend := range emulator.Backends() {
		t.Run(backend, func(t *testing.T) {
			emu := startEmulator(t, emulator.Options{Backend: backend})
			cs := connectGo(t, emu, nil)
			if v := cs.InitializeResult().ProtocolVersion; v != mcp.ProtocolVersion {
				t.Errorf("negotiated protocol version %q, want %q", v, mcp.ProtocolVersion)
			}

			tools, err := cs.ListTools(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tl := range tools.Tools {
				names = append(names, tl.Name)
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{mcp.ToolDownload, mcp.ToolExecute}) {
				t.Fatalf("tools %v, want files_download and sandbox_execute", names)
			}

			thread := "analysis-run-42"
			uploadREST(t, emu, thread, "input.json", "application/json", []byte(seedInput))
			res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: mcp.ToolExecute, Arguments: map[string]any{
				"code": seedCode, "language": "python", "thread_id": thread,
			}})
			if err != nil {
				t.Fatal(err)
			}
			var ex execOut
			structured(t, res, &ex)
			if res.IsError || !ex.Success || ex.Stdout != seedStdout || ex.ExitCode != 0 || ex.Status != "success" || ex.TraceID == "" || ex.DurationMS == nil {
				t.Fatalf("sandbox_execute: isError %v, %+v\n%s", res.IsError, ex, text(res))
			}
			if !strings.Contains(text(res), seedStdout) {
				t.Errorf("text rendering lacks the stdout: %q", text(res))
			}

			// The REST record finds the MCP run (SPEC MC-7).
			req, _ := http.NewRequest(http.MethodGet, emu.URL()+"/v1/executions/"+ex.TraceID, nil)
			req.Header.Set("Authorization", "Bearer "+emu.APIKey())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var rec struct {
				Status string `json:"status"`
				Stdout string `json:"stdout"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&rec)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || rec.Status != "success" || rec.Stdout != seedStdout {
				t.Errorf("GET /v1/executions/%s: HTTP %d %+v", ex.TraceID, resp.StatusCode, rec)
			}

			res, err = cs.CallTool(t.Context(), &sdk.CallToolParams{Name: mcp.ToolDownload, Arguments: map[string]any{
				"source": "thread", "id": thread, "path": "output.json",
			}})
			if err != nil {
				t.Fatal(err)
			}
			var dl downloadOut
			structured(t, res, &dl)
			if res.IsError || dl.URL == "" || dl.Method != http.MethodGet || dl.ExpiresAt == "" || dl.Headers == nil {
				t.Fatalf("files_download: isError %v, %+v\n%s", res.IsError, dl, text(res))
			}
			get, _ := http.NewRequest(dl.Method, dl.URL, nil)
			for k, v := range dl.Headers {
				get.Header.Set(k, v)
			}
			resp, err = http.DefaultClient.Do(get)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			stored, err := emu.ReadFile(emulator.Thread(thread), "output.json")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || string(got) != seedOutput || !bytes.Equal(got, stored) {
				t.Fatalf("GET the download URL: HTTP %d %q; stored %q, want %q", resp.StatusCode, got, stored, seedOutput)
			}
			if dl.Content == nil || *dl.Content != seedOutput || dl.Size != int64(len(seedOutput)) {
				t.Errorf("inline content %v, size %d; want %q", dl.Content, dl.Size, seedOutput)
			}
		})
	}
}

// TestGoSDKClientProgress: a call that asks for progress gets the output as
// progress notifications while the program runs, then the result.
func TestGoSDKClientProgress(t *testing.T) {
	emu := startEmulator(t, emulator.Options{})
	var mu sync.Mutex
	var msgs []string
	var progress []float64
	cs := connectGo(t, emu, &sdk.ClientOptions{ProgressNotificationHandler: func(_ context.Context, r *sdk.ProgressNotificationClientRequest) {
		mu.Lock()
		defer mu.Unlock()
		msgs = append(msgs, r.Params.Message)
		progress = append(progress, r.Params.Progress)
	}})
	code := "import time, sys\nfor i in range(3):\n    print('line', i, flush=True)\n    time.sleep(0.2)\nsys.stderr.write('done\\n')\n"
	params := &sdk.CallToolParams{Name: mcp.ToolExecute, Arguments: map[string]any{"code": code}}
	params.SetProgressToken("tok-1")
	res, err := cs.CallTool(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	var ex execOut
	structured(t, res, &ex)
	if !ex.Success || ex.Stdout != "line 0\nline 1\nline 2\n" || ex.Stderr != "done\n" {
		t.Fatalf("result %+v", ex)
	}
	mu.Lock()
	defer mu.Unlock()
	joined := strings.Join(msgs, "")
	for _, want := range []string{"line 0\n", "line 1\n", "line 2\n", "done\n"} {
		if !strings.Contains(joined, want) {
			t.Errorf("progress messages %q lack %q", msgs, want)
		}
	}
	if len(msgs) < 3 {
		t.Errorf("%d progress notifications, want one per line at least (lines were 200 ms apart): %q", len(msgs), msgs)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] <= progress[i-1] {
			t.Errorf("progress does not increase: %v", progress)
		}
	}
}

// TestGoSDKClientErrors: platform failures and bad arguments are tool
// errors naming the problem; a failing program is a normal result.
func TestGoSDKClientErrors(t *testing.T) {
	emu := startEmulator(t, emulator.Options{})
	cs := connectGo(t, emu, nil)
	call := func(name string, args map[string]any) *sdk.CallToolResult {
		t.Helper()
		res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		return res
	}

	res := call(mcp.ToolExecute, map[string]any{"code": "import sys\nprint('x')\nsys.exit(3)"})
	var ex execOut
	structured(t, res, &ex)
	if res.IsError || ex.Success || ex.ExitCode != 3 || ex.Status != "failed" || ex.Stdout != "x\n" {
		t.Errorf("failing program: isError %v %+v", res.IsError, ex)
	}

	res = call(mcp.ToolExecute, map[string]any{"code": "import time\ntime.sleep(5)", "timeout": 1})
	ex = execOut{}
	structured(t, res, &ex)
	if !res.IsError || ex.Status != "timeout" || ex.Success || !strings.Contains(strings.ToLower(text(res)), "timed out") {
		t.Errorf("timeout: isError %v %+v %q", res.IsError, ex, text(res))
	}

	for _, tc := range []struct {
		args  map[string]any
		words []string
	}{
		{map[string]any{"code": "print(1)", "language": "ruby"}, []string{"validation_error", "language", "ruby"}},
		{map[string]any{}, []string{"validation_error", "code"}},
		{map[string]any{"code": ""}, []string{"validation_error", "code"}},
		{map[string]any{"code": "print(1)", "timeout": 301}, []string{"validation_error", "timeout", "300"}},
		{map[string]any{"code": "print(1)", "timeout": "30"}, []string{"validation_error", "timeout"}},
		{map[string]any{"code": "print(1)", "thread_id": "a/b"}, []string{"validation_error", "thread_id"}},
		{map[string]any{"code": "print(1)", "env_vars": map[string]string{"PATH": "/x"}}, []string{"validation_error", "PATH"}},
	} {
		res := call(mcp.ToolExecute, tc.args)
		for _, w := range tc.words {
			if !res.IsError || !strings.Contains(text(res), w) {
				t.Errorf("sandbox_execute %v: isError %v %q, want an error naming %q", tc.args, res.IsError, text(res), w)
			}
		}
	}

	for _, tc := range []struct {
		args  map[string]any
		words []string
	}{
		{map[string]any{"source": "thread", "id": "never-used", "path": "a.txt"}, []string{"not_found", "never-used"}},
		{map[string]any{"source": "volume", "id": "no-such-volume", "path": "a.txt"}, []string{"not_found", "no-such-volume"}},
		{map[string]any{"source": "volume", "id": "reference-data", "path": "missing.txt"}, []string{"not_found", "missing.txt"}},
		{map[string]any{"source": "bucket", "id": "x", "path": "a"}, []string{"validation_error", "source"}},
		{map[string]any{"source": "thread", "id": "t", "path": "../etc/passwd"}, []string{"validation_error", "path"}},
		{map[string]any{"source": "thread", "id": "t"}, []string{"validation_error", "path"}},
		{map[string]any{"source": "thread", "id": "t", "path": "a", "inline": "yes"}, []string{"validation_error", "inline"}},
	} {
		res := call(mcp.ToolDownload, tc.args)
		for _, w := range tc.words {
			if !res.IsError || !strings.Contains(text(res), w) {
				t.Errorf("files_download %v: isError %v %q, want an error naming %q", tc.args, res.IsError, text(res), w)
			}
		}
	}

	// Unknown tools are a protocol error, not a tool result.
	if _, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "files_upload", Arguments: map[string]any{}}); err == nil {
		t.Error("calling an unknown tool: want a JSON-RPC error")
	}
}

// TestDownloadInline: the content comes inline for small UTF-8 text files
// only, and never when inline is false.
func TestDownloadInline(t *testing.T) {
	emu := startEmulator(t, emulator.Options{})
	cs := connectGo(t, emu, nil)
	th := emulator.Thread("inline")
	files := map[string][]byte{
		"small.txt":  []byte("héllo\n"),
		"empty.txt":  {},
		"cap.txt":    bytes.Repeat([]byte("a"), mcp.InlineMax),
		"big.txt":    bytes.Repeat([]byte("a"), mcp.InlineMax+1),
		"binary.bin": {0x89, 'P', 'N', 'G', 0, 1, 2},
		"latin1.txt": {'c', 0xe9},
	}
	for p, b := range files {
		if err := emu.WriteFile(th, p, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		path   string
		inline any
		want   bool
	}{
		{"small.txt", nil, true}, {"empty.txt", nil, true}, {"cap.txt", nil, true},
		{"big.txt", nil, false}, {"binary.bin", nil, false}, {"latin1.txt", nil, false},
		{"small.txt", false, false}, {"small.txt", true, true},
	} {
		args := map[string]any{"source": "thread", "id": "inline", "path": tc.path}
		if tc.inline != nil {
			args["inline"] = tc.inline
		}
		res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: mcp.ToolDownload, Arguments: args})
		if err != nil {
			t.Fatal(err)
		}
		var dl downloadOut
		structured(t, res, &dl)
		if res.IsError || dl.Size != int64(len(files[tc.path])) || dl.URL == "" {
			t.Errorf("%s: isError %v %+v", tc.path, res.IsError, dl)
			continue
		}
		if got := dl.Content != nil; got != tc.want {
			t.Errorf("%s inline=%v: content present %v, want %v", tc.path, tc.inline, got, tc.want)
		}
		if dl.Content != nil && *dl.Content != string(files[tc.path]) {
			t.Errorf("%s: content %q", tc.path, *dl.Content)
		}
	}
}

// TestBusyThreadIsToolError: a second call on a busy thread is a tool error
// saying so (409 on /v1), and leaves the first alone.
func TestBusyThreadIsToolError(t *testing.T) {
	emu := startEmulator(t, emulator.Options{})
	cs := connectGo(t, emu, nil)
	first := make(chan *sdk.CallToolResult, 1)
	go func() {
		res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: mcp.ToolExecute, Arguments: map[string]any{
			"code": "import time\nopen('/home/baponi/started', 'w').close()\ntime.sleep(2)\nprint('first')", "thread_id": "busy",
		}})
		if err != nil {
			t.Error(err)
		}
		first <- res
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := emu.ReadFile(emulator.Thread("busy"), "started"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first execution never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: mcp.ToolExecute, Arguments: map[string]any{"code": "print(2)", "thread_id": "busy"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.IsError || !strings.Contains(text(res), "conflict") || !strings.Contains(text(res), "busy") {
		t.Errorf("second call on a busy thread: isError %v %q", res.IsError, text(res))
	}
	r1 := <-first
	var ex execOut
	structured(t, r1, &ex)
	if r1.IsError || ex.Stdout != "first\n" {
		t.Errorf("first call: isError %v %+v", r1.IsError, ex)
	}
}

// TestClientGoneCancels: when the client leaves mid-call the execution is
// cancelled, as a synchronous /v1 execution is, and frees its thread.
func TestClientGoneCancels(t *testing.T) {
	emu := startEmulator(t, emulator.Options{})
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sandbox_execute","arguments":{"code":"import time\nopen('/home/baponi/started','w').close()\ntime.sleep(30)","thread_id":"gone"}}}`
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, emu.URL()+mcp.Path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+emu.APIKey())
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := emu.ReadFile(emulator.Thread("gone"), "started"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the execution never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	// The thread is free again well before the 30 s sleep would end.
	for {
		var ex execOut
		st := restPost(t, emu, "/v1/sandbox/execute", map[string]any{"code": "print('again')", "thread_id": "gone"}, &ex)
		if st == http.StatusOK {
			if ex.Stdout != "again\n" {
				t.Fatalf("execution after the cancelled one: %+v", ex)
			}
			return
		}
		if st != http.StatusConflict || time.Now().After(deadline) {
			t.Fatalf("thread still busy after the client left: HTTP %d", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ExampleNew() {
	// The endpoint is served by every emulator at /mcp; see the README for
	// client configurations.
	fmt.Println(mcp.Path, mcp.ProtocolVersion)
	// Output: /mcp 2025-11-25
}
