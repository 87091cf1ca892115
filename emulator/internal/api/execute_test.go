package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/execution"
	"github.com/localbaponi/localbaponi/emulator/internal/sandbox"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/tenancy"
)

// execServer is a control plane with execution over a real sandbox.
type execServer struct {
	URL   string
	Reg   *tenancy.Registry
	Store *store.Store
	Clock *clock.Clock
}

func newExecServer(t *testing.T, opts sandbox.Options) execServer {
	t.Helper()
	opts.Isolation = sandbox.IsolationNamespaces
	runner, err := sandbox.NewRunner(opts)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	t.Cleanup(func() { runner.Close() })
	srv, s := testServer(t, func(s *Server) {
		exec := execution.New(execution.Config{Runner: runner, Store: s.Store.(*store.Store), Clock: s.Clock, WebhookBackoff: 10 * time.Millisecond})
		t.Cleanup(func() { exec.Close() })
		s.Exec = exec
	})
	return execServer{URL: srv.URL, Reg: s.Tenants, Store: s.Store.(*store.Store), Clock: s.Clock}
}

// call POSTs (or GETs, with a nil body) JSON with the dev key and decodes the answer.
func (es execServer) call(t *testing.T, key, method, path string, body any, hdr map[string]string) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, es.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: %d, body not JSON: %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, m, resp.Header
}

func (es execServer) execute(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	code, m, _ := es.call(t, tenancy.DevKey, "POST", "/v1/sandbox/execute", body, nil)
	if code != http.StatusOK {
		t.Fatalf("execute: %d %v", code, m)
	}
	return m
}

func TestExecute_R1_InlineResponse(t *testing.T) {
	es := newExecServer(t, sandbox.Options{})
	m := es.execute(t, map[string]any{"code": "print('hello')"})
	if m["success"] != true || m["stdout"] != "hello\n" || m["stderr"] != "" || m["exit_code"] != 0.0 ||
		m["error"] != nil || m["status"] != "success" || !strings.HasPrefix(fmt.Sprint(m["trace_id"]), "exec_") {
		t.Fatalf("%v", m)
	}
	if _, ok := m["duration_ms"].(float64); !ok {
		t.Fatalf("duration_ms missing: %v", m)
	}
	m = es.execute(t, map[string]any{"code": "echo bad >&2; exit 7", "language": "bash"})
	if m["success"] != false || m["exit_code"] != 7.0 || m["stderr"] != "bad\n" || m["status"] != "failed" || m["error"] != nil {
		t.Fatalf("%v", m)
	}
}

