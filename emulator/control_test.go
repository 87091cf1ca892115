package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator"
)

// call is one JSON request to the emulator; it returns the status, the
// decoded body and the headers, or the transport error.
func call(t testing.TB, emu *emulator.Emulator, method, path, key string, body any, hdr ...string) (int, map[string]any, http.Header, error) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, emu.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, resp.Header, err
	}
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	return resp.StatusCode, m, resp.Header, nil
}

// uploadURL asks for an upload URL with up to attempts tries, retrying a
// 503 as a careful client does; it returns the statuses it saw.
func uploadURLWithRetry(t *testing.T, emu *emulator.Emulator, thread, path string, attempts int) []int {
	var seen []int
	for i := 0; i < attempts; i++ {
		st, _, _, err := call(t, emu, "POST", "/v1/files/upload_url", emu.APIKey(),
			map[string]any{"source": "thread", "id": thread, "path": path, "content_length": 2})
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, st)
		if st != http.StatusServiceUnavailable {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return seen
}

// TestReadmeRetryExample is the README's worked example in Go: a client
// that retries a 503 on upload_url twice and then succeeds.
func TestReadmeRetryExample(t *testing.T) {
	emu := emulator.RunT(t)
	rule, err := emu.AddFault(emulator.FaultRule{
		Match: emulator.FaultMatch{Route: "files.upload_url"},
		Action: emulator.FaultAction{Error: &emulator.FaultError{
			Status: 503, Code: "service_unavailable", Message: "injected"}},
		Times: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := uploadURLWithRetry(t, emu, "t1", "a.json", 5); fmt.Sprint(got) != "[503 503 200]" {
		t.Fatalf("statuses %v, want [503 503 200]", got)
	}
	reqs := emu.Requests(emulator.RequestFilter{Route: "files.upload_url"})
	if len(reqs) != 3 {
		t.Fatalf("journal has %d upload_url entries, want 3: %+v", len(reqs), reqs)
	}
	for i, want := range []string{rule.ID, rule.ID, ""} {
		if reqs[i].FaultID != want || reqs[i].Org != emulator.DevOrg || reqs[i].ID != "t1" || reqs[i].Path != "a.json" {
			t.Errorf("entry %d = %+v, want fault_id %q, org_local, t1, a.json", i, reqs[i], want)
		}
	}
	if r, _ := emu.Fault(rule.ID); r.Hits != 2 || r.Remaining == nil || *r.Remaining != 0 || r.Active {
		t.Errorf("rule after firing = %+v, want hits 2, remaining 0, inactive", r)
	}
}

// The rule JSON of the issue, exactly as written, is accepted and acts.
func TestFaultRuleContractJSON(t *testing.T) {
	emu := emulator.RunT(t)
	const rule = `{"match": {"route": "files.upload_url", "org": "org_local", "thread_id": "t1",
	           "path": "*.json", "scope": "test-42"},
 "action": {"error": {"status": 503, "code": "service_unavailable",
                      "message": "injected", "retry_after": "2s"},
            "latency": {"fixed": "200ms", "jitter": "50ms"},
            "network": "reset",
            "body": {"truncate_after": 1048576, "stall_after": 262144,
                     "stall_for": "30s", "throttle_bps": 65536, "corrupt": true},
            "execute": {"status": "timeout"}},
 "times": 2, "skip": 0, "probability": 1.0, "seed": 42, "ttl": "5m"}`
	resp, err := http.Post(emu.URL()+"/_emulator/faults", "application/json", strings.NewReader(rule))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if resp.StatusCode != 201 || got["id"] == "" || got["hits"] != 0.0 || got["remaining"] != 2.0 || got["times"] != 2.0 {
		t.Fatalf("POST /_emulator/faults = %d %v, want 201 with id, hits 0, remaining 2", resp.StatusCode, got)
	}
	if m := got["match"].(map[string]any); m["path"] != "*.json" || m["scope"] != "test-42" {
		t.Errorf("match echoed as %v", m)
	}
	id := got["id"].(string)

	body := map[string]any{"source": "thread", "id": "t1", "path": "out/a.json", "content_length": 1}
	// Another scope, another path or another thread: untouched.
	for _, c := range []struct {
		scope string
		body  map[string]any
	}{
		{"other", body},
		{"", body},
		{"test-42", map[string]any{"source": "thread", "id": "t1", "path": "a.csv", "content_length": 1}},
		{"test-42", map[string]any{"source": "thread", "id": "t2", "path": "a.json", "content_length": 1}},
	} {
		st, _, _, err := call(t, emu, "POST", "/v1/files/upload_url", emu.APIKey(), c.body, emulator.FaultScopeHeader, c.scope)
		if err != nil || st != 200 {
			t.Fatalf("scope %q body %v: %d %v, want 200", c.scope, c.body, st, err)
		}
	}
	// The matching request waits the latency and then has its connection reset.
	began := time.Now()
	_, _, _, err = call(t, emu, "POST", "/v1/files/upload_url", emu.APIKey(), body, emulator.FaultScopeHeader, "test-42")
	if err == nil || !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("matching request: err %v, want a reset connection", err)
	}
	if d := time.Since(began); d < 200*time.Millisecond {
		t.Errorf("reset after %v, want at least the 200ms latency", d)
	}
	reqs := waitRequests(emu, emulator.RequestFilter{Scope: "test-42"}, 3)
	last := reqs[len(reqs)-1]
	if last.FaultID != id || last.Status != 0 || !strings.Contains(last.Error, "reset") {
		t.Errorf("journal entry %+v, want fault_id %s, status 0, a reset", last, id)
	}
	r, _ := emu.Fault(id)
	if r.Hits != 1 || *r.Remaining != 1 {
		t.Errorf("rule after one hit: hits %d remaining %d", r.Hits, *r.Remaining)
	}
}

func TestFaultErrorEnvelopeAndRetryAfter(t *testing.T) {
	emu := emulator.RunT(t)
	ra := emulator.Duration(1500 * time.Millisecond)
	emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Route: "files.list"},
		Action: emulator.FaultAction{Error: &emulator.FaultError{Status: 429, RetryAfter: &ra}}})
	st, body, h, err := call(t, emu, "POST", "/v1/files/list", emu.APIKey(), map[string]any{"source": "volume", "id": emulator.DevRWVolume})
	if err != nil {
		t.Fatal(err)
	}
	if st != 429 || body["error"] != "rate_limited" || !strings.Contains(body["message"].(string), "f1") ||
		h.Get("Retry-After") != "2" || h.Get(emulator.FaultFiredHeader) != "f1" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %v %v", st, body, h)
	}
}

