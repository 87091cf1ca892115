package conformance

// The MCP endpoint (SPEC section MCP, rules MC-1 … MC-13): POST /mcp,
// stateless Streamable HTTP, tools sandbox_execute and files_download.
// Every check carries the label "mcp". A target that serves no /mcp (a
// localbaponi whose /_emulator/info lists no "mcp" feature, or anything
// else whose POST /mcp answers 404) has every check skipped with that
// reason.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// mcpSection is the section of the contract the MC rules stand in.
const mcpSection = "5. MCP — `POST /mcp`: Streamable HTTP, stateless; tools `sandbox_execute` and `files_download`"

// mcpRules are the rules of the contract's section MCP (RULES.md, generated
// from them); docs/SPEC-MCP.md records the decisions behind the EMU ones.
func mcpRules() []Rule {
	return []Rule{
		{ID: "MC-1", Level: DOC, Section: mcpSection,
			Title: "POST /mcp: JSON-RPC 2.0 over Streamable HTTP; the answer carries the request's id",
			Text:  "`POST /mcp` takes one JSON-RPC 2.0 message (`Content-Type: application/json`) and answers a request with a JSON-RPC 2.0 response carrying the request's `id`, as `application/json` or `text/event-stream` (MC-12 says which). A notification (no `id`) is answered `202 Accepted` with no body. (EMU: `/_emulator/info` lists `mcp` in `features`.)", Clauses: []Clause{{"MC-1.a", "a JSON-RPC request is answered 200 with a JSON-RPC 2.0 response carrying its id"}, {"MC-1.b", "/_emulator/info lists the mcp feature"}}},
		{ID: "MC-2", Level: DOC, Section: mcpSection,
			Title: "every /mcp request needs Authorization: Bearer <key>; missing, malformed, unknown or revoked → 401 (EMU: the /v1 envelope; per-key rate limits apply)",
			Text:  "Every request needs `Authorization: Bearer <key>`. Missing header, another scheme, no token, unknown or revoked key → **401**. (EMU: in the `/v1` envelope `{\"error\": \"unauthorized\", \"message\": …}`; the key's rate limit applies as on `/v1`: 429 `rate_limited` with `Retry-After` (E-3); the auth check runs before the MCP layer sees the request; tool calls act as the key's organisation: its threads, volumes and limits.)", Clauses: []Clause{{"MC-2.a", "no key, another scheme, no token or an unknown key → 401"}, {"MC-2.b", "the 401 is the /v1 envelope; a revoked key → 401; a key's rate limit → 429 rate_limited with Retry-After"}}},
		{ID: "MC-3", Level: DOC, Section: mcpSection,
			Title: "stateless: no Mcp-Session-Id is issued; one the client sends is ignored",
			Text:  "Stateless: no response carries `Mcp-Session-Id`; a request carrying one (any value) is served exactly as without it.", Clauses: []Clause{{"MC-3.a", "no response carries Mcp-Session-Id"}, {"MC-3.b", "a request with a made-up Mcp-Session-Id is served as without it"}}},
		{ID: "MC-4", Level: DOC, Section: mcpSection,
			Title: "initialize is optional: tools/list and tools/call work without it; initialize answers protocolVersion 2025-11-25 and the tools capability",
			Text:  "`initialize` is optional: `tools/list` and `tools/call` work as the first and only request. `initialize` is accepted and answers `protocolVersion` `2025-11-25`, `capabilities.tools` and `serverInfo`. (EMU: a client asking for an older version among `2025-06-18`, `2025-03-26`, `2024-11-05` gets that version; one asking for a newer one gets `2025-11-25`. `MCP-Protocol-Version` headers of other old versions → 400 `validation_error` naming the supported ones.)", Clauses: []Clause{{"MC-4.a", "tools/call works as the first and only request"}, {"MC-4.b", "initialize answers protocolVersion 2025-11-25, capabilities.tools and serverInfo"}}},
		{ID: "MC-5", Level: DOC, Section: mcpSection,
			Title: "tools/list lists sandbox_execute and files_download (EMU: their input schemas are the REST bodies)",
			Text:  "`tools/list` lists `sandbox_execute` and `files_download`. (EMU: exactly these two. `sandbox_execute` input: `code` (required), `language`, `thread_id`, `timeout`, `env_vars` — the body of `POST /v1/sandbox/execute`; `files_download` input: `source`, `id`, `path` (all required) — the body of `POST /v1/files/download_url` — plus `inline` (boolean, default true). Both declare an `outputSchema`.)", Clauses: []Clause{{"MC-5.a", "tools/list lists sandbox_execute and files_download"}, {"MC-5.b", "exactly the two tools; input schemas with the REST bodies' fields and required ones; an output schema each"}}},
		{ID: "MC-6", Level: EMU, Section: mcpSection,
			Title: "sandbox_execute runs through the execute service: the same threads, validation and records as /v1",
			Text:  "`sandbox_execute` is `POST /v1/sandbox/execute` by another door: its arguments are decoded and validated by the same code with the same messages (R-2, R-5, R-7, P-2), it runs in the same sandbox through the same execution service: `thread_id` is the same thread the Files API and `/v1/sandbox/execute` see (R-3), a busy thread is refused (R-4), timeouts and memory limits are the key's (R-5), volumes are mounted (R-6), and `GET /v1/executions/{trace_id}` returns the record of an MCP run. Unknown arguments are ignored, as unknown body fields are; `webhook_url` is ignored (results come back in the call). When the client goes away mid-call, the execution is cancelled, as a synchronous `/v1` execution is.", Clauses: []Clause{{"MC-6.a", "sandbox_execute's thread_id is the thread the Files API and /v1/sandbox/execute see; without it the home is empty"}, {"MC-6.b", "GET /v1/executions/{trace_id} returns the record of an MCP run"}}},
		{ID: "MC-7", Level: EMU, Section: mcpSection,
			Title: "sandbox_execute result: structuredContent with the REST result's fields plus text; a failing program is a normal result",
			Text:  "`sandbox_execute`'s result has `structuredContent` with the REST result's fields `success, stdout, stderr, exit_code, error, status, trace_id, duration_ms` (`error` is `null` unless the platform has a message) and one `text` content block rendering them for a model (a summary line, then stdout and stderr). A program that ran and failed (non-zero exit, killed by a signal it caused) is a normal result: `isError` false, `success` false.", Clauses: []Clause{{"MC-7.a", "structuredContent has success, stdout, stderr, exit_code, error, status, trace_id, duration_ms, plus a text block"}, {"MC-7.b", "a program that exits non-zero is a normal result: isError false, success false"}}},
		{ID: "MC-8", Level: EMU, Section: mcpSection,
			Title: "bad arguments, a busy thread, a timeout are tool errors (isError) naming the problem",
			Text:  "Platform failures are tool errors (`isError: true`) whose text names the problem: invalid arguments (`validation_error: <the /v1 message, naming the field and limit>`), a busy thread (`conflict: thread \"…\" is busy …`), execution not available (`not_found: …`). A run the platform cut short or could not start — status `timeout`, `oom`, `cancelled`, `blocked`, or `failed` with `exit_code` -1 and an `error` (sandbox or interpreter failure) — is a tool error that still carries the full result in `structuredContent`, and its text gives the platform's message (e.g. \"Execution did not complete: Execution timed out after 1s (status timeout)\"). An unknown tool name is a JSON-RPC error, not a tool result.", Clauses: []Clause{{"MC-8.a", "bad arguments, a timeout and a busy thread are isError results whose text names the problem"}}},
		{ID: "MC-9", Level: EMU, Section: mcpSection,
			Title: "files_download: the download_url answer as structuredContent, plus size and small text files inline",
			Text:  "`files_download` answers `structuredContent` `{url, method, headers, expires_at}` exactly as `POST /v1/files/download_url` does (D-1: GET, `headers` `{}` when none, `expires_at` RFC 3339 UTC, 15 minutes), plus `size` (bytes) and, when `inline` is not false and the file is valid UTF-8 without NUL of at most **32 KiB** (32768 bytes), `content`: the whole file as a string. Larger or binary files have no `content`; the URL is how to get them. The text block shows method, URL, expiry, size and the content (or why it is not inline).", Clauses: []Clause{{"MC-9.a", "files_download answers url, method GET, headers, expires_at (15 minutes), size; the URL returns the bytes"}, {"MC-9.b", "a UTF-8 text file of at most 32 KiB comes inline as content; larger, binary or inline:false ones do not"}}},
		{ID: "MC-10", Level: EMU, Section: mcpSection,
			Title: "files_download: not found (file, thread, volume, directory, other organisation) and bad arguments are tool errors",
			Text:  "`files_download` errors are tool errors with the `/v1` code and message: missing file, directory, unknown thread or volume, another organisation's thread or volume → `not_found: …` (D-2, A-3); bad `source`, `id`, `path` or `inline` → `validation_error: …` naming the field (S-1, P-1, P-2).", Clauses: []Clause{{"MC-10.a", "missing file, directory, unknown or other organisation's thread, unknown volume → a not_found tool error"}, {"MC-10.b", "bad source or path → a validation_error tool error naming the field"}}},
		{ID: "MC-11", Level: EMU, Section: mcpSection,
			Title: "transport errors in the /v1 envelope: GET/DELETE 405 + Allow POST, non-JSON 415, over 4 MiB 413, bad JSON 400",
			Text:  "Requests refused before JSON-RPC get the `/v1` envelope: `GET`, `DELETE` and other methods → 405 `method_not_allowed` with `Allow: POST` (stateless: no SSE stream over GET, no session to DELETE); a `Content-Type` other than `application/json` (parameters allowed) or none → 415 `unsupported_media_type`; a body over 4 MiB (4194304 bytes, as E-2) → 413 `payload_too_large`; a body that is not JSON → 400 `validation_error`.", Clauses: []Clause{{"MC-11.a", "GET and DELETE → 405 method_not_allowed in the envelope with Allow: POST"}, {"MC-11.b", "a non-JSON Content-Type → 415, a body over 4 MiB → 413, a body that is not JSON → 400, in the envelope"}}},
		{ID: "MC-12", Level: EMU, Section: mcpSection,
			Title: "JSON answers for every client; SSE with progress notifications carrying the output only when asked for",
			Text:  "JSON works for every client: the answer is `application/json` unless the client accepts `text/event-stream` and either does not accept JSON at all or its `tools/call` asks for progress (`params._meta.progressToken`). A missing `Accept`, `*/*`, or `application/json` alone get JSON (the MCP SDK's requirement that Accept list both types is not imposed). In the stream, `sandbox_execute` sends the program's output as it comes: `notifications/progress` with the caller's `progressToken`, `message` = whole lines of output (a line still unfinished at the end, or longer than 4 KiB, goes as it is), `progress` = output bytes so far, `_meta.stream` = `stdout` or `stderr`; then the result.", Clauses: []Clause{{"MC-12.a", "Accept application/json alone, or no Accept, gets an application/json answer"}, {"MC-12.b", "a tools/call with a progressToken, accepting SSE, gets the output as notifications/progress before the result"}}},
		{ID: "MC-13", Level: EMU, Section: mcpSection,
			Title: "DNS-rebinding protection: foreign Host on a loopback listener, foreign Origin → 403",
			Text:  "DNS-rebinding protection (MCP security best practices for local servers): on a loopback listener, a `Host` that is not a loopback name (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`) nor the host of `--external-url` → 403 `forbidden`; anywhere, an `Origin` whose host is not loopback, the request's own host or the `--external-url` host → 403 `forbidden`. Checked before the key, so the refusal needs none. Requests through a container port mapping arrive on a non-loopback address and are not affected; with `--trust-forwarded-headers` (a trusted reverse proxy in front) the Host check is off and the Origin check stays.", Clauses: []Clause{{"MC-13.a", "on a loopback listener a foreign Host → 403 forbidden"}, {"MC-13.b", "a foreign Origin → 403 forbidden; loopback ones pass"}}},
	}
}

