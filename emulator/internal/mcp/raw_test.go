package mcp_test

// Raw JSON-RPC over HTTP, as curl sends it: no initialize, initialize, a
// session id that must be ignored, every auth failure, and the transport's
// edge (method, Content-Type, Accept, size, Host, Origin).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/localbaponi/localbaponi/emulator"
	"github.com/localbaponi/localbaponi/emulator/internal/mcp"
)

type rawResp struct {
	status int
	header http.Header
	body   []byte
}

// rpc is one JSON-RPC answer.
type rpc struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func rawPost(t *testing.T, url string, headers map[string]string, body string) rawResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResp{resp.StatusCode, resp.Header, b}
}

func (r rawResp) rpc(t *testing.T) rpc {
	t.Helper()
	var m rpc
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not a JSON-RPC answer (HTTP %d, %s): %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	return m
}

func (r rawResp) envelope(t *testing.T, status int, code string, words ...string) {
	t.Helper()
	var env struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if r.status != status || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || json.Unmarshal(r.body, &env) != nil || env.Error != code {
		t.Fatalf("want HTTP %d {error: %q}, got HTTP %d %s: %s", status, code, r.status, r.header.Get("Content-Type"), r.body)
	}
	for _, w := range words {
		if !strings.Contains(env.Message, w) {
			t.Errorf("message %q does not name %q", env.Message, w)
		}
	}
}

func jsonHeaders(key string) map[string]string {
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
	if key != "" {
		h["Authorization"] = "Bearer " + key
	}
	return h
}

const (
	listTools  = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`
	callPrint  = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"sandbox_execute","arguments":{"code":"print(1)"}}}`
)

