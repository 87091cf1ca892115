package conformance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// execResult is the answer of POST /v1/sandbox/execute.
type execResult struct {
	Success  *bool   `json:"success"`
	Stdout   *string `json:"stdout"`
	Stderr   *string `json:"stderr"`
	ExitCode *int    `json:"exit_code"`
	Status   string  `json:"status"`
	TraceID  string  `json:"trace_id"`
	resp     *Response
}

func (e execResult) out() string {
	if e.Stdout == nil {
		return ""
	}
	return *e.Stdout
}

// ExecResp posts an execution.
func (c *checkRun) execResp(body map[string]any) *Response {
	return c.call(http.MethodPost, "/v1/sandbox/execute", body)
}

// Exec runs code and requires a 200 answer with the R-1 fields.
func (c *checkRun) exec(lang, code string, thread string, kv ...any) execResult {
	body := map[string]any{"code": code}
	if lang != "" {
		body["language"] = lang
	}
	if thread != "" {
		body["thread_id"] = thread
	}
	for i := 0; i+1 < len(kv); i += 2 {
		body[kv[i].(string)] = kv[i+1]
	}
	r := c.execResp(body)
	c.ok(r)
	var e execResult
	if err := r.JSON(&e); err != nil || e.Success == nil || e.Stdout == nil || e.Stderr == nil || e.ExitCode == nil {
		c.fail(r, "{success, stdout, stderr, exit_code}", r.Summary(), "execute answer lacks R-1 fields")
	}
	e.resp = r
	return e
}

// ExecOK runs code and requires it to succeed.
func (c *checkRun) execOK(lang, code, thread string, kv ...any) execResult {
	e := c.exec(lang, code, thread, kv...)
	c.expect(e.resp, *e.Success && *e.ExitCode == 0, claim{want: "success, exit_code 0", got: e.resp.Summary(), why: "the code failed"})
	return e
}

