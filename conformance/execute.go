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
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL reads best unqualified
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
func (c *Check) ExecResp(body map[string]any) *Response {
	return c.Call(http.MethodPost, "/v1/sandbox/execute", body)
}

// Exec runs code and requires a 200 answer with the R-1 fields.
func (c *Check) Exec(lang, code string, thread string, kv ...any) execResult {
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
	r := c.ExecResp(body)
	c.OK(r)
	var e execResult
	if err := r.JSON(&e); err != nil || e.Success == nil || e.Stdout == nil || e.Stderr == nil || e.ExitCode == nil {
		c.Fail(r, "{success, stdout, stderr, exit_code}", r.Summary(), "execute answer lacks R-1 fields")
	}
	e.resp = r
	return e
}

// ExecOK runs code and requires it to succeed.
func (c *Check) ExecOK(lang, code, thread string, kv ...any) execResult {
	e := c.Exec(lang, code, thread, kv...)
	c.True(*e.Success && *e.ExitCode == 0, e.resp, "success, exit_code 0", e.resp.Summary(), "the code failed")
	return e
}

// Code execution (SPEC R-1 … R-8, S-2).
var _ = Describe("execute", Label("execute"), func() {
	check("R-1", DOC, "execute answers {success, stdout, stderr, exit_code} with success == (exit_code == 0)", nil, func(c *Check) {
		c.Need(needExecute)
		e := c.Exec("python", "import sys\nprint('hello')\nsys.stderr.write('warn')\n", "")
		c.True(*e.Success && *e.ExitCode == 0 && e.out() == "hello\n" && *e.Stderr == "warn", e.resp, `success true, exit_code 0, stdout "hello\n", stderr "warn"`, e.resp.Summary(), "wrong result of a successful run")
		e = c.Exec("python", "import sys\nsys.exit(3)\n", "")
		c.True(!*e.Success && *e.ExitCode == 3, e.resp, "success false, exit_code 3", e.resp.Summary(), "wrong result of a failing run")
	})

	check("R-1", EMU, "execute also answers error, status, duration_ms and trace_id", nil, func(c *Check) {
		c.Need(needExecute)
		e := c.Exec("python", "print(1)", "")
		obj := e.resp.Object()
		for _, f := range []string{"error", "status", "duration_ms", "trace_id"} {
			_, ok := obj[f]
			c.True(ok, e.resp, "field "+f, e.resp.Summary(), "execute answer lacks %q", f)
		}
		c.True(e.Status == "success" && e.TraceID != "", e.resp, `status "success" and a trace_id`, e.resp.Summary(), "wrong status or trace_id")
	})

	check("R-2", DOC, "python is the default; node and bash run", nil, func(c *Check) {
		c.Need(needExecute)
		e := c.ExecOK("", "import sys\nprint(sys.version_info[0])", "")
		c.True(e.out() == "3\n", e.resp, "python 3 by default", e.out(), "the default language is not python")
		e = c.ExecOK("node", "console.log(6*7)", "")
		c.True(e.out() == "42\n", e.resp, "42", e.out(), "node did not run")
		e = c.ExecOK("bash", "echo $((6*7))", "")
		c.True(e.out() == "42\n", e.resp, "42", e.out(), "bash did not run")
	})

	for _, bad := range []struct{ name, lang, code string }{
		{"an unknown language", "ruby", "puts 1"},
		{"empty code", "python", ""},
	} {
		check("R-2", DOC, bad.name+" → 400 validation_error", nil, func(c *Check) {
			c.Need(needExecute)
			r := c.ExecResp(map[string]any{"code": bad.code, "language": bad.lang})
			c.Error(r, http.StatusBadRequest, "validation_error")
		})
	}

	check("R-2", DOC, "code over 1 MiB → 400 validation_error", Label("limits"), func(c *Check) {
		c.Need(needExecute)
		code := "print(1)\n#" + strings.Repeat("x", (1<<20)+1-len("print(1)\n#"))
		r := c.ExecResp(map[string]any{"code": code + "x"})
		c.Error(r, http.StatusBadRequest, "validation_error")
	})

	check("R-2", EMU, "code of exactly 1 MiB runs", Label("limits"), func(c *Check) {
		c.Need(needExecute)
		code := "print(1)\n#" + strings.Repeat("x", (1<<20)-len("print(1)\n#"))
		c.ExecOK("python", code, "")
	})

	check("S-2", DOC, "/home/baponi/a/b.csv is path a/b.csv; an uploaded file is in /home/baponi", nil, func(c *Check) {
		c.Need(needExecute)
		sp := c.Thread("s2")
		c.Upload(sp, "in/data.txt", "text/plain", []byte("uploaded"))
		e := c.ExecOK("python", "import os\nos.makedirs('/home/baponi/a', exist_ok=True)\nopen('/home/baponi/a/b.csv','w').write('x,y\\n')\nprint(open('/home/baponi/in/data.txt').read())", sp.ID)
		c.True(e.out() == "uploaded\n", e.resp, "uploaded", e.out(), "the uploaded file is not at /home/baponi/in/data.txt")
		es, r := c.List(sp, nil)
		c.True(slices.Contains(paths(es), "a/b.csv") && slices.Contains(paths(es), "a"), r, "a and a/b.csv listed", fmt.Sprint(paths(es)), "the file written by code is not listed as a/b.csv")
	})

	check("R-3", DOC, "with thread_id, files persist: the Files API and later executions see them", nil, func(c *Check) {
		c.Need(needExecute)
		sp := c.Thread("r3")
		c.ExecOK("python", "open('/home/baponi/state.txt','w').write('one')", sp.ID)
		got := c.Download(sp, "state.txt")
		c.True(string(got.Body) == "one", got, "one", string(got.Body), "the file written by code does not download")
		e := c.ExecOK("bash", "cat /home/baponi/state.txt; echo -n ' two' >> /home/baponi/state.txt", sp.ID)
		c.True(e.out() == "one", e.resp, "one", e.out(), "the next execution does not see the file")
		got = c.Download(sp, "state.txt")
		c.True(string(got.Body) == "one two", got, "one two", string(got.Body), "the second execution's change did not persist")
	})

	check("R-3", DOC, "without thread_id the home starts empty and is discarded", nil, func(c *Check) {
		c.Need(needExecute)
		code := "import os\nprint(sorted(os.listdir('/home/baponi')))\nopen('/home/baponi/left.txt','w').write('x')"
		e := c.ExecOK("python", code, "")
		c.True(e.out() == "[]\n", e.resp, "[]", e.out(), "the home of an execution without thread_id is not empty")
		e = c.ExecOK("python", code, "")
		c.True(e.out() == "[]\n", e.resp, "[]", e.out(), "a file from an earlier execution without thread_id is still there")
	})

	check("R-4", DOC, "a second execution on a busy thread → 409 conflict", nil, func(c *Check) {
		c.Need(needExecute)
		sp := c.Thread("r4")
		done := make(chan *Response, 1)
		q := c.rs.cl.api(http.MethodPost, "/v1/sandbox/execute", &c.rs.key, map[string]any{
			"code": "import time\nopen('/home/baponi/started','w').write('1')\ntime.sleep(6)", "thread_id": sp.ID, "language": "python",
		})
		go func() {
			defer GinkgoRecover()
			done <- c.rs.cl.do(c.ctx, q)
		}()
		deadline := time.Now().Add(20 * time.Second)
		for {
			r := c.ListResp(sp, nil)
			if r.Status == http.StatusOK && bytes.Contains(r.Body, []byte(`"started"`)) {
				break
			}
			if time.Now().After(deadline) {
				c.Fail(r, "the first execution running", r.Summary(), "the first execution never started")
			}
			time.Sleep(100 * time.Millisecond)
		}
		r := c.ExecResp(map[string]any{"code": "print(2)", "thread_id": sp.ID})
		first := <-done
		c.True(first.Err == nil && first.Status == http.StatusOK, first, "the first execution succeeds", first.Summary(), "the first execution failed")
		c.Error(r, http.StatusConflict, "conflict")
		c.Envelope(r)
	})

	check("R-5", EMU, "timeout kills the whole process tree: status timeout, success false", nil, func(c *Check) {
		c.Need(needExecute)
		sp := c.Thread("r5")
		start := time.Now()
		e := c.Exec("bash", "(sleep 2; echo late > /home/baponi/late.txt) &\nsleep 30", sp.ID, "timeout", 1)
		took := time.Since(start)
		c.True(e.Status == "timeout" && !*e.Success, e.resp, `status "timeout", success false`, e.resp.Summary(), "a run over its timeout is not reported as timeout")
		c.True(took < 15*time.Second, e.resp, "the answer within a few seconds of the 1 s timeout", took.String(), "the timeout was not enforced promptly")
		time.Sleep(3 * time.Second)
		es, r := c.List(sp, nil)
		c.True(!slices.Contains(paths(es), "late.txt"), r, "no late.txt", fmt.Sprint(paths(es)), "a background process survived the timeout")
	})

	for _, t := range []any{0, 301, -1, 1.5, "10"} {
		js, _ := json.Marshal(t)
		check("R-5", EMU, fmt.Sprintf("timeout %s → 400 validation_error", js), nil, func(c *Check) {
			c.Need(needExecute)
			r := c.ExecResp(map[string]any{"code": "print(1)", "timeout": t})
			c.Error(r, http.StatusBadRequest, "validation_error")
		})
	}

	check("R-6", EMU, "volumes are mounted at /volumes/<slug>; read-only ones refuse writes (EROFS)", nil, func(c *Check) {
		c.Need(needExecute, needEmulator)
		rw := c.RW()
		p := c.VolPath("r6.txt")
		c.Upload(rw, p, "text/plain", []byte("from the volume"))
		e := c.ExecOK("python", fmt.Sprintf("print(open('/volumes/%s/%s').read())", rw.ID, p), "")
		c.True(e.out() == "from the volume\n", e.resp, "from the volume", e.out(), "the read-write volume is not mounted at /volumes/<slug>")
		if c.rs.cfg.ROVolume != "" {
			code := fmt.Sprintf("try:\n    open('/volumes/%s/%s-erofs.txt','w').write('x')\n    print('WROTE')\nexcept OSError as e:\n    print('ERRNO', e.errno)", c.rs.cfg.ROVolume, c.rs.prefix)
			e = c.ExecOK("python", code, "")
			c.True(e.out() == "ERRNO 30\n", e.resp, "ERRNO 30 (EROFS)", e.out(), "writing to the read-only volume did not fail with EROFS")
		}
	})

	check("R-6", EMU, "no network but loopback; other threads are not visible", nil, func(c *Check) {
		c.Need(needExecute, needIsolation)
		other := c.Thread("r6-other")
		c.Upload(other, "other-secret.txt", "text/plain", []byte("s"))
		sp := c.Thread("r6")
		code := `import os, socket
found = []
for root, dirs, files in os.walk('/', onerror=None):
    if root.startswith(('/proc', '/sys', '/dev')):
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
		e := c.ExecOK("python", code, sp.ID)
		c.True(e.out() == "NOTFOUND\nNONET\n", e.resp, "NOTFOUND NONET", e.out(), "another thread's files or the network are reachable from the sandbox")
	})

	check("R-7", EMU, "env_vars are set; reserved names → 400 naming them", nil, func(c *Check) {
		c.Need(needExecute)
		e := c.ExecOK("bash", "echo \"$CONF_GREETING\"", "", "env_vars", map[string]string{"CONF_GREETING": "hi there"})
		c.True(e.out() == "hi there\n", e.resp, "hi there", e.out(), "env_vars not set")
		for _, name := range []string{"PATH", "HOME", "BAPONI_TOKEN"} {
			r := c.ExecResp(map[string]any{"code": "print(1)", "env_vars": map[string]string{name: "x"}})
			c.Error(r, http.StatusBadRequest, "validation_error")
			c.MessageHas(r, name)
		}
	})

	check("R-8", DOC, "Accept: application/x-ndjson streams JSON lines; the first is a status event with trace_id", nil, func(c *Check) {
		c.Need(needExecute)
		r := streamExec(c, "print('streamed')")
		c.OK(r)
		events := ndjson(c, r)
		c.True(len(events) > 0, r, "at least one event", r.Summary(), "empty stream")
		_, hasTrace := events[0]["trace_id"].(string)
		c.True(eventName(events[0]) == "status" && hasTrace, r, "a first status event with trace_id", r.Summary(), "the first streamed object is not a status event carrying trace_id")
	})

	check("R-8", EMU, "the stream is application/x-ndjson with status, stdout and result events", nil, func(c *Check) {
		c.Need(needExecute)
		r := streamExec(c, "print('streamed')")
		c.OK(r)
		c.True(r.MediaType() == "application/x-ndjson", r, "Content-Type: application/x-ndjson", r.Header.Get("Content-Type"), "wrong stream Content-Type")
		var names []string
		for _, ev := range ndjson(c, r) {
			names = append(names, eventName(ev))
		}
		c.True(len(names) >= 3 && names[0] == "status" && slices.Contains(names, "stdout") && names[len(names)-1] == "result", r,
			"status … stdout … result", fmt.Sprint(names), "unexpected event sequence")
		for _, n := range names {
			c.True(slices.Contains([]string{"status", "stdout", "stderr", "result"}, n), r, "events status, stdout, stderr, result", fmt.Sprint(names), "unknown event %q", n)
		}
	})

	check("R-8", DOC, "GET /v1/executions/{trace_id} returns the execution record", nil, func(c *Check) {
		c.Need(needExecute)
		r := streamExec(c, "print('recorded')")
		c.OK(r)
		events := ndjson(c, r)
		c.True(len(events) > 0, r, "events", r.Summary(), "empty stream")
		trace, _ := events[0]["trace_id"].(string)
		c.True(trace != "", r, "trace_id", r.Summary(), "no trace_id in the stream")
		g := c.Call(http.MethodGet, "/v1/executions/"+trace, nil)
		c.OK(g)
		obj := g.Object()
		for _, f := range []string{"trace_id", "status", "exit_code", "stdout", "stderr", "error", "duration_ms", "delivery_mode", "created_at", "completed_at"} {
			_, ok := obj[f]
			c.True(ok, g, "field "+f, g.Summary(), "execution record lacks %q", f)
		}
		c.True(obj["trace_id"] == trace && obj["status"] == "success" && obj["stdout"] == "recorded\n", g, `the run's trace_id, status "success", its stdout`, g.Summary(), "the execution record does not describe the run")
	})

	check("R-8", DOC, "Prefer: respond-async with webhook_url → 202 {trace_id}; the result is POSTed to the webhook", nil, func(c *Check) {
		c.Need(needExecute, needLoopback)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		c.True(err == nil, nil, "a local webhook listener", fmt.Sprint(err), "cannot listen for the webhook")
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
		c.Status(r, http.StatusAccepted)
		trace, _ := r.Object()["trace_id"].(string)
		c.True(trace != "", r, `{"trace_id": ...}`, r.Summary(), "202 without trace_id")
		select {
		case b := <-got:
			c.True(bytes.Contains(b, []byte(trace)), r, "a webhook body naming "+trace, string(b), "the webhook body does not name the execution")
		case <-time.After(30 * time.Second):
			c.Fail(r, "a webhook POST within 30 s", "none", "the result was never POSTed to webhook_url")
		}
	})
})

// ndjson splits a stream into JSON objects, failing on a line that is not one.
// streamExec runs python code with Accept: application/x-ndjson and
// returns the whole streamed response.
func streamExec(c *Check, code string) *Response {
	q := c.rs.cl.api(http.MethodPost, "/v1/sandbox/execute", &c.rs.key, map[string]any{"code": code})
	q.Header.Set("Accept", "application/x-ndjson")
	return c.send(q)
}

func ndjson(c *Check, r *Response) []map[string]any {
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
			c.Fail(r, "one JSON object per line", line, "stream line is not a JSON object: %v", err)
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