// mcpAccept is what MCP clients send (MCP transports: both types).
const mcpAccept = "application/json, text/event-stream"

// needMCP skips the check unless the target serves /mcp. An emulator says
// so in /_emulator/info; anything else is asked once.
func (c *checkRun) needMCP() {
	p := c.rs.pre
	if p.Emulator {
		if !slices.Contains(p.Features, "mcp") {
			c.skip(`/_emulator/info lists no "mcp" feature: this target serves no MCP endpoint`)
		}
		return
	}
	c.shared("mcp-endpoint", func(fc *checkRun) any {
		r := fc.mcpPost(fc.key(), nil, map[string]any{"jsonrpc": "2.0", "id": 0, "method": "tools/list"})
		if r.Status == http.StatusNotFound || r.Status == http.StatusMethodNotAllowed {
			fc.skip("POST /mcp answers %s: the target serves no MCP endpoint", r.Summary())
		}
		return true
	})
}

// mcpPost posts body (a value to encode, or a raw string) to /mcp with key
// (nil: none) and MCP's Accept; headers override or, when "", remove.
func (c *checkRun) mcpPost(key *keyRef, headers map[string]string, body any) *Response {
	q := c.rs.cl.api(http.MethodPost, "/mcp", key, body)
	q.Header.Set("Accept", mcpAccept)
	for k, v := range headers {
		if v == "" {
			q.Header.Del(k)
		} else {
			q.Header.Set(k, v)
		}
	}
	return c.send(q)
}