// Code execution (SPEC R-1 … R-8, S-2).
var _ = area("execute", nil, func() {
	check("R-1", DOC, "execute answers {success, stdout, stderr, exit_code} with success == (exit_code == 0)", labels("R-1.a", "R-1.b", "R-1.c", "R-1.d"), func(c *checkRun) {
		c.need(needExecute)
		e := c.exec("python", "import sys\nprint('hello')\nsys.stderr.write('warn')\n", "")
		c.expect(e.resp, *e.Success && *e.ExitCode == 0 && e.out() == "hello\n" && *e.Stderr == "warn", claim{want: `success true, exit_code 0, stdout "hello\n", stderr "warn"`, got: e.resp.Summary(), why: "wrong result of a successful run"})
		e = c.exec("python", "import sys\nsys.exit(3)\n", "")
		c.expect(e.resp, !*e.Success && *e.ExitCode == 3, claim{want: "success false, exit_code 3", got: e.resp.Summary(), why: "wrong result of a failing run"})
	})

	check("R-1", EMU, "execute also answers error, status, duration_ms and trace_id", labels("R-1.e", "R-1.f"), func(c *checkRun) {
		c.need(needExecute)
		e := c.exec("python", "print(1)", "")
		obj := e.resp.Object()
		for _, f := range []string{"error", "status", "duration_ms", "trace_id"} {
			_, ok := obj[f]
			c.expect(e.resp, ok, claim{want: "field " + f, got: e.resp.Summary(), why: fmt.Sprintf("execute answer lacks %q", f)})
		}
		c.expect(e.resp, e.Status == "success" && e.TraceID != "", claim{want: `status "success" and a trace_id`, got: e.resp.Summary(), why: "wrong status or trace_id"})
	})

	check("R-2", DOC, "python is the default; node and bash run", labels("R-2.a", "R-2.b"), func(c *checkRun) {
		c.need(needExecute)
		e := c.execOK("", "import sys\nprint(sys.version_info[0])", "")
		c.expect(e.resp, e.out() == "3\n", claim{want: "python 3 by default", got: e.out(), why: "the default language is not python"})
		e = c.execOK("node", "console.log(6*7)", "")
		c.expect(e.resp, e.out() == "42\n", claim{want: "42", got: e.out(), why: "node did not run"})
		e = c.execOK("bash", "echo $((6*7))", "")
		c.expect(e.resp, e.out() == "42\n", claim{want: "42", got: e.out(), why: "bash did not run"})
	})

	for _, bad := range []struct{ name, clause, lang, code string }{
		{"an unknown language", "R-2.c", "ruby", "puts 1"},
		{"empty code", "R-2.d", "python", ""},
	} {
		check("R-2", DOC, bad.name+" → 400 validation_error", labels(bad.clause), func(c *checkRun) {
			c.need(needExecute)
			r := c.execResp(map[string]any{"code": bad.code, "language": bad.lang})
			c.wantError(r, http.StatusBadRequest, "validation_error")
		})
	}

	check("R-2", DOC, "code over 1 MiB → 400 validation_error", labels("limits", "R-2.e"), func(c *checkRun) {
		c.need(needExecute)
		code := "print(1)\n#" + strings.Repeat("x", (1<<20)+1-len("print(1)\n#"))
		r := c.execResp(map[string]any{"code": code + "x"})
		c.wantError(r, http.StatusBadRequest, "validation_error")
	})

	check("R-2", EMU, "code of exactly 1 MiB runs", labels("limits", "R-2.f"), func(c *checkRun) {
		c.need(needExecute)
		code := "print(1)\n#" + strings.Repeat("x", (1<<20)-len("print(1)\n#"))
		c.execOK("python", code, "")
	})

	check("S-2", DOC, "/home/baponi/a/b.csv is path a/b.csv; an uploaded file is in /home/baponi", labels("S-2.a", "S-2.b"), func(c *checkRun) {
		c.need(needExecute)
		sp := c.thread("s2")
		c.upload(sp, "in/data.txt", "text/plain", []byte("uploaded"))
		e := c.execOK("python", "import os\nos.makedirs('/home/baponi/a', exist_ok=True)\nopen('/home/baponi/a/b.csv','w').write('x,y\\n')\nprint(open('/home/baponi/in/data.txt').read())", sp.ID)
		c.expect(e.resp, e.out() == "uploaded\n", claim{want: "uploaded", got: e.out(), why: "the uploaded file is not at /home/baponi/in/data.txt"})
		es, r := c.list(sp, nil)
		c.expect(r, slices.Contains(paths(es), "a/b.csv") && slices.Contains(paths(es), "a"), claim{want: "a and a/b.csv listed", got: fmt.Sprint(paths(es)), why: "the file written by code is not listed as a/b.csv"})
	})

	check("R-3", DOC, "with thread_id, files persist: the Files API and later executions see them", labels("R-3.a", "R-3.b"), func(c *checkRun) {
		c.need(needExecute)
		sp := c.thread("r3")
		c.execOK("python", "open('/home/baponi/state.txt','w').write('one')", sp.ID)
		got := c.download(sp, "state.txt")
		c.expect(got, string(got.Body) == "one", claim{want: "one", got: string(got.Body), why: "the file written by code does not download"})
		e := c.execOK("bash", "cat /home/baponi/state.txt; echo -n ' two' >> /home/baponi/state.txt", sp.ID)
		c.expect(e.resp, e.out() == "one", claim{want: "one", got: e.out(), why: "the next execution does not see the file"})
		got = c.download(sp, "state.txt")
		c.expect(got, string(got.Body) == "one two", claim{want: "one two", got: string(got.Body), why: "the second execution's change did not persist"})
	})

	check("R-3", DOC, "without thread_id the home starts empty and is discarded", labels("R-3.c"), func(c *checkRun) {
		c.need(needExecute)
		code := "import os\nprint(sorted(os.listdir('/home/baponi')))\nopen('/home/baponi/left.txt','w').write('x')"
		e := c.execOK("python", code, "")
		c.expect(e.resp, e.out() == "[]\n", claim{want: "[]", got: e.out(), why: "the home of an execution without thread_id is not empty"})
		e = c.execOK("python", code, "")
		c.expect(e.resp, e.out() == "[]\n", claim{want: "[]", got: e.out(), why: "a file from an earlier execution without thread_id is still there"})
	})

	check("R-4", DOC, "a second execution on a busy thread → 409 conflict", labels("R-4.a", "R-4.b"), func(c *checkRun) {
		c.need(needExecute)
		sp := c.thread("r4")
		done := make(chan *Response, 1)
		q := c.rs.cl.api(http.MethodPost, "/v1/sandbox/execute", &c.rs.key, map[string]any{
			"code": "import time\nopen('/home/baponi/started','w').write('1')\ntime.sleep(4)", "thread_id": sp.ID, "language": "python",
		})
		go func() {
			done <- c.rs.cl.do(c.ctx, q)
		}()
		c.awaitStarted(sp)
		r := c.execResp(map[string]any{"code": "print(2)", "thread_id": sp.ID})
		first := <-done
		c.expect(first, first.Err == nil && first.Status == http.StatusOK, claim{want: "the first execution succeeds", got: first.Summary(), why: "the first execution failed"})
		c.wantError(r, http.StatusConflict, "conflict")
		c.envelope(r)
	})

	check("R-5", EMU, "timeout kills the whole process tree: status timeout, success false", labels("R-5.a", "R-5.b"), func(c *checkRun) {
		c.need(needExecute)
		sp := c.thread("r5")
		start := time.Now()
		e := c.exec("bash", "(sleep 2; echo late > /home/baponi/late.txt) &\nsleep 30", sp.ID, "timeout", 1)
		took := time.Since(start)
		c.expect(e.resp, e.Status == "timeout" && !*e.Success, claim{want: `status "timeout", success false`, got: e.resp.Summary(), why: "a run over its timeout is not reported as timeout"})
		c.expect(e.resp, took < 15*time.Second, claim{want: "the answer within a few seconds of the 1 s timeout", got: took.String(), why: "the timeout was not enforced promptly"})
		time.Sleep(3 * time.Second)
		es, r := c.list(sp, nil)
		c.expect(r, !slices.Contains(paths(es), "late.txt"), claim{want: "no late.txt", got: fmt.Sprint(paths(es)), why: "a background process survived the timeout"})
	})

	for _, t := range []any{0, 301, -1, 1.5, "10"} {
		js, _ := json.Marshal(t)
		check("R-5", EMU, fmt.Sprintf("timeout %s → 400 validation_error", js), labels("R-5.c"), func(c *checkRun) {
			c.need(needExecute)
			r := c.execResp(map[string]any{"code": "print(1)", "timeout": t})
			c.wantError(r, http.StatusBadRequest, "validation_error")
		})
	}

	check("R-6", EMU, "volumes are mounted at /volumes/<slug>; read-only ones refuse writes (EROFS)", labels("R-6.a", "R-6.b"), func(c *checkRun) {
		c.need(needExecute, needEmulator)
		rw := c.rw()
		p := c.volPath("r6.txt")
		c.upload(rw, p, "text/plain", []byte("from the volume"))
		e := c.execOK("python", fmt.Sprintf("print(open('/volumes/%s/%s').read())", rw.ID, p), "")
		c.expect(e.resp, e.out() == "from the volume\n", claim{want: "from the volume", got: e.out(), why: "the read-write volume is not mounted at /volumes/<slug>"})
		if c.rs.cfg.ROVolume != "" {
			code := fmt.Sprintf("try:\n    open('/volumes/%s/%s-erofs.txt','w').write('x')\n    print('WROTE')\nexcept OSError as e:\n    print('ERRNO', e.errno)", c.rs.cfg.ROVolume, c.rs.prefix)
			e = c.execOK("python", code, "")
			c.expect(e.resp, e.out() == "ERRNO 30\n", claim{want: "ERRNO 30 (EROFS)", got: e.out(), why: "writing to the read-only volume did not fail with EROFS"})
		}
	})

	check("R-6", EMU, "no network but loopback; other threads are not visible", labels("R-6.c", "R-6.d"), func(c *checkRun) {
		c.need(needExecute, needIsolation)
		other := c.thread("r6-other")
		c.upload(other, "other-secret.txt", "text/plain", []byte("s"))
		sp := c.thread("r6")
		code := `import os, socket
found = []
for root, dirs, files in os.walk('/', onerror=None):
    if root.startswith(('/proc', '/sys', '/dev', '/usr', '/lib', '/bin', '/sbin', '/etc')):
        dirs[:] = []
        continue
    if 'other-secret.txt' in files:
        found.append(root)
    if len(found) > 0:
        break
print('FOUND' if found else 'NOTFOUND')
try:
    socket.create_connection(('1.1.1.1', 53), timeout=1)
    print('NET')
except OSError:
    print('NONET')
`
		e := c.execOK("python", code, sp.ID, "timeout", 120)
		c.expect(e.resp, e.out() == "NOTFOUND\nNONET\n", claim{want: "NOTFOUND NONET", got: e.out(), why: "another thread's files or the network are reachable from the sandbox"})
	})

	check("R-7", EMU, "env_vars are set; reserved names → 400 naming them", labels("R-7.a", "R-7.b"), func(c *checkRun) {
		c.need(needExecute)
		e := c.execOK("bash", "echo \"$CONF_GREETING\"", "", "env_vars", map[string]string{"CONF_GREETING": "hi there"})
		c.expect(e.resp, e.out() == "hi there\n", claim{want: "hi there", got: e.out(), why: "env_vars not set"})
		for _, name := range []string{"PATH", "HOME", "BAPONI_TOKEN"} {
			r := c.execResp(map[string]any{"code": "print(1)", "env_vars": map[string]string{name: "x"}})
			c.wantError(r, http.StatusBadRequest, "validation_error")
			c.messageHas(r, name)
		}
	})

	check("R-8", DOC, "Accept: application/x-ndjson streams JSON lines; the first is a status event with trace_id", labels("R-8.a", "R-8.b"), func(c *checkRun) {
		c.need(needExecute)
		r := streamExec(c, "print('streamed')")
		c.ok(r)
		events := ndjson(c, r)
		c.expect(r, len(events) > 0, claim{want: "at least one event", got: r.Summary(), why: "empty stream"})
		_, hasTrace := events[0]["trace_id"].(string)
		c.expect(r, eventName(events[0]) == "status" && hasTrace, claim{want: "a first status event with trace_id", got: r.Summary(), why: "the first streamed object is not a status event carrying trace_id"})
	})

	check("R-8", EMU, "the stream is application/x-ndjson with status, stdout and result events", labels("R-8.c"), func(c *checkRun) {
		c.need(needExecute)
		r := streamExec(c, "print('streamed')")
		c.ok(r)
		c.expect(r, r.MediaType() == "application/x-ndjson", claim{want: "Content-Type: application/x-ndjson", got: r.Header.Get("Content-Type"), why: "wrong stream Content-Type"})
		var names []string
		for _, ev := range ndjson(c, r) {
			names = append(names, eventName(ev))
		}
		c.expect(r, len(names) >= 3 && names[0] == "status" && slices.Contains(names, "stdout") && names[len(names)-1] == "result", claim{want: "status … stdout … result", got: fmt.Sprint(names), why: "unexpected event sequence"})
		for _, n := range names {
			c.expect(r, slices.Contains([]string{"status", "stdout", "stderr", "result"}, n), claim{want: "events status, stdout, stderr, result", got: fmt.Sprint(names), why: fmt.Sprintf("unknown event %q", n)})
		}
	})

	check("R-8", DOC, "GET /v1/executions/{trace_id} returns the execution record", labels("R-8.f", "R-8.g"), func(c *checkRun) {
		c.need(needExecute)
		r := streamExec(c, "print('recorded')")
		c.ok(r)
		events := ndjson(c, r)
		c.expect(r, len(events) > 0, claim{want: "events", got: r.Summary(), why: "empty stream"})
		trace, _ := events[0]["trace_id"].(string)
		c.expect(r, trace != "", claim{want: "trace_id", got: r.Summary(), why: "no trace_id in the stream"})
		g := c.call(http.MethodGet, "/v1/executions/"+trace, nil)
		c.ok(g)
		obj := g.Object()
		for _, f := range []string{"trace_id", "status", "exit_code", "stdout", "stderr", "error", "duration_ms", "delivery_mode", "created_at", "completed_at"} {
			_, ok := obj[f]
			c.expect(g, ok, claim{want: "field " + f, got: g.Summary(), why: fmt.Sprintf("execution record lacks %q", f)})
		}
		c.expect(g, obj["trace_id"] == trace && obj["status"] == "success" && obj["stdout"] == "recorded\n", claim{want: `the run's trace_id, status "success", its stdout`, got: g.Summary(), why: "the execution record does not describe the run"})
	})

	check("R-8", DOC, "Prefer: respond-async with webhook_url → 202 {trace_id}; the result is POSTed to the webhook", labels("R-8.d", "R-8.e"), func(c *checkRun) {
		c.need(needExecute, needLoopback)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		c.expect(nil, err == nil, claim{want: "a local webhook listener", got: fmt.Sprint(err), why: "cannot listen for the webhook"})
		got := make(chan []byte, 4)
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			select {
			case got <- b:
			default:
			}
			w.WriteHeader(http.StatusOK)
		})}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		q := c.rs.cl.api(http.MethodPost, "/v1/sandbox/execute", &c.rs.key, map[string]any{"code": "print('async')", "webhook_url": "http://" + ln.Addr().String() + "/hook"})
		q.Header.Set("Prefer", "respond-async")
		r := c.send(q)
		c.status(r, http.StatusAccepted)
		trace, _ := r.Object()["trace_id"].(string)
		c.expect(r, trace != "", claim{want: `{"trace_id": ...}`, got: r.Summary(), why: "202 without trace_id"})
		// Wait for the webhook up to 30 s, but no more than 5 s after the
		// execution record says the run is over.
		deadline := time.After(30 * time.Second)
		poll := time.NewTicker(250 * time.Millisecond)
		defer poll.Stop()
		var doneAt <-chan time.Time
		for {
			select {
			case b := <-got:
				c.expect(r, bytes.Contains(b, []byte(trace)), claim{want: "a webhook body naming " + trace, got: string(b), why: "the webhook body does not name the execution"})
				return
			case <-deadline:
				c.fail(r, "a webhook POST within 30 s", "none", "the result was never POSTed to webhook_url")
			case <-doneAt:
				c.fail(r, "a webhook POST once the run is over", "none", "the run finished but its result was never POSTed to webhook_url")
			case <-poll.C:
				if doneAt != nil {
					continue
				}
				g := c.rs.cl.do(c.ctx, c.rs.cl.api(http.MethodGet, "/v1/executions/"+trace, &c.rs.key, nil))
				if st, _ := g.Object()["status"].(string); g.Status == http.StatusOK && st != "" && st != "running" {
					doneAt = time.After(5 * time.Second)
				}
			}
		}
	})
})