func TestFaultValidationNamesField(t *testing.T) {
	emu := emulator.RunT(t)
	for rule, field := range map[string]string{
		`{"match": {"route": "files.upload"}, "action": {"latency": {"fixed": "1s"}}}`: "match.route",
		`{"action": {"error": {"status": 200}}}`:                                       "action.error.status",
		`{"action": {"network": "drop"}}`:                                              "action.network",
		`{"action": {"execute": {"status": "slow"}}}`:                                  "action.execute.status",
		`{"action": {"latency": {"fixed": "soon"}}}`:                                   "fixed",
		`{"action": {"error": {"status": 503, "retry-after": "2s"}}}`:                  "retry-after",
		`{"match": {}, "action": {}}`:                                                  "action",
		`{"action": {"latency": {"fixed": "1s"}}, "probability": 1.5}`:                 "probability",
		`{"action": {"body": {"stall_after": 10}}}`:                                    "stall_for",
	} {
		resp, err := http.Post(emu.URL()+"/_emulator/faults", "application/json", strings.NewReader(rule))
		if err != nil {
			t.Fatal(err)
		}
		var env map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if resp.StatusCode != 400 || env["error"] != "validation_error" || !strings.Contains(env["message"], field) {
			t.Errorf("%s: %d %v, want 400 naming %s", rule, resp.StatusCode, env, field)
		}
	}
	if n := len(emu.Faults()); n != 0 {
		t.Errorf("%d rules stored after bad requests", n)
	}
}