func toolNames(t *testing.T, m rpc) []string {
	t.Helper()
	var res struct {
		Tools []struct {
			Name        string          `json:"name"`
			InputSchema json.RawMessage `json:"inputSchema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(m.Result, &res); err != nil {
		t.Fatalf("tools/list result %s: %v", m.Result, err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return names
}

func TestRawJSONRPC(t *testing.T) {
	emu := startEmulator(t, emulator.Options{})
	url := emu.URL() + mcp.Path
	key := emu.APIKey()

	t.Run("tools/list without initialize", func(t *testing.T) {
		r := rawPost(t, url, jsonHeaders(key), listTools)
		if r.status != http.StatusOK || r.header.Get("Mcp-Session-Id") != "" {
			t.Fatalf("HTTP %d, session id %q: %s", r.status, r.header.Get("Mcp-Session-Id"), r.body)
		}
		m := r.rpc(t)
		if got := strings.Join(toolNames(t, m), ","); got != "files_download,sandbox_execute" && got != "sandbox_execute,files_download" {
			t.Errorf("tools %q", got)
		}
	})

	t.Run("tools/call without initialize", func(t *testing.T) {
		r := rawPost(t, url, jsonHeaders(key), callPrint)
		m := r.rpc(t)
		var res struct {
			IsError           bool `json:"isError"`
			StructuredContent struct {
				Success *bool   `json:"success"`
				Stdout  *string `json:"stdout"`
				Stderr  *string `json:"stderr"`
				Exit    *int    `json:"exit_code"`
				Error   *string `json:"error"`
				Status  string  `json:"status"`
				TraceID string  `json:"trace_id"`
				Dur     *int64  `json:"duration_ms"`
			} `json:"structuredContent"`
			Content []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content"`
		}
		if err := json.Unmarshal(m.Result, &res); err != nil {
			t.Fatal(err)
		}
		sc := res.StructuredContent
		if r.status != http.StatusOK || string(m.ID) != "7" || res.IsError || sc.Success == nil || !*sc.Success || sc.Stdout == nil || *sc.Stdout != "1\n" ||
			sc.Stderr == nil || sc.Exit == nil || *sc.Exit != 0 || sc.Error != nil || sc.Status != "success" || sc.TraceID == "" || sc.Dur == nil {
			t.Fatalf("HTTP %d: %s", r.status, r.body)
		}
		if len(res.Content) != 1 || res.Content[0].Type != "text" || !strings.Contains(res.Content[0].Text, "1\n") {
			t.Errorf("text rendering %+v", res.Content)
		}
		if !bytes.Contains(r.body, []byte(`"error":null`)) {
			t.Errorf("structuredContent.error must be present (null): %s", r.body)
		}
	})

	t.Run("initialize", func(t *testing.T) {
		r := rawPost(t, url, jsonHeaders(key), initialize)
		m := r.rpc(t)
		var res struct {
			ProtocolVersion string                     `json:"protocolVersion"`
			Capabilities    map[string]json.RawMessage `json:"capabilities"`
			ServerInfo      struct{ Name string }      `json:"serverInfo"`
		}
		if err := json.Unmarshal(m.Result, &res); err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusOK || res.ProtocolVersion != "2025-11-25" || res.Capabilities["tools"] == nil || res.ServerInfo.Name != "localbaponi" {
			t.Fatalf("HTTP %d: %s", r.status, r.body)
		}
		if sid := r.header.Get("Mcp-Session-Id"); sid != "" {
			t.Errorf("stateless server handed out a session id %q", sid)
		}
		// A newer version than Baponi documents is answered with 2025-11-25.
		r = rawPost(t, url, jsonHeaders(key), strings.Replace(initialize, "2025-11-25", "2026-07-28", 1))
		if err := json.Unmarshal(r.rpc(t).Result, &res); err != nil || res.ProtocolVersion != "2025-11-25" {
			t.Errorf("initialize with 2026-07-28: %s", r.body)
		}
		// An older one is kept.
		r = rawPost(t, url, jsonHeaders(key), strings.Replace(initialize, "2025-11-25", "2025-06-18", 1))
		if err := json.Unmarshal(r.rpc(t).Result, &res); err != nil || res.ProtocolVersion != "2025-06-18" {
			t.Errorf("initialize with 2025-06-18: %s", r.body)
		}
	})

	t.Run("initialized notification is accepted", func(t *testing.T) {
		r := rawPost(t, url, jsonHeaders(key), `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		if r.status != http.StatusAccepted {
			t.Fatalf("HTTP %d: %s", r.status, r.body)
		}
	})

	t.Run("session id header is ignored", func(t *testing.T) {
		for _, sid := range []string{"made-up-session", "0123456789abcdef"} {
			h := jsonHeaders(key)
			h["Mcp-Session-Id"] = sid
			r := rawPost(t, url, h, listTools)
			if r.status != http.StatusOK || len(toolNames(t, r.rpc(t))) != 2 {
				t.Fatalf("with Mcp-Session-Id %q: HTTP %d %s", sid, r.status, r.body)
			}
			h["Mcp-Protocol-Version"] = "2025-11-25"
			r = rawPost(t, url, h, callPrint)
			if r.status != http.StatusOK || !bytes.Contains(r.rpc(t).Result, []byte(`"stdout":"1\n"`)) {
				t.Fatalf("tools/call with Mcp-Session-Id %q: HTTP %d %s", sid, r.status, r.body)
			}
		}
	})

	t.Run("auth failures", func(t *testing.T) {
		// A key to revoke.
		var k struct {
			Key string `json:"key"`
		}
		admin := func(method, path, body string) *http.Response {
			req, _ := http.NewRequest(method, emu.URL()+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		resp := admin(http.MethodPost, "/_emulator/keys", `{"org":"org_local"}`)
		_ = json.NewDecoder(resp.Body).Decode(&k)
		resp.Body.Close()
		if k.Key == "" {
			t.Fatal("could not create a key")
		}
		if r := rawPost(t, url, jsonHeaders(k.Key), listTools); r.status != http.StatusOK {
			t.Fatalf("new key: HTTP %d %s", r.status, r.body)
		}
		admin(http.MethodDelete, "/_emulator/keys/"+k.Key, "").Body.Close()

		for name, auth := range map[string]string{
			"missing":   "",
			"basic":     "Basic dXNlcjpwYXNz",
			"empty":     "Bearer ",
			"no token":  "Bearer",
			"unknown":   "Bearer sk-us-bm90LWEta2V5",
			"revoked":   "Bearer " + k.Key,
			"malformed": "sk-us-bG9jYWwtZGV2LWtleQ",
		} {
			t.Run(name, func(t *testing.T) {
				for _, body := range []string{listTools, initialize, callPrint} {
					h := jsonHeaders("")
					if auth != "" {
						h["Authorization"] = auth
					}
					rawPost(t, url, h, body).envelope(t, http.StatusUnauthorized, "unauthorized")
				}
			})
		}
	})

	t.Run("rate limit", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, emu.URL()+"/_emulator/keys", strings.NewReader(`{"org":"org_local","rate_limit":{"rps":0.01,"burst":2}}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var k struct {
			Key string `json:"key"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&k)
		resp.Body.Close()
		for i := 0; i < 2; i++ {
			if r := rawPost(t, url, jsonHeaders(k.Key), listTools); r.status != http.StatusOK {
				t.Fatalf("request %d within the burst: HTTP %d %s", i, r.status, r.body)
			}
		}
		r := rawPost(t, url, jsonHeaders(k.Key), listTools)
		r.envelope(t, http.StatusTooManyRequests, "rate_limited")
		if r.header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	})

	t.Run("transport edge", func(t *testing.T) {
		// GET and DELETE: no SSE stream, no sessions.
		for _, m := range []string{http.MethodGet, http.MethodDelete, http.MethodPut} {
			req, _ := http.NewRequest(m, url, nil)
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Accept", "text/event-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			rr := rawResp{resp.StatusCode, resp.Header, b}
			rr.envelope(t, http.StatusMethodNotAllowed, "method_not_allowed", "POST")
			if resp.Header.Get("Allow") != "POST" {
				t.Errorf("%s: Allow %q", m, resp.Header.Get("Allow"))
			}
		}

		h := jsonHeaders(key)
		h["Content-Type"] = "text/plain"
		rawPost(t, url, h, listTools).envelope(t, http.StatusUnsupportedMediaType, "unsupported_media_type", "application/json")
		delete(h, "Content-Type")
		rawPost(t, url, h, listTools).envelope(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
		h["Content-Type"] = "application/json; charset=utf-8"
		if r := rawPost(t, url, h, listTools); r.status != http.StatusOK {
			t.Errorf("Content-Type with charset: HTTP %d %s", r.status, r.body)
		}

		rawPost(t, url, jsonHeaders(key), `{"jsonrpc":"2.0","id":1,`).envelope(t, http.StatusBadRequest, "validation_error", "JSON")
		big := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", mcp.MaxBodyBytes) + `"}}`
		rawPost(t, url, jsonHeaders(key), big).envelope(t, http.StatusRequestEntityTooLarge, "payload_too_large", "4194304")

		h = jsonHeaders(key)
		h["Mcp-Protocol-Version"] = "1999-01-01"
		rawPost(t, url, h, listTools).envelope(t, http.StatusBadRequest, "validation_error", "1999-01-01", "2025-11-25")
	})

	t.Run("Accept", func(t *testing.T) {
		for _, accept := range []string{"", "application/json", "*/*", "application/json, text/event-stream"} {
			h := jsonHeaders(key)
			if accept == "" {
				delete(h, "Accept")
			} else {
				h["Accept"] = accept
			}
			r := rawPost(t, url, h, callPrint)
			if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Errorf("Accept %q: HTTP %d %s", accept, r.status, r.header.Get("Content-Type"))
				continue
			}
			if !bytes.Contains(r.rpc(t).Result, []byte(`"stdout":"1\n"`)) {
				t.Errorf("Accept %q: %s", accept, r.body)
			}
		}
		// A client that takes only SSE gets SSE.
		h := jsonHeaders(key)
		h["Accept"] = "text/event-stream"
		r := rawPost(t, url, h, callPrint)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("Accept text/event-stream: HTTP %d %s", r.status, r.header.Get("Content-Type"))
		}
		if msgs := sseData(t, r.body); len(msgs) != 1 || !bytes.Contains(msgs[0], []byte(`"stdout":"1\n"`)) {
			t.Errorf("SSE answer %q", r.body)
		}
	})

	t.Run("progress over SSE", func(t *testing.T) {
		body := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"_meta":{"progressToken":"p"},"name":"sandbox_execute","arguments":{"code":"import time\nprint('a', flush=True)\ntime.sleep(0.3)\nprint('b')"}}}`
		r := rawPost(t, url, jsonHeaders(key), body)
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("a call asking for progress, accepting SSE: %s", r.header.Get("Content-Type"))
		}
		msgs := sseData(t, r.body)
		if len(msgs) < 2 {
			t.Fatalf("want progress notifications then the result: %s", r.body)
		}
		var first struct {
			Method string `json:"method"`
			Params struct {
				ProgressToken string `json:"progressToken"`
				Message       string `json:"message"`
			} `json:"params"`
		}
		if json.Unmarshal(msgs[0], &first) != nil || first.Method != "notifications/progress" || first.Params.ProgressToken != "p" || first.Params.Message != "a\n" {
			t.Errorf("first event %s", msgs[0])
		}
		if last := msgs[len(msgs)-1]; !bytes.Contains(last, []byte(`"id":3`)) || !bytes.Contains(last, []byte(`"stdout":"a\nb\n"`)) {
			t.Errorf("last event %s", last)
		}
		// The same call accepting only JSON gets one JSON answer.
		h := jsonHeaders(key)
		h["Accept"] = "application/json"
		r = rawPost(t, url, h, body)
		if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || !bytes.Contains(r.rpc(t).Result, []byte(`"stdout":"a\nb\n"`)) {
			t.Errorf("JSON-only client: %s %s", r.header.Get("Content-Type"), r.body)
		}
	})
}

// sseData returns the data of each SSE event.
func sseData(t *testing.T, body []byte) [][]byte {
	t.Helper()
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for sc.Scan() {
		if d, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: ")); ok {
			out = append(out, append([]byte(nil), d...))
		}
	}
	return out
}

// TestHostProtection: on a loopback listener only loopback Hosts and the
// --external-url host pass; foreign Origins are refused.
func TestHostProtection(t *testing.T) {
	emu := startEmulator(t, emulator.Options{ExternalURL: "http://baponi.test:9000"})
	url := emu.URL() + mcp.Path
	key := emu.APIKey()
	for _, tc := range []struct {
		host, origin string
		ok           bool
	}{
		{"", "", true},
		{"localhost:8080", "", true},
		{"[::1]:8080", "", true},
		{"baponi.test:9000", "", true},
		{"BAPONI.TEST", "", true},
		{"app.localhost", "", true},
		{"evil.example:8080", "", false},
		{"127.0.0.1.nip.io", "", false},
		{"", "http://localhost:3000", true},
		{"", "http://baponi.test:9000", true},
		{"", "https://evil.example", false},
		{"", "null", false},
	} {
		h := jsonHeaders(key)
		if tc.host != "" {
			h["Host"] = tc.host
		}
		if tc.origin != "" {
			h["Origin"] = tc.origin
		}
		r := rawPost(t, url, h, listTools)
		if tc.ok && r.status != http.StatusOK {
			t.Errorf("Host %q Origin %q: HTTP %d %s", tc.host, tc.origin, r.status, r.body)
		}
		if !tc.ok {
			r.envelope(t, http.StatusForbidden, "forbidden", "DNS-rebinding")
		}
	}
	// The refusal comes before auth: no key needed to be told.
	h := jsonHeaders("")
	h["Host"] = "evil.example"
	rawPost(t, url, h, listTools).envelope(t, http.StatusForbidden, "forbidden")
}

// TestHostBehindTrustedProxy: with --trust-forwarded-headers the Host is the
// proxy's name and is not refused; a foreign Origin still is. Download URLs
// carry the host the client used.
func TestHostBehindTrustedProxy(t *testing.T) {
	emu := startEmulator(t, emulator.Options{TrustForwardedHeaders: true})
	url := emu.URL() + mcp.Path
	h := jsonHeaders(emu.APIKey())
	h["X-Forwarded-Host"] = "baponi.proxy.example"
	if err := emu.WriteFile(emulator.Thread("fwd"), "a.txt", []byte("a")); err != nil {
		t.Fatal(err)
	}
	r := rawPost(t, url, h, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"files_download","arguments":{"source":"thread","id":"fwd","path":"a.txt"}}}`)
	if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"url":"http://baponi.proxy.example/`)) {
		t.Errorf("behind a trusted proxy: HTTP %d %s", r.status, r.body)
	}
	h["Origin"] = "https://evil.example"
	rawPost(t, url, h, listTools).envelope(t, http.StatusForbidden, "forbidden")
}