// ndjson splits a stream into JSON objects, failing on a line that is not one.
// streamExec runs python code with Accept: application/x-ndjson and
// returns the whole streamed response.
func streamExec(c *checkRun, code string) *Response {
	q := c.rs.cl.api(http.MethodPost, "/v1/sandbox/execute", &c.rs.key, map[string]any{"code": code})
	q.Header.Set("Accept", "application/x-ndjson")
	return c.send(q)
}

func ndjson(c *checkRun, r *Response) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			c.fail(r, "one JSON object per line", line, "stream line is not a JSON object: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// eventName reads a streamed event's name ("event", or "type").
func eventName(m map[string]any) string {
	if s, ok := m["event"].(string); ok {
		return s
	}
	s, _ := m["type"].(string)
	return s
}

// executionRecord streams code and fetches its record from
// GET /v1/executions/{trace_id}.
func (c *checkRun) executionRecord(code string) (string, *Response) {
	r := streamExec(c, code)
	c.ok(r)
	events := ndjson(c, r)
	c.expect(r, len(events) > 0, claim{want: "events", got: r.Summary(), why: "empty stream"})
	trace, _ := events[0]["trace_id"].(string)
	c.expect(r, trace != "", claim{want: "trace_id", got: r.Summary(), why: "no trace_id in the stream"})
	g := c.call(http.MethodGet, "/v1/executions/"+trace, nil)
	c.ok(g)
	return trace, g
}

// R-5 memory, and the execution record beyond its fields.
var _ = area("execute", nil, func() {
	check("R-5", EMU, `a run over the key's memory limit ends with status "oom"`, labels("R-5.d"), func(c *checkRun) {
		c.need(needExecute)
		key := c.arrangedKey("small-memory key", c.rs.cfg.SmallMemoryAPIKey, map[string]any{"memory_limit_mib": 128})
		code := "b = bytearray(1 << 30)\nfor i in range(0, len(b), 4096):\n    b[i] = 1\nprint(len(b))"
		r := c.api(http.MethodPost, "/v1/sandbox/execute", key, map[string]any{"code": code, "language": "python"})
		c.ok(r)
		var e execResult
		c.expect(r, r.JSON(&e) == nil, claim{want: "an execute answer", got: r.Summary(), why: "unreadable execute answer"})
		c.observe("oom_status", e.Status)
		c.expect(r, e.Status == "oom" && e.Success != nil && !*e.Success, claim{want: `status "oom", success false`, got: r.Summary(), why: "a run over its memory limit is not reported as oom"})
	})

	check("R-8", DOC, `a failed run's record has status "failed" and its exit_code`, labels("R-8.h"), func(c *checkRun) {
		c.need(needExecute)
		_, g := c.executionRecord("import sys\nsys.exit(3)")
		obj := g.Object()
		c.expect(g, obj["status"] == "failed" && obj["exit_code"] == float64(3), claim{want: `status "failed", exit_code 3`, got: g.Summary(), why: "the record of a failed run does not say failed"})
	})

	check("R-8", DOC, "the record's created_at and completed_at are RFC 3339 UTC, completed not before created", labels("R-8.i"), func(c *checkRun) {
		c.need(needExecute)
		_, g := c.executionRecord("print('t')")
		obj := g.Object()
		cs, _ := obj["created_at"].(string)
		ds, _ := obj["completed_at"].(string)
		created, err1 := parseUTC(cs)
		completed, err2 := parseUTC(ds)
		c.expect(g, err1 == nil && err2 == nil, claim{want: "created_at and completed_at in RFC 3339 UTC", got: g.Summary(), why: fmt.Sprintf("record times unreadable: %v %v", err1, err2)})
		c.expect(g, !completed.Before(created), claim{want: "completed_at ≥ created_at", got: cs + " / " + ds, why: "the run completed before it was created"})
	})

	check("R-8", DOC, "another organisation does not get the execution record", labels("R-8.j", "isolation"), func(c *checkRun) {
		c.need(needExecute, needOther)
		trace, _ := c.executionRecord("print('org A only')")
		r := c.api(http.MethodGet, "/v1/executions/"+trace, c.other(), nil)
		c.refused(r)
		c.expect(r, !bytes.Contains(r.Body, []byte("org A only")), claim{want: "no record", got: r.Summary(), why: "another organisation read the execution's output"})
		c.observe("other_org_record_status", strconv.Itoa(r.Status))
	})
})

// awaitStarted waits (20 s at most) until the execution started on sp by the
// check has written /home/baponi/started, so a second one finds it running.
func (c *checkRun) awaitStarted(sp space) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := c.listResp(sp, nil)
		if r.Status == http.StatusOK && bytes.Contains(r.Body, []byte(`"started"`)) {
			return
		}
		if time.Now().After(deadline) {
			c.fail(r, "the first execution running", r.Summary(), "the first execution never started")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