// Skip, times, probability with a seed, TTL on the emulator clock, and
// latencies that add up.
func TestFaultDeterminism(t *testing.T) {
	emu := emulator.RunT(t, emulator.Options{Clock: emulator.NewFrozenClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	list := func(scope string) int {
		st, _, _, err := call(t, emu, "POST", "/v1/files/list", emu.APIKey(), map[string]any{"source": "volume", "id": emulator.DevRWVolume}, emulator.FaultScopeHeader, scope)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	e500 := &emulator.FaultError{Status: 500}
	// "fail the second call": skip 1, times 1.
	emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Scope: "skip"}, Action: emulator.FaultAction{Error: e500}, Skip: 1, Times: 1})
	if got := fmt.Sprint(list("skip"), list("skip"), list("skip")); got != "200 500 200" {
		t.Errorf("skip 1 times 1: %s", got)
	}
	// Probability with a seed repeats exactly.
	pattern := func(scope string) string {
		p := 0.5
		emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Scope: scope}, Action: emulator.FaultAction{Error: e500}, Probability: &p, Seed: 7})
		var b strings.Builder
		for range 20 {
			if list(scope) == 500 {
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	a, b := pattern("p1"), pattern("p2")
	if a != b || !strings.Contains(a, "x") || !strings.Contains(a, ".") {
		t.Errorf("seeded probability 0.5 gave %s and %s; want the same mix twice", a, b)
	}
	// TTL runs on the emulator clock.
	emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Scope: "ttl"}, Action: emulator.FaultAction{Error: e500}, TTL: emulator.Duration(time.Minute)})
	if list("ttl") != 500 {
		t.Error("ttl rule did not fire before its end")
	}
	emu.Clock().Advance(time.Minute)
	if list("ttl") != 200 {
		t.Error("ttl rule fired after its end on the emulator clock")
	}
	// Latencies add; the first acting match acts.
	lat := func(d time.Duration) *emulator.FaultLatency {
		return &emulator.FaultLatency{Fixed: emulator.Duration(d)}
	}
	emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Scope: "lat"}, Action: emulator.FaultAction{Latency: lat(100 * time.Millisecond)}})
	first, _ := emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Scope: "lat"}, Action: emulator.FaultAction{Latency: lat(100 * time.Millisecond), Error: &emulator.FaultError{Status: 502}}})
	emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Scope: "lat"}, Action: emulator.FaultAction{Error: &emulator.FaultError{Status: 504}}})
	began := time.Now()
	if st := list("lat"); st != 502 {
		t.Errorf("first acting rule: %d, want 502", st)
	}
	if d := time.Since(began); d < 200*time.Millisecond {
		t.Errorf("latencies did not add: %v", d)
	}
	if r, _ := emu.Fault(first.ID); r.Hits != 1 {
		t.Errorf("hits %d", r.Hits)
	}
	var info map[string]any
	resp, _ := http.Get(emu.URL() + "/_emulator/info")
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if f := info["faults"].(map[string]any); f["active"].(float64) < 3 {
		t.Errorf("info faults %v", f)
	}
}

// Parallel tests with their own scope header see only their own faults.
func TestFaultScopesInParallel(t *testing.T) {
	emu := emulator.RunT(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scope := fmt.Sprintf("test-%d", i)
			if i%2 == 0 {
				if _, err := emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Scope: scope, Route: "files.*"},
					Action: emulator.FaultAction{Error: &emulator.FaultError{Status: 500 + i}}}); err != nil {
					t.Error(err)
					return
				}
			}
			for range 20 {
				st, _, _, err := call(t, emu, "POST", "/v1/files/list", emu.APIKey(), map[string]any{"source": "volume", "id": emulator.DevRWVolume}, emulator.FaultScopeHeader, scope)
				want := 200
				if i%2 == 0 {
					want = 500 + i
				}
				if err != nil || st != want {
					t.Errorf("scope %s: %d %v, want %d", scope, st, err, want)
					return
				}
			}
			if got := len(emu.Requests(emulator.RequestFilter{Scope: scope})); got != 20 {
				t.Errorf("scope %s: journal has %d entries, want 20", scope, got)
			}
		}()
	}
	wg.Wait()
}

func TestJournal(t *testing.T) {
	emu := emulator.RunT(t, emulator.Options{JournalSize: 5, CaptureBodies: true})
	for i := range 7 {
		call(t, emu, "POST", "/v1/files/list", emu.APIKey(), map[string]any{"source": "thread", "id": fmt.Sprintf("t%d", i)})
	}
	reqs := emu.Requests()
	if len(reqs) != 5 || reqs[0].ID != "t2" || reqs[4].ID != "t6" {
		t.Fatalf("ring of 5 kept %d entries: %+v", len(reqs), reqs)
	}
	e := reqs[4]
	if e.Route != "files.list" || e.Status != 404 || e.Source != "thread" || e.KeyID != emulator.KeyID(emu.APIKey()) ||
		e.Method != "POST" || e.BytesIn == 0 || e.BytesOut == 0 || !strings.Contains(e.Body, `"t6"`) {
		t.Errorf("entry %+v", e)
	}
	resp, err := http.Get(emu.URL() + "/_emulator/requests?route=files.list&thread_id=t5&status=4xx")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(raw), emu.APIKey()) {
		t.Error("the journal shows the API key")
	}
	var out struct{ Requests []emulator.RequestRecord }
	json.Unmarshal(raw, &out)
	if len(out.Requests) != 1 || out.Requests[0].ID != "t5" {
		t.Errorf("filtered: %s", raw)
	}
	for q, code := range map[string]int{"status=abc": 400, "since=yesterday": 400, "since=2000-01-01T00:00:00Z": 200} {
		resp, _ := http.Get(emu.URL() + "/_emulator/requests?" + q)
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("?%s: %d, want %d", q, resp.StatusCode, code)
		}
	}
	req, _ := http.NewRequest("DELETE", emu.URL()+"/_emulator/requests", nil)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if n := len(emu.Requests()); n != 0 {
		t.Errorf("%d entries after DELETE", n)
	}
}