// rpcMsg is one JSON-RPC message.
type rpcMsg struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// rpcMessages reads the messages of an answer: one JSON object, or the
// data of each SSE event.
func rpcMessages(r *Response) ([]rpcMsg, error) {
	var raws [][]byte
	if r.MediaType() == "text/event-stream" {
		sc := bufio.NewScanner(bytes.NewReader(r.Body))
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		var data []byte
		for sc.Scan() {
			line := sc.Bytes()
			if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
				data = append(data, bytes.TrimPrefix(d, []byte(" "))...)
			} else if len(line) == 0 && data != nil {
				raws, data = append(raws, data), nil
			}
		}
		if data != nil {
			raws = append(raws, data)
		}
	} else {
		raws = [][]byte{r.Body}
	}
	var out []rpcMsg
	for _, raw := range raws {
		var m rpcMsg
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("not a JSON-RPC message: %q: %w", raw, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// rpc sends a JSON-RPC request and requires a 200 answer holding a
// successful response with its id; it returns that response and every
// message of the answer.
func (c *checkRun) rpc(headers map[string]string, method string, params any) (rpcMsg, []rpcMsg, *Response) {
	id := fmt.Sprintf("conf-%d", c.rs.seq.Add(1))
	body := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		body["params"] = params
	}
	r := c.mcpPost(c.key(), headers, body)
	c.ok(r)
	msgs, err := rpcMessages(r)
	if err != nil {
		c.fail(r, "a JSON-RPC 2.0 answer", r.Summary(), "%v", err)
	}
	for _, m := range msgs {
		if string(m.ID) == `"`+id+`"` && (m.Result != nil || m.Error != nil) {
			if m.Error != nil {
				c.fail(r, method+" result", r.Summary(), "%s answered JSON-RPC error %d: %s", method, m.Error.Code, m.Error.Message)
			}
			return m, msgs, r
		}
	}
	c.fail(r, fmt.Sprintf("a JSON-RPC response with id %q", id), r.Summary(), "no response to %s with the request's id", method)
	return rpcMsg{}, nil, r
}

// toolResult is a tools/call result.
type toolResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	IsError           bool            `json:"isError"`
	resp              *Response
}

func (t toolResult) text() string {
	var b strings.Builder
	for _, c := range t.Content {
		b.WriteString(c.Text)
	}
	return b.String()
}