func TestExecute_Validation(t *testing.T) {
	es := newExecServer(t, sandbox.Options{})
	long := strings.Repeat("x", MaxCodeBytes+1)
	cases := []struct {
		name string
		body any
		want string // in the message
	}{
		{"R-2 code missing", map[string]any{}, "code must be between 1 byte and 1 MB"},
		{"R-2 code empty", map[string]any{"code": ""}, "code must be between 1 byte and 1 MB"},
		{"R-2 code too long", map[string]any{"code": long}, "code must be between 1 byte and 1 MB"},
		{"R-2 code not a string", map[string]any{"code": 5}, "code must be a string"},
		{"R-2 language", map[string]any{"code": "1", "language": "ruby"}, "language must be one of python, node, bash"},
		{"P-2 thread_id", map[string]any{"code": "1", "thread_id": "../x"}, "thread_id"},
		{"P-2 thread_id empty", map[string]any{"code": "1", "thread_id": ""}, "thread_id"},
		{"R-5 timeout 0", map[string]any{"code": "1", "timeout": 0}, "timeout must be a whole number of seconds between 1 and 300"},
		{"R-5 timeout over max", map[string]any{"code": "1", "timeout": 301}, "between 1 and 300"},
		{"R-5 timeout fraction", map[string]any{"code": "1", "timeout": 1.5}, "timeout"},
		{"R-5 timeout string", map[string]any{"code": "1", "timeout": "10"}, "timeout must be a number of seconds, not \"10\""},
		{"R-7 reserved", map[string]any{"code": "1", "env_vars": map[string]string{"PATH": "/x", "BAPONI_TOKEN": "y", "OK": "z"}}, "BAPONI_TOKEN, PATH"},
		{"R-7 HOME", map[string]any{"code": "1", "env_vars": map[string]string{"HOME": "/x"}}, "HOME"},
		{"R-7 bad name", map[string]any{"code": "1", "env_vars": map[string]string{"A=B": "x"}}, "not a valid variable name"},
		{"R-7 not strings", map[string]any{"code": "1", "env_vars": map[string]any{"A": 1}}, "env_vars"},
		{"R-8 webhook", map[string]any{"code": "1", "webhook_url": "ftp://x"}, "webhook_url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, m, _ := es.call(t, tenancy.DevKey, "POST", "/v1/sandbox/execute", c.body, nil)
			if code != 400 || m["error"] != string(CodeValidation) || !strings.Contains(fmt.Sprint(m["message"]), c.want) {
				t.Fatalf("%d %v, want 400 validation_error with %q", code, m, c.want)
			}
		})
	}
	if code, m, _ := es.call(t, "sk-us-bad", "POST", "/v1/sandbox/execute", map[string]any{"code": "1"}, nil); code != 401 {
		t.Fatalf("bad key: %d %v", code, m)
	}
}

func TestExecute_R2_MissingInterpreter(t *testing.T) {
	es := newExecServer(t, sandbox.Options{Node: "/nonexistent/node"})
	m := es.execute(t, map[string]any{"code": "1", "language": "node"})
	if m["success"] != false || m["status"] != "failed" || m["error"] != "Language 'node' not available in this image" {
		t.Fatalf("%v", m)
	}
}