func TestFaultExecuteStatusAndWebhook(t *testing.T) {
	emu := emulator.RunT(t)
	// Each forced status, with the exit code a real one has; the code ran, so
	// its output is kept.
	for status, exit := range map[string]float64{"oom": 137, "timeout": 124, "failed": 1} {
		emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Route: "sandbox.execute", ThreadID: "slow"},
			Action: emulator.FaultAction{Execute: &emulator.FaultExecute{Status: status}}, Times: 1})
		st, body := execSync(t, emu, "slow")
		if st != 200 || body["status"] != status || body["success"] != false || body["exit_code"] != exit ||
			body["stdout"] != "hi\n" || !strings.Contains(fmt.Sprint(body["error"]), "injected by a fault rule") {
			t.Fatalf("forced %s: %d %v", status, st, body)
		}
		if st, body = execSync(t, emu, "slow"); body["status"] != "success" {
			t.Fatalf("%s after times 1: %d %v", status, st, body)
		}
	}

	// A webhook delivery dropped once is retried and arrives.
	got := make(chan struct{}, 4)
	hook := httptestServer(t, func(w http.ResponseWriter, r *http.Request) { got <- struct{}{} })
	emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Route: "webhook", ThreadID: "hooked"},
		Action: emulator.FaultAction{Webhook: &emulator.FaultWebhook{Drop: true}}, Times: 1})
	st, _, _, err := call(t, emu, "POST", "/v1/sandbox/execute", emu.APIKey(),
		map[string]any{"code": "echo hi", "language": "bash", "thread_id": "hooked", "webhook_url": hook}, "Prefer", "respond-async")
	if err != nil || st != 202 {
		t.Fatalf("async execute: %d %v", st, err)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("webhook never delivered")
	}
	var hooks []emulator.RequestRecord
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		// The journal entry is written once the receiver has answered.
		if hooks = emu.Requests(emulator.RequestFilter{Route: "webhook"}); len(hooks) == 2 {
			break
		}
	}
	if len(hooks) != 2 || hooks[0].FaultID == "" || hooks[0].Status != 0 || hooks[1].Status != 200 || hooks[1].ID != "hooked" {
		t.Errorf("webhook journal %+v", hooks)
	}
}

// A webhook delay holds the delivery back at least that long (the journal
// entry's duration spans it), and the delivery still arrives.
func TestFaultWebhookDelay(t *testing.T) {
	emu := emulator.RunT(t)
	const delay = 300 * time.Millisecond
	arrived := make(chan time.Time, 1)
	hook := httptestServer(t, func(w http.ResponseWriter, r *http.Request) { arrived <- time.Now() })
	emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Route: "webhook", ThreadID: "late"},
		Action: emulator.FaultAction{Webhook: &emulator.FaultWebhook{Delay: emulator.Duration(delay)}}, Times: 1})
	st, _, _, err := call(t, emu, "POST", "/v1/sandbox/execute", emu.APIKey(),
		map[string]any{"code": "echo hi", "language": "bash", "thread_id": "late", "webhook_url": hook}, "Prefer", "respond-async")
	if err != nil || st != 202 {
		t.Fatalf("async execute: %d %v", st, err)
	}
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("delayed webhook never delivered")
	}
	var hooks []emulator.RequestRecord
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && len(hooks) == 0; time.Sleep(10 * time.Millisecond) {
		hooks = emu.Requests(emulator.RequestFilter{Route: "webhook"})
	}
	if len(hooks) != 1 || hooks[0].FaultID == "" || hooks[0].Status != 200 ||
		hooks[0].DurationMS < float64(delay.Milliseconds()) {
		t.Errorf("webhook journal %+v, want one delivery of status 200 taking at least %v", hooks, delay)
	}
}

func execSync(t *testing.T, emu *emulator.Emulator, thread string) (int, map[string]any) {
	t.Helper()
	st, body, _, err := call(t, emu, "POST", "/v1/sandbox/execute", emu.APIKey(),
		map[string]any{"code": "echo hi", "language": "bash", "thread_id": thread})
	if err != nil {
		t.Fatal(err)
	}
	return st, body
}