// object is structuredContent as a map (nil when absent).
func (t toolResult) object() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(t.StructuredContent, &m)
	return m
}

// callTool calls a tool (without initialize: MC-4).
func (c *checkRun) callTool(headers map[string]string, name string, args map[string]any) toolResult {
	m, _, r := c.rpc(headers, "tools/call", map[string]any{"name": name, "arguments": args})
	var t toolResult
	if err := json.Unmarshal(m.Result, &t); err != nil {
		c.fail(r, "a tools/call result {content, structuredContent?, isError?}", r.Summary(), "%v", err)
	}
	t.resp = r
	return t
}

// mcpExec is sandbox_execute's structuredContent.
type mcpExec struct {
	Success    *bool   `json:"success"`
	Stdout     *string `json:"stdout"`
	Stderr     *string `json:"stderr"`
	ExitCode   *int    `json:"exit_code"`
	Status     string  `json:"status"`
	TraceID    string  `json:"trace_id"`
	DurationMS *int64  `json:"duration_ms"`
}

// execTool runs code through sandbox_execute and requires a result with
// structuredContent.
func (c *checkRun) execTool(args map[string]any) (mcpExec, toolResult) {
	t := c.callTool(nil, "sandbox_execute", args)
	var e mcpExec
	if err := json.Unmarshal(t.StructuredContent, &e); err != nil || e.Success == nil || e.Stdout == nil || e.ExitCode == nil {
		c.fail(t.resp, "structuredContent {success, stdout, stderr, exit_code, …}", t.resp.Summary(), "sandbox_execute answered no result (%v): %s", err, t.text())
	}
	return e, t
}

// toolErrorNaming requires a tool error whose text names every word.
func (c *checkRun) toolErrorNaming(t toolResult, words ...string) {
	c.holds(t.IsError, t.resp, "isError true", t.resp.Summary(), "not reported as a tool error")
	for _, w := range words {
		c.holds(strings.Contains(strings.ToLower(t.text()), strings.ToLower(w)), t.resp, fmt.Sprintf("a message naming %q", w), t.text(), "the tool error does not name %q", w)
	}
}