func TestExecute_R3_ThreadFilesFlowBothWays(t *testing.T) {
	es := newExecServer(t, sandbox.Options{})
	ctx := context.Background()
	sp := store.Space{Org: tenancy.DevOrg, Kind: store.Thread, ID: "analysis-run-42"}
	input := `{"values": [1, 2, 3, 4, 5]}`
	if _, err := es.Store.Put(ctx, sp, "input.json", "application/json", int64(len(input)), strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	m := es.execute(t, map[string]any{"language": "python", "thread_id": "analysis-run-42", "code": `
import json
with open('/home/baponi/input.json') as f:
    data = json.load(f)
result = {"sum": sum(data["values"]), "count": len(data["values"])}
with open('/home/baponi/output.json', 'w') as f:
    json.dump(result, f)
print(f"Processed {result['count']} values, sum = {result['sum']}")
`})
	if m["stdout"] != "Processed 5 values, sum = 15\n" {
		t.Fatalf("%v", m)
	}
	// Node writes a file; the Files API lists it, and a later run sees it.
	es.execute(t, map[string]any{"language": "node", "thread_id": "analysis-run-42",
		"code": "require('fs').mkdirSync('/home/baponi/data'); require('fs').writeFileSync('/home/baponi/data/n.txt', 'from node')"})
	code, list, _ := es.call(t, tenancy.DevKey, "POST", "/v1/files/list", map[string]any{"source": "thread", "id": "analysis-run-42"}, nil)
	var paths []string
	for _, f := range list["files"].([]any) {
		paths = append(paths, f.(map[string]any)["path"].(string))
	}
	if code != 200 || strings.Join(paths, ",") != "data,data/n.txt,input.json,output.json" {
		t.Fatalf("list: %d %v", code, list)
	}
	rd, err := es.Store.Open(ctx, sp, "output.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rd)
	rd.Close()
	if string(b) != `{"sum": 15, "count": 5}` {
		t.Fatalf("output.json %q", b)
	}
	m = es.execute(t, map[string]any{"language": "bash", "thread_id": "analysis-run-42", "code": "cat data/n.txt"})
	if m["stdout"] != "from node" {
		t.Fatalf("persistence: %v", m)
	}
}

func TestExecute_R3_NoThreadNoPersistence(t *testing.T) {
	es := newExecServer(t, sandbox.Options{})
	es.execute(t, map[string]any{"language": "bash", "code": "echo x > /home/baponi/f"})
	m := es.execute(t, map[string]any{"language": "bash", "code": "ls -A /home/baponi | wc -l"})
	if m["stdout"] != "0\n" {
		t.Fatalf("%v", m)
	}
}

func TestExecute_R3_SymlinkToShadowCannotBeDownloaded(t *testing.T) {
	es := newExecServer(t, sandbox.Options{})
	es.execute(t, map[string]any{"language": "bash", "thread_id": "t1", "code": "ln -s /etc/shadow shadow"})
	code, m, _ := es.call(t, tenancy.DevKey, "POST", "/v1/files/download_url", map[string]any{"source": "thread", "id": "t1", "path": "shadow"}, nil)
	if code != 404 || m["error"] != string(CodeNotFound) {
		t.Fatalf("%d %v", code, m)
	}
}

func TestExecute_R4_BusyThreadConflict(t *testing.T) {
	es := newExecServer(t, sandbox.Options{})
	// 202 means the execution holds the thread.
	code, m, _ := es.call(t, tenancy.DevKey, "POST", "/v1/sandbox/execute",
		map[string]any{"language": "bash", "thread_id": "t1", "code": "sleep 2"}, map[string]string{"Prefer": "respond-async"})
	if code != 202 {
		t.Fatalf("%d %v", code, m)
	}
	id := m["trace_id"].(string)
	code, m, _ = es.call(t, tenancy.DevKey, "POST", "/v1/sandbox/execute", map[string]any{"language": "bash", "thread_id": "t1", "code": "true"}, nil)
	if code != 409 || m["error"] != string(CodeConflict) || !strings.Contains(fmt.Sprint(m["message"]), "t1") {
		t.Fatalf("%d %v, want 409 conflict", code, m)
	}
	// Other threads are free meanwhile.
	if m := es.execute(t, map[string]any{"language": "bash", "thread_id": "t2", "code": "true"}); m["success"] != true {
		t.Fatalf("%v", m)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, rec, _ := es.call(t, tenancy.DevKey, "GET", "/v1/executions/"+id, nil, nil)
		if rec["status"] == "success" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("first execution: %v", rec)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m := es.execute(t, map[string]any{"language": "bash", "thread_id": "t1", "code": "true"}); m["success"] != true {
		t.Fatalf("after: %v", m)
	}
}

func TestExecute_R5_TimeoutKillsEverything(t *testing.T) {
	es := newExecServer(t, sandbox.Options{})
	marker := fmt.Sprintf("60.%d", time.Now().UnixNano()%100000)
	start := time.Now()
	m := es.execute(t, map[string]any{"language": "bash", "timeout": 1, "code": "sleep " + marker})
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %s", el)
	}
	if m["status"] != "timeout" || m["success"] != false {
		t.Fatalf("%v", m)
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && bytes.Contains(b, []byte("sleep\x00"+marker)) {
			t.Fatalf("process %s left behind", e.Name())
		}
	}
}

func TestExecute_R5_MemoryLimitOfTheKeyAndForkBomb(t *testing.T) {
	es := newExecServer(t, sandbox.Options{PidsLimit: 64})
	k, err := es.Reg.CreateKey(tenancy.DevOrg, tenancy.KeyConfig{MemoryLimitMiB: 64})
	if err != nil {
		t.Fatal(err)
	}
	_, m, _ := es.call(t, k.Key, "POST", "/v1/sandbox/execute", map[string]any{"code": "x = bytearray(300 << 20)"}, nil)
	if m["status"] != "oom" || m["success"] != false || !strings.Contains(fmt.Sprint(m["error"]), "64 MiB") {
		// Without a writable memory cgroup the limit is an rlimit: a MemoryError.
		t.Fatalf("%v", m)
	}
	marker := fmt.Sprintf("bomb%d", time.Now().UnixNano())
	start := time.Now()
	m = es.execute(t, map[string]any{"language": "bash", "timeout": 2, "code": marker + "(){ " + marker + "|" + marker + "& }; " + marker + "; sleep 5"})
	if m["status"] != "timeout" || time.Since(start) > 15*time.Second {
		t.Fatalf("%v after %s", m, time.Since(start))
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && bytes.Contains(b, []byte(marker)) && e.Name() != fmt.Sprint(os.Getpid()) {
			t.Fatalf("process %s left behind: %q", e.Name(), b)
		}
	}
}

func TestExecute_R6_IsolationAndVolumes(t *testing.T) {
	es := newExecServer(t, sandbox.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	es.execute(t, map[string]any{"language": "bash", "thread_id": "t1", "code": "echo secret > secret.txt"})
	// Another org with the same thread ID, and another thread, see nothing of it.
	_, m, _ := es.call(t, tenancy.DevOtherKey, "POST", "/v1/sandbox/execute", map[string]any{"language": "bash", "thread_id": "t1", "code": "ls -A; ls /volumes 2>&1"}, nil)
	if m["stdout"] != "ls: cannot access '/volumes': No such file or directory\n" {
		t.Fatalf("other org: %v", m)
	}
	m = es.execute(t, map[string]any{"language": "python", "thread_id": "t2", "code": fmt.Sprintf(`
import os, socket, errno
print(os.listdir('/home/baponi'))
print(sorted(os.listdir('/volumes')))
print(open('/volumes/reference-data/README.txt').read() != '' if os.path.exists('/volumes/reference-data/README.txt') else 'no readme')
try:
    open('/volumes/reference-data/x', 'w')
except OSError as e:
    print(errno.errorcode[e.errno])
open('/volumes/shared-data/ok.txt', 'w').write('ok')
try:
    socket.create_connection(('127.0.0.1', %d), timeout=2)
    print('network')
except OSError:
    print('no network')
`, ln.Addr().(*net.TCPAddr).Port)})
	want := "[]\n['reference-data', 'shared-data']\nno readme\nEROFS\nno network\n"
	if m["stdout"] != want {
		t.Fatalf("stdout %q, want %q (%v)", m["stdout"], want, m)
	}
}

func TestExecute_R7_EnvVars(t *testing.T) {
	es := newExecServer(t, sandbox.Options{})
	m := es.execute(t, map[string]any{"language": "bash", "env_vars": map[string]string{"GREETING": "hi there"}, "code": `echo "$GREETING|$HOME|$USER"`})
	if m["stdout"] != "hi there|/home/baponi|baponi\n" {
		t.Fatalf("%v", m)
	}
}

// readEvents reads NDJSON events until EOF.
func readEvents(t *testing.T, r io.Reader) []map[string]any {
	t.Helper()
	var evs []map[string]any
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		evs = append(evs, m)
	}
	return evs
}

func TestExecute_R8_StreamAsyncWebhookAndRecords(t *testing.T) {
	es := newExecServer(t, sandbox.Options{})
	// Stream: status first, output as printed, result last.
	b, _ := json.Marshal(map[string]any{"language": "python", "code": "import time\nprint('a')\ntime.sleep(0.5)\nprint('b')"})
	req, _ := http.NewRequest("POST", es.URL+"/v1/sandbox/execute", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+tenancy.DevKey)
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	evs := readEvents(t, resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != ndjson || len(evs) < 3 || evs[0]["event"] != "status" || evs[0]["trace_id"] == nil ||
		evs[len(evs)-1]["event"] != "result" || evs[len(evs)-1]["stdout"] != "a\nb\n" {
		t.Fatalf("%s %v", resp.Header.Get("Content-Type"), evs)
	}
	streamID := evs[0]["trace_id"].(string)

	// Async with a webhook.
	var mu sync.Mutex
	var hooked map[string]any
	got := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		json.NewDecoder(r.Body).Decode(&hooked)
		close(got)
	}))
	defer hook.Close()
	code, m, _ := es.call(t, tenancy.DevKey, "POST", "/v1/sandbox/execute",
		map[string]any{"language": "bash", "code": "sleep 0.2; echo later", "webhook_url": hook.URL}, map[string]string{"Prefer": "respond-async"})
	if code != 202 || len(m) != 1 || m["trace_id"] == nil {
		t.Fatalf("async: %d %v", code, m)
	}
	asyncID := m["trace_id"].(string)
	// The output endpoint follows it live, then the record is complete.
	req, _ = http.NewRequest("GET", es.URL+"/v1/executions/"+asyncID+"/output", nil)
	req.Header.Set("Authorization", "Bearer "+tenancy.DevKey)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	evs = readEvents(t, resp.Body)
	resp.Body.Close()
	if len(evs) < 2 || evs[0]["event"] != "status" || evs[len(evs)-1]["stdout"] != "later\n" {
		t.Fatalf("output: %v", evs)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("webhook not called")
	}
	mu.Lock()
	if hooked["trace_id"] != asyncID || hooked["stdout"] != "later\n" || hooked["success"] != true {
		t.Fatalf("webhook body %v", hooked)
	}
	mu.Unlock()
	for id, mode := range map[string]string{asyncID: "async", streamID: "stream"} {
		code, rec, _ := es.call(t, tenancy.DevKey, "GET", "/v1/executions/"+id, nil, nil)
		if code != 200 || rec["status"] != "success" || rec["delivery_mode"] != mode || rec["exit_code"] != 0.0 ||
			rec["created_at"] == nil || rec["completed_at"] == nil || rec["duration_ms"] == nil {
			t.Fatalf("record: %d %v", code, rec)
		}
		for _, k := range []string{"trace_id", "status", "exit_code", "stdout", "stderr", "error", "duration_ms", "delivery_mode", "created_at", "completed_at"} {
			if _, ok := rec[k]; !ok {
				t.Fatalf("record lacks %s: %v", k, rec)
			}
		}
		// Not visible to another organisation (SPEC A-3).
		if code, m, _ := es.call(t, tenancy.DevOtherKey, "GET", "/v1/executions/"+id, nil, nil); code != 404 || m["error"] != string(CodeNotFound) {
			t.Fatalf("other org: %d %v", code, m)
		}
	}
	if code, _, _ := es.call(t, tenancy.DevKey, "GET", "/v1/executions/exec_nope", nil, nil); code != 404 {
		t.Fatalf("unknown: %d", code)
	}
	if code, _, h := es.call(t, tenancy.DevKey, "DELETE", "/v1/executions/"+asyncID, nil, nil); code != 405 || h.Get("Allow") != "GET" {
		t.Fatalf("DELETE: %d", code)
	}
}

func TestHeaderHasToken(t *testing.T) {
	cases := []struct {
		vals []string
		tok  string
		want bool
	}{
		{[]string{"respond-async"}, "respond-async", true},
		{[]string{"return=minimal, Respond-Async; wait=5"}, "respond-async", true},
		{[]string{"application/json, application/x-ndjson;q=0.9"}, ndjson, true},
		{[]string{"application/json"}, ndjson, false},
		{nil, "respond-async", false},
	}
	for _, c := range cases {
		if got := headerHasToken(c.vals, c.tok); got != c.want {
			t.Errorf("%v %q: %v", c.vals, c.tok, got)
		}
	}
}