func httptestServer(t *testing.T, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Faults, the journal, reset and snapshots are behind --admin-token.
func TestControlNeedsAdminToken(t *testing.T) {
	emu := emulator.RunT(t, emulator.Options{AdminToken: "s3cret"})
	for _, c := range []struct{ method, path string }{
		{"GET", "/_emulator/faults"}, {"POST", "/_emulator/faults"}, {"DELETE", "/_emulator/faults"},
		{"GET", "/_emulator/faults/f1"}, {"GET", "/_emulator/requests"}, {"DELETE", "/_emulator/requests"},
		{"POST", "/_emulator/reset"}, {"GET", "/_emulator/snapshot"}, {"POST", "/_emulator/snapshot"},
	} {
		st, _, _, err := call(t, emu, c.method, c.path, "", map[string]any{})
		if err != nil || st != 401 {
			t.Errorf("%s %s without the admin token: %d %v, want 401", c.method, c.path, st, err)
		}
	}
	if st, _, _, _ := call(t, emu, "GET", "/_emulator/requests", "s3cret", nil); st != 200 {
		t.Errorf("GET /_emulator/requests with the admin token: %d", st)
	}
}

// Faults and the journal reach /mcp: a tool call is route mcp.<tool>, with
// its caller's org and the target its arguments name. An error fault answers
// in JSON-RPC, as the endpoint does when the API fails: a tool result with
// isError for a tool call, a JSON-RPC error for any other method; 429 stays
// an HTTP answer, as the endpoint's own rate limit is.
func TestFaultsOnMCP(t *testing.T) {
	emu := emulator.RunT(t)
	emu.WriteFile(emulator.Thread("mt"), "x.txt", []byte("x"))
	rule, _ := emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Route: "mcp.*", ThreadID: "mt"},
		Action: emulator.FaultAction{Error: &emulator.FaultError{Status: 503}}, Times: 1})
	rpc := func(body string) (int, string) {
		req, _ := http.NewRequest("POST", emu.URL()+"/mcp", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+emu.APIKey())
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const download = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"files_download","arguments":{"source":"thread","id":"mt","path":"x.txt"}}}`
	type reply struct {
		ID     int `json:"id"`
		Result *struct {
			IsError bool `json:"isError"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"result"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Data    struct {
				Status int    `json:"status"`
				Error  string `json:"error"`
			} `json:"data"`
		} `json:"error"`
	}
	decode := func(body string) reply {
		var r reply
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("not one JSON-RPC response: %v: %s", err, body)
		}
		return r
	}
	st, body := rpc(download)
	r := decode(body)
	if st != 200 || r.ID != 7 || r.Result == nil || !r.Result.IsError || len(r.Result.Content) != 1 ||
		!strings.HasPrefix(r.Result.Content[0].Text, "service_unavailable: ") {
		t.Fatalf("tool call under a 503 fault: %d %s", st, body)
	}
	st, body = rpc(download)
	if r = decode(body); st != 200 || r.Result == nil || r.Result.IsError {
		t.Fatalf("second tool call: %d %s", st, body)
	}
	e := waitRequests(emu, emulator.RequestFilter{Route: "mcp.*"}, 2)
	if len(e) != 2 || e[0].Route != "mcp.files_download" || e[0].Org != emulator.DevOrg || e[0].ID != "mt" ||
		e[0].Path != "x.txt" || e[0].FaultID != rule.ID || e[0].KeyID != emulator.KeyID(emu.APIKey()) || e[1].Status != 200 {
		t.Errorf("journal: %+v", e)
	}

	// Another method: a JSON-RPC error carrying the status and code.
	emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Route: "mcp.tools/list"},
		Action: emulator.FaultAction{Error: &emulator.FaultError{Status: 500, Code: "internal_error"}}, Times: 1})
	st, body = rpc(`{"jsonrpc":"2.0","id":8,"method":"tools/list"}`)
	if r = decode(body); st != 200 || r.ID != 8 || r.Error == nil || r.Error.Code != -32603 ||
		r.Error.Data.Status != 500 || r.Error.Data.Error != "internal_error" {
		t.Fatalf("tools/list under a 500 fault: %d %s", st, body)
	}
	// 429 is answered over HTTP, in the envelope, with Retry-After.
	emu.AddFault(emulator.FaultRule{Match: emulator.FaultMatch{Route: "mcp.*"},
		Action: emulator.FaultAction{Error: &emulator.FaultError{Status: 429}}, Times: 1})
	if st, body = rpc(download); st != 429 || !strings.Contains(body, `"rate_limited"`) {
		t.Fatalf("tool call under a 429 fault: %d %s", st, body)
	}
}