var _ = area("mcp", nil, func() {
	check("MC-1", DOC, "POST /mcp answers a JSON-RPC 2.0 request with a JSON-RPC 2.0 response carrying its id", labels("MC-1.a"), func(c *checkRun) {
		c.needMCP()
		for _, id := range []string{`"conf-id-1"`, `42`} {
			r := c.mcpPost(c.key(), nil, `{"jsonrpc":"2.0","id":`+id+`,"method":"tools/list"}`)
			c.ok(r)
			mt := r.MediaType()
			c.holds(mt == "application/json" || mt == "text/event-stream", r, "Content-Type application/json or text/event-stream", mt, "wrong Content-Type")
			msgs, err := rpcMessages(r)
			c.holds(err == nil, r, "JSON-RPC messages", r.Summary(), "%v", err)
			found := false
			for _, m := range msgs {
				found = found || (m.JSONRPC == "2.0" && string(m.ID) == id && m.Result != nil)
			}
			c.holds(found, r, `a message {"jsonrpc": "2.0", "id": `+id+`, "result": …}`, r.Summary(), "no response with the request's id")
		}
	})

	check("MC-1", EMU, `/_emulator/info lists the "mcp" feature`, labels("MC-1.b"), func(c *checkRun) {
		c.need(needEmulator)
		r := c.api(http.MethodGet, "/_emulator/info", nil, nil)
		c.ok(r)
		var info struct {
			Features []string `json:"features"`
		}
		_ = r.JSON(&info)
		c.holds(slices.Contains(info.Features, "mcp"), r, `features containing "mcp"`, fmt.Sprint(info.Features), "no mcp feature")
	})

	check("MC-2", DOC, "missing, malformed or unknown key → 401", labels("auth", "MC-2.a"), func(c *checkRun) {
		c.needMCP()
		list := map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
		r := c.mcpPost(nil, nil, list)
		c.status(r, http.StatusUnauthorized)
		for _, auth := range []string{"Basic dXNlcjpwYXNz", "Bearer", "sk-us-bm90LWEta2V5"} {
			r = c.mcpPost(nil, map[string]string{"Authorization": auth}, list)
			c.status(r, http.StatusUnauthorized)
		}
		unknown := keyRef{value: "sk-us-bm90LWEta2V5"}
		r = c.mcpPost(&unknown, nil, list)
		c.status(r, http.StatusUnauthorized)
		r = c.mcpPost(&unknown, nil, map[string]any{"jsonrpc": "2.0", "id": 2, "method": "tools/call",
			"params": map[string]any{"name": "files_download", "arguments": map[string]any{"source": "thread", "id": "x", "path": "a"}}})
		c.status(r, http.StatusUnauthorized)
	})

	check("MC-2", EMU, "401 in the {error, message} envelope; a revoked key → 401; per-key rate limits apply (429 + Retry-After)", labels("auth", "MC-2.b"), func(c *checkRun) {
		c.needMCP()
		c.need(needEmulator)
		list := map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
		r := c.mcpPost(nil, nil, list)
		c.wantError(r, http.StatusUnauthorized, "unauthorized")
		c.envelope(r)

		limited := *c.arrangedKey("rate-limited key", "", map[string]any{"rate_limit": map[string]any{"rps": 0.01, "burst": 2}})
		for i := 0; i < 2; i++ {
			c.ok(c.mcpPost(&limited, nil, list))
		}
		r = c.mcpPost(&limited, nil, list)
		c.wantError(r, http.StatusTooManyRequests, "rate_limited")
		c.holds(r.Header.Get("Retry-After") != "", r, "a Retry-After header", r.Summary(), "429 without Retry-After")

		c.ok(c.api(http.MethodDelete, "/_emulator/keys/"+limited.value, nil, nil))
		r = c.mcpPost(&limited, nil, list)
		c.wantError(r, http.StatusUnauthorized, "unauthorized")
		c.envelope(r)
	})

	check("MC-3", DOC, "no Mcp-Session-Id is issued, and one the client sends is ignored", labels("MC-3.a", "MC-3.b"), func(c *checkRun) {
		c.needMCP()
		_, _, r := c.rpc(nil, "initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
			"clientInfo": map[string]any{"name": "baponi-conformance", "version": "1"}})
		c.holds(r.Header.Get("Mcp-Session-Id") == "", r, "no Mcp-Session-Id header", r.Header.Get("Mcp-Session-Id"), "a stateless server issued a session id")
		for _, sid := range []string{"conf-made-up-session", "0000"} {
			m, _, r := c.rpc(map[string]string{"Mcp-Session-Id": sid, "Mcp-Protocol-Version": "2025-11-25"}, "tools/list", nil)
			c.holds(r.Header.Get("Mcp-Session-Id") == "", r, "no Mcp-Session-Id header", r.Header.Get("Mcp-Session-Id"), "a session id came back")
			c.holds(bytes.Contains(m.Result, []byte(`"sandbox_execute"`)), r, "the tool list", r.Summary(), "tools/list with a made-up session id did not answer the tools")
		}
		sp := c.thread("mc3")
		c.upload(sp, "s.txt", "text/plain", []byte("stateless"))
		t := c.callTool(map[string]string{"Mcp-Session-Id": "conf-made-up-session"}, "files_download", map[string]any{"source": "thread", "id": sp.ID, "path": "s.txt"})
		c.holds(!t.IsError && t.object()["url"] != nil, t.resp, "a files_download result", t.resp.Summary(), "tools/call with a made-up session id failed")
	})

	check("MC-4", DOC, "tools/call works without initialize; initialize answers protocolVersion 2025-11-25 and the tools capability", labels("MC-4.a", "MC-4.b"), func(c *checkRun) {
		c.needMCP()
		sp := c.thread("mc4")
		c.upload(sp, "a.txt", "text/plain", []byte("no handshake"))
		t := c.callTool(nil, "files_download", map[string]any{"source": "thread", "id": sp.ID, "path": "a.txt"})
		c.holds(!t.IsError && t.object()["url"] != nil, t.resp, "a files_download result", t.resp.Summary(), "tools/call without initialize failed")

		m, _, r := c.rpc(nil, "initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
			"clientInfo": map[string]any{"name": "baponi-conformance", "version": "1"}})
		var res struct {
			ProtocolVersion string                     `json:"protocolVersion"`
			Capabilities    map[string]json.RawMessage `json:"capabilities"`
			ServerInfo      map[string]any             `json:"serverInfo"`
		}
		_ = json.Unmarshal(m.Result, &res)
		c.holds(res.ProtocolVersion == "2025-11-25", r, "protocolVersion 2025-11-25", res.ProtocolVersion, "wrong protocol version")
		c.holds(res.Capabilities["tools"] != nil && res.ServerInfo != nil, r, "capabilities.tools and serverInfo", r.Summary(), "initialize lacks the tools capability or serverInfo")
	})

	check("MC-5", DOC, "tools/list lists sandbox_execute and files_download", labels("MC-5.a"), func(c *checkRun) {
		c.needMCP()
		m, _, r := c.rpc(nil, "tools/list", nil)
		var res struct {
			Tools []struct {
				Name string `json:"name"`
			} `json:"tools"`
		}
		_ = json.Unmarshal(m.Result, &res)
		var names []string
		for _, t := range res.Tools {
			names = append(names, t.Name)
		}
		c.holds(slices.Contains(names, "sandbox_execute") && slices.Contains(names, "files_download"), r, "sandbox_execute and files_download", fmt.Sprint(names), "a tool is missing")
	})

	check("MC-5", EMU, "exactly the two tools, with the REST bodies' fields as input schemas and an output schema", labels("MC-5.b"), func(c *checkRun) {
		c.needMCP()
		m, _, r := c.rpc(nil, "tools/list", nil)
		var res struct {
			Tools []struct {
				Name        string `json:"name"`
				InputSchema struct {
					Type       string                     `json:"type"`
					Properties map[string]json.RawMessage `json:"properties"`
					Required   []string                   `json:"required"`
				} `json:"inputSchema"`
				OutputSchema map[string]any `json:"outputSchema"`
			} `json:"tools"`
		}
		_ = json.Unmarshal(m.Result, &res)
		c.holds(len(res.Tools) == 2, r, "two tools", fmt.Sprint(len(res.Tools)), "wrong number of tools")
		want := map[string]struct{ props, required []string }{
			"sandbox_execute": {[]string{"code", "language", "thread_id", "timeout", "env_vars"}, []string{"code"}},
			"files_download":  {[]string{"source", "id", "path"}, []string{"source", "id", "path"}},
		}
		for _, t := range res.Tools {
			w, ok := want[t.Name]
			if !ok {
				continue
			}
			for _, p := range w.props {
				c.holds(t.InputSchema.Properties[p] != nil, r, t.Name+" input property "+p, r.Summary(), "%s lacks input property %q", t.Name, p)
			}
			slices.Sort(t.InputSchema.Required)
			slices.Sort(w.required)
			c.holds(t.InputSchema.Type == "object" && slices.Equal(t.InputSchema.Required, w.required), r, fmt.Sprint(t.Name, " required ", w.required), fmt.Sprint(t.InputSchema.Required), "wrong required arguments")
			c.holds(t.OutputSchema != nil, r, t.Name+" has an outputSchema", r.Summary(), "no output schema")
		}
	})

	check("MC-6", EMU, "sandbox_execute shares threads with the Files API and /v1/sandbox/execute; GET /v1/executions finds its runs", labels("execute", "MC-6.a", "MC-6.b"), func(c *checkRun) {
		c.needMCP()
		c.need(needExecute)
		sp := c.thread("mc6")
		c.upload(sp, "input.json", "application/json", []byte(`{"values": [1, 2, 3, 4, 5]}`))
		code := "import json\ndata = json.load(open('/home/baponi/input.json'))\n" +
			"result = {'sum': sum(data['values']), 'count': len(data['values'])}\n" +
			"json.dump(result, open('/home/baponi/output.json', 'w'))\nprint(f\"Processed {result['count']} values, sum = {result['sum']}\")\n"
		e, t := c.execTool(map[string]any{"code": code, "language": "python", "thread_id": sp.ID})
		c.holds(!t.IsError && *e.Success && *e.Stdout == "Processed 5 values, sum = 15\n", t.resp, "Processed 5 values, sum = 15", t.resp.Summary(), "the seed's code did not run on the thread")
		got := c.download(sp, "output.json")
		c.holds(string(got.Body) == `{"sum": 15, "count": 5}`, got, `{"sum": 15, "count": 5}`, string(got.Body), "output.json written through MCP does not download over /v1")
		rest := c.execOK("bash", "cat /home/baponi/output.json", sp.ID)
		c.holds(rest.out() == `{"sum": 15, "count": 5}`, rest.resp, "output.json", rest.out(), "/v1/sandbox/execute does not see the MCP run's file")
		c.holds(e.TraceID != "", t.resp, "a trace_id", t.resp.Summary(), "no trace_id")
		g := c.call(http.MethodGet, "/v1/executions/"+e.TraceID, nil)
		c.ok(g)
		rec := g.Object()
		c.holds(rec["status"] == "success" && rec["stdout"] == "Processed 5 values, sum = 15\n", g, "the record of the MCP run", g.Summary(), "GET /v1/executions does not find the MCP run")
		// Without thread_id: an empty home, as on /v1 (SPEC R-3).
		e, t = c.execTool(map[string]any{"code": "import os\nprint(sorted(os.listdir('/home/baponi')))"})
		c.holds(*e.Stdout == "[]\n", t.resp, "[]", *e.Stdout, "the home without thread_id is not empty")
	})

	check("MC-7", EMU, "sandbox_execute answers structuredContent {success, stdout, stderr, exit_code, error, status, trace_id, duration_ms} and text; a failing program is a normal result", labels("execute", "MC-7.a", "MC-7.b"), func(c *checkRun) {
		c.needMCP()
		c.need(needExecute)
		e, t := c.execTool(map[string]any{"code": "import sys\nprint('hello')\nsys.stderr.write('warn')\n"})
		obj := t.object()
		for _, f := range []string{"success", "stdout", "stderr", "exit_code", "error", "status", "trace_id", "duration_ms"} {
			_, ok := obj[f]
			c.holds(ok, t.resp, "structuredContent."+f, t.resp.Summary(), "structuredContent lacks %q", f)
		}
		c.holds(!t.IsError && *e.Success && *e.ExitCode == 0 && *e.Stdout == "hello\n" && *e.Stderr == "warn" && e.Status == "success" && obj["error"] == nil,
			t.resp, `success, exit 0, stdout "hello\n", stderr "warn", error null`, t.resp.Summary(), "wrong result of a successful run")
		c.holds(len(t.Content) > 0 && t.Content[0].Type == "text" && strings.Contains(t.text(), "hello"), t.resp, "a text block with the output", t.text(), "no text rendering of the result")
		e, t = c.execTool(map[string]any{"code": "import sys\nprint('partial')\nsys.exit(3)\n"})
		c.holds(!t.IsError && !*e.Success && *e.ExitCode == 3 && e.Status == "failed" && *e.Stdout == "partial\n", t.resp,
			"isError false, success false, exit_code 3, status failed", t.resp.Summary(), "a failing program is not a normal result")
	})

	check("MC-8", EMU, "bad arguments, a busy thread and a timeout are tool errors naming the problem", labels("execute", "MC-8.a"), func(c *checkRun) {
		c.needMCP()
		c.need(needExecute)
		c.toolErrorNaming(c.callTool(nil, "sandbox_execute", map[string]any{"code": "puts 1", "language": "ruby"}), "validation_error", "language")
		c.toolErrorNaming(c.callTool(nil, "sandbox_execute", map[string]any{"code": ""}), "validation_error", "code")
		c.toolErrorNaming(c.callTool(nil, "sandbox_execute", map[string]any{"code": "print(1)", "timeout": 0}), "validation_error", "timeout")
		c.toolErrorNaming(c.callTool(nil, "sandbox_execute", map[string]any{"code": "print(1)", "env_vars": map[string]string{"HOME": "/x"}}), "validation_error", "HOME")

		t := c.callTool(nil, "sandbox_execute", map[string]any{"code": "import time\ntime.sleep(20)", "timeout": 1})
		c.toolErrorNaming(t, "timed out")
		c.holds(t.object()["status"] == "timeout", t.resp, "structuredContent.status timeout", t.resp.Summary(), "the timed-out run's result is missing")

		sp := c.thread("mc8")
		q := c.rs.cl.api(http.MethodPost, "/mcp", &c.rs.key, map[string]any{"jsonrpc": "2.0", "id": "first", "method": "tools/call",
			"params": map[string]any{"name": "sandbox_execute", "arguments": map[string]any{
				"code": "import time\nopen('/home/baponi/started','w').write('1')\ntime.sleep(4)", "thread_id": sp.ID}}})
		q.Header.Set("Accept", mcpAccept)
		done := make(chan *Response, 1)
		go func() { done <- c.rs.cl.do(c.ctx, q) }()
		c.awaitStarted(sp)
		busy := c.callTool(nil, "sandbox_execute", map[string]any{"code": "print(2)", "thread_id": sp.ID})
		first := <-done
		c.holds(first.Err == nil && first.Status == http.StatusOK, first, "the first call answers", first.Summary(), "the first call failed")
		c.toolErrorNaming(busy, "busy")
	})

	check("MC-9", EMU, "files_download answers {url, method, headers, expires_at, size} and inlines small text files", labels("download", "MC-9.a", "MC-9.b"), func(c *checkRun) {
		c.needMCP()
		sp := c.thread("mc9")
		text := "héllo, MCP\n"
		c.upload(sp, "out/report.txt", "text/plain", []byte(text))
		before := c.serverNow()
		t := c.callTool(nil, "files_download", map[string]any{"source": "thread", "id": sp.ID, "path": "out/report.txt"})
		after := c.serverNow()
		var d struct {
			signed
			Size    *int64  `json:"size"`
			Content *string `json:"content"`
		}
		c.holds(!t.IsError && json.Unmarshal(t.StructuredContent, &d) == nil, t.resp, "a files_download result", t.resp.Summary(), "no result")
		c.holds(d.URL != "" && d.Method == http.MethodGet && d.Headers != nil && t.object()["headers"] != nil, t.resp, `url, method "GET", headers {}`, t.resp.Summary(), "not the download_url answer")
		d.resp = t.resp
		// Bracketed by the target's clock before and after the call, as
		// upload_url's and download_url's are (U-2), so a slow machine does
		// not read as a wrong expiry.
		c.expiresWithin("files_download", d.signed, before, after)
		got := c.get(d.signed, nil)
		c.ok(got)
		c.holds(string(got.Body) == text, got, text, string(got.Body), "the URL does not return the stored bytes")
		c.holds(d.Size != nil && *d.Size == int64(len(text)), t.resp, fmt.Sprint("size ", len(text)), t.resp.Summary(), "wrong size")
		c.holds(d.Content != nil && *d.Content == text, t.resp, "content "+text, t.resp.Summary(), "the small text file is not inline")
		c.holds(strings.Contains(t.text(), d.URL), t.resp, "the URL in the text block", t.text(), "the text rendering lacks the URL")

		t = c.callTool(nil, "files_download", map[string]any{"source": "thread", "id": sp.ID, "path": "out/report.txt", "inline": false})
		c.holds(!t.IsError && t.object()["content"] == nil, t.resp, "no content with inline false", t.resp.Summary(), "content inline despite inline false")
		c.upload(sp, "big.txt", "text/plain", bytes.Repeat([]byte("a"), 32<<10+1))
		c.upload(sp, "bin.dat", "application/octet-stream", []byte{0x89, 'P', 'N', 'G', 0, 1, 0xff})
		for _, p := range []string{"big.txt", "bin.dat"} {
			t = c.callTool(nil, "files_download", map[string]any{"source": "thread", "id": sp.ID, "path": p})
			c.holds(!t.IsError && t.object()["url"] != nil && t.object()["content"] == nil, t.resp, "a URL and no content for "+p, t.resp.Summary(), "%s is inline: only UTF-8 text of at most 32 KiB is", p)
		}
	})

	check("MC-10", EMU, "files_download: missing file, unknown or other organisation's thread, unknown volume, directory → not_found tool errors; bad arguments → validation_error", labels("download", "MC-10.a", "MC-10.b"), func(c *checkRun) {
		c.needMCP()
		sp := c.thread("mc10")
		c.upload(sp, "dir/a.txt", "text/plain", []byte("a"))
		dl := func(args map[string]any) toolResult { return c.callTool(nil, "files_download", args) }
		c.toolErrorNaming(dl(map[string]any{"source": "thread", "id": sp.ID, "path": "missing.txt"}), "not_found", "missing.txt")
		c.toolErrorNaming(dl(map[string]any{"source": "thread", "id": sp.ID, "path": "dir"}), "not_found")
		c.toolErrorNaming(dl(map[string]any{"source": "thread", "id": c.unknownThread().ID, "path": "a.txt"}), "not_found")
		c.toolErrorNaming(dl(map[string]any{"source": "volume", "id": c.rs.prefix + "-no-such-volume", "path": "a.txt"}), "not_found")
		c.toolErrorNaming(dl(map[string]any{"source": "bucket", "id": sp.ID, "path": "dir/a.txt"}), "validation_error", "source")
		c.toolErrorNaming(dl(map[string]any{"source": "thread", "id": sp.ID, "path": "../dir/a.txt"}), "validation_error", "path")
		if c.rs.cfg.OtherOrgAPIKey != "" {
			other := c.otherThread("mc10")
			up := c.api(http.MethodPost, "/v1/files/upload_url", c.other(), other.body("path", "secret.txt", "content_length", 1))
			c.ok(up)
			c.stored(c.put(c.parseSigned(up), []byte("s")))
			c.toolErrorNaming(dl(map[string]any{"source": "thread", "id": other.ID, "path": "secret.txt"}), "not_found")
		}
	})

	check("MC-11", EMU, "transport errors come in the {error, message} envelope: GET/DELETE 405 + Allow POST, non-JSON 415, over 4 MiB 413, bad JSON 400", labels("errors", "MC-11.a", "MC-11.b"), func(c *checkRun) {
		c.needMCP()
		for _, m := range []string{http.MethodGet, http.MethodDelete} {
			q := c.rs.cl.api(m, "/mcp", &c.rs.key, nil)
			q.Header.Set("Accept", "text/event-stream")
			r := c.send(q)
			c.status(r, http.StatusMethodNotAllowed)
			c.envelope(r)
			c.holds(r.Header.Get("Allow") == "POST", r, "Allow: POST", r.Header.Get("Allow"), "wrong Allow")
		}
		list := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
		r := c.mcpPost(c.key(), map[string]string{"Content-Type": "text/plain"}, list)
		c.status(r, http.StatusUnsupportedMediaType)
		c.envelope(r)
		c.messageHas(r, "application/json")
		big := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", 4<<20) + `"}}`
		r = c.mcpPost(c.key(), nil, big)
		c.status(r, http.StatusRequestEntityTooLarge)
		c.envelope(r)
		r = c.mcpPost(c.key(), nil, `{"jsonrpc":"2.0","id":1,`)
		c.wantError(r, http.StatusBadRequest, "validation_error")
		c.envelope(r)
	})

	check("MC-12", EMU, "JSON answers without SSE, with Accept application/json or none; progress notifications with the output over SSE when asked", labels("execute", "MC-12.a", "MC-12.b"), func(c *checkRun) {
		c.needMCP()
		c.need(needExecute)
		for _, accept := range []string{"application/json", ""} {
			m, _, r := c.rpc(map[string]string{"Accept": accept}, "tools/call", map[string]any{"name": "sandbox_execute", "arguments": map[string]any{"code": "print(1)"}})
			c.holds(r.MediaType() == "application/json" && bytes.Contains(m.Result, []byte(`"stdout":"1\n"`)), r, "an application/json answer with the result",
				r.Summary(), "Accept %q did not get a plain JSON answer", accept)
		}
		params := map[string]any{"name": "sandbox_execute", "_meta": map[string]any{"progressToken": "conf-progress"},
			"arguments": map[string]any{"code": "import time\nprint('first', flush=True)\ntime.sleep(0.3)\nprint('second')"}}
		_, msgs, r := c.rpc(nil, "tools/call", params)
		c.holds(r.MediaType() == "text/event-stream", r, "text/event-stream", r.MediaType(), "a call asking for progress got no stream")
		var out strings.Builder
		for _, m := range msgs {
			if m.Method == "notifications/progress" {
				var p struct {
					ProgressToken string `json:"progressToken"`
					Message       string `json:"message"`
				}
				_ = json.Unmarshal(m.Params, &p)
				c.holds(p.ProgressToken == "conf-progress", r, "progressToken conf-progress", string(m.Params), "wrong progress token")
				out.WriteString(p.Message)
			}
		}
		c.holds(out.String() == "first\nsecond\n", r, "progress messages carrying the output", out.String(), "the output did not come as progress notifications")
	})

	check("MC-13", EMU, "a foreign Host on a loopback listener, or a foreign Origin → 403 forbidden", labels("auth", "MC-13.a", "MC-13.b"), func(c *checkRun) {
		c.needMCP()
		c.need(needLoopback)
		list := map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
		r := c.mcpPost(c.key(), map[string]string{"Host": "rebind.evil.example"}, list)
		c.wantError(r, http.StatusForbidden, "forbidden")
		c.envelope(r)
		r = c.mcpPost(c.key(), map[string]string{"Origin": "https://evil.example"}, list)
		c.wantError(r, http.StatusForbidden, "forbidden")
		r = c.mcpPost(c.key(), map[string]string{"Host": "localhost", "Origin": "http://localhost:6274"}, list)
		c.ok(r)
	})
})

// holds fails the check with the expected and actual values unless cond
// holds; r is the reproducer (may be nil).
func (c *checkRun) holds(cond bool, r *Response, want, got, format string, args ...any) {
	if !cond {
		c.fail(r, want, got, format, args...)
	}
}
