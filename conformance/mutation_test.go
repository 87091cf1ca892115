package conformance_test

// The suite proves it can fail (issue 4, point 7): each deviation below puts
// a reverse proxy in front of a real emulator that bends ONE behaviour, runs
// the conformance binary against the proxy, and requires exit code 1 with
// the matching rule among the failed checks. The emulator hands out signed
// URLs on the proxy's address (Options.ExternalURL), so the data plane goes
// through the proxy too.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/localbaponi/localbaponi/conformance"
	"github.com/localbaponi/localbaponi/emulator"
)

// exchange is one proxied request as the deviation sees it.
type exchange struct {
	method, path string
	query        string
	auth         string // the Authorization header the client sent
	body         []byte // request body of /v1/ and /_emulator/ requests (and data-plane bodies a deviation read)
	proxyURL     string
	emuURL       string
}

func (x *exchange) jsonBody() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(x.body, &m)
	return m
}

func (x *exchange) api(p string) bool { return x.path == p }
func (x *exchange) dataPlane() bool {
	return !strings.HasPrefix(x.path, "/v1/") && !strings.HasPrefix(x.path, "/_emulator/")
}
func (x *exchange) under(p string) bool { return strings.HasPrefix(x.path, p) }

// source is the body's "source" field.
func (x *exchange) source() string { s, _ := x.jsonBody()["source"].(string); return s }

// key tells whose key the client sent: "dev", "other", "none" or "else".
func (x *exchange) key() string {
	switch x.auth {
	case "Bearer " + conformance.DevAPIKey:
		return "dev"
	case "Bearer " + conformance.DevOtherAPIKey:
		return "other"
	case "":
		return "none"
	}
	return "else"
}

// deviation bends one behaviour of the emulator: it breaks the clauses
// listed, and the suite must fail a check citing each of them.
type deviation struct {
	name    string
	clauses []string // each must be cited by a failed check
	filter  string   // --label-filter; default: the clauses
	exec    bool     // needs code execution
	// request may rewrite the request (headers in r, body by returning it)
	// or answer instead of the emulator.
	request func(x *exchange, r *http.Request) (body []byte, answer *http.Response)
	// response may rewrite the emulator's answer.
	response func(x *exchange, resp *http.Response) error
	// after runs when the exchange is over.
	after func(x *exchange)
}

func (d deviation) labelFilter() string {
	if d.filter != "" {
		return d.filter
	}
	return strings.Join(d.clauses, " || ")
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// conformanceBinary builds cmd/baponi-conformance once per test process.
func conformanceBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "baponi-conformance-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "baponi-conformance")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/baponi-conformance").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

type ctxKey struct{}

// startProxied starts an emulator behind a proxy applying d, and returns
// the proxy's URL and whether the emulator can execute code.
func startProxied(t *testing.T, d deviation) (string, bool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxyURL := "http://" + ln.Addr().String()
	emu, err := emulator.Start(emulator.Options{Addr: "127.0.0.1:0", ExternalURL: proxyURL})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	target, _ := url.Parse(emu.URL())
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // signatures cover the host the client used
		},
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			x, _ := resp.Request.Context().Value(ctxKey{}).(*exchange)
			if x != nil && d.response != nil {
				return d.response(x, resp)
			}
			return nil
		},
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := &exchange{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, auth: r.Header.Get("Authorization"), proxyURL: proxyURL, emuURL: emu.URL()}
		if !x.dataPlane() {
			x.body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(x.body))
		}
		if d.request != nil {
			body, answer := d.request(x, r)
			if answer != nil {
				writeResponse(w, answer)
				return
			}
			if body != nil {
				x.body = body
				r.Body = io.NopCloser(bytes.NewReader(body))
				r.ContentLength = int64(len(body))
			}
		}
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, x)))
		if d.after != nil {
			d.after(x)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	resp, err := http.Get(emu.URL() + "/_emulator/info")
	canExec := false
	if err == nil {
		var info struct {
			Features []string `json:"features"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&info)
		resp.Body.Close()
		canExec = slices.Contains(info.Features, "execute")
	}
	return proxyURL, canExec
}

func writeResponse(w http.ResponseWriter, r *http.Response) {
	for k, vs := range r.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(r.StatusCode)
	if r.Body != nil {
		_, _ = io.Copy(w, r.Body)
	}
}

// jsonAnswer builds a JSON response.
func jsonAnswer(status int, v any) *http.Response {
	b, _ := json.Marshal(v)
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}, "Content-Length": {strconv.Itoa(len(b))}}, Body: io.NopCloser(bytes.NewReader(b))}
}

// setBody replaces a response body.
func setBody(resp *http.Response, b []byte) {
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
}

// editJSON rewrites a JSON object response.
func editJSON(resp *http.Response, edit func(m map[string]any)) error {
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		setBody(resp, b)
		return nil
	}
	edit(m)
	nb, err := json.Marshal(m)
	if err != nil {
		return err
	}
	setBody(resp, nb)
	return nil
}

// editFiles rewrites the files array of a list answer.
func editFiles(resp *http.Response, edit func(files []any) []any) error {
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	return editJSON(resp, func(m map[string]any) {
		files, _ := m["files"].([]any)
		m["files"] = edit(files)
	})
}

func envelope(status int, code, msg string) *http.Response {
	return jsonAnswer(status, map[string]string{"error": code, "message": msg})
}

// runBinary runs the conformance binary and returns its exit code and JSON report.
func runBinary(t *testing.T, args ...string) (int, *conformance.JSONReport, string) {
	t.Helper()
	report := filepath.Join(t.TempDir(), "report.json")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, conformanceBinary(t), append(args, "--json-report", report)...)
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run conformance binary: %v\n%s", err, out)
	}
	var jr conformance.JSONReport
	if b, err := os.ReadFile(report); err == nil {
		if err := json.Unmarshal(b, &jr); err != nil {
			t.Fatalf("JSON report: %v", err)
		}
		return code, &jr, string(out)
	}
	return code, nil, string(out)
}

// runSuite runs the suite in this process against base with the dev keys
// and volumes, and returns the result and its console output.
func runSuite(t *testing.T, base, filter, profile string) (conformance.Result, string) {
	t.Helper()
	var out bytes.Buffer
	cfg := devConfig(base)
	cfg.LabelFilter, cfg.Profile, cfg.Out, cfg.Parallel = filter, profile, &syncWriter{w: &out}, 4
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	res, err := conformance.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("conformance run: %v\n%s", err, out.String())
	}
	return res, out.String()
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func devConfig(base string) conformance.Config {
	return conformance.Config{BaseURL: base, APIKey: conformance.DevAPIKey, OtherOrgAPIKey: conformance.DevOtherAPIKey,
		RWVolume: conformance.DevRWVolume, ROVolume: conformance.DevROVolume}
}

func devArgs(base string) []string {
	return []string{"--base-url", base, "--api-key", conformance.DevAPIKey, "--other-org-api-key", conformance.DevOtherAPIKey,
		"--rw-volume", conformance.DevRWVolume, "--ro-volume", conformance.DevROVolume}
}

func failedRules(jr *conformance.JSONReport) []string {
	var out []string
	for _, c := range jr.Checks {
		if c.Status == conformance.StatusFailed && !slices.Contains(out, c.Rule) {
			out = append(out, c.Rule)
		}
	}
	return out
}

// TestSuiteCatchesDeviations is the suite's own proof that it fails when it
// should: for every deviation, a run restricted to the checks of the
// clauses it breaks fails, and a failed check cites each clause.
func TestSuiteCatchesDeviations(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite against every deviation")
	}
	sem := make(chan struct{}, 12) // bounded: the machine is shared; most of a run is waiting
	for _, d := range deviations() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			defer func() { <-sem }()
			base, canExec := startProxied(t, d)
			if d.exec && !canExec {
				t.Skip("the emulator in this build cannot execute code")
			}
			res, out := runSuite(t, base, d.labelFilter(), "")
			jr := res.Report
			if res.ExitCode != conformance.ExitFailed || jr == nil {
				t.Fatalf("exit code %d, want %d\n%s%s", res.ExitCode, conformance.ExitFailed, out, statuses(jr))
			}
			for _, cl := range d.clauses {
				if !failedClause(jr, cl) {
					t.Errorf("no failed check cites clause %s (failed rules %v)\n%s", cl, failedRules(jr), out)
				}
			}
			if jr.Profile != conformance.ProfileEmulator {
				t.Errorf("profile %q: a localbaponi target should be detected as emulator", jr.Profile)
			}
		})
	}
}

// statuses lists every check of a report with its status and message.
func statuses(jr *conformance.JSONReport) string {
	if jr == nil {
		return ""
	}
	var b strings.Builder
	for _, c := range jr.Checks {
		fmt.Fprintf(&b, "  %s %s %s: %s\n", c.Status, c.Rule, c.Name, c.Message)
	}
	return b.String()
}

func failedClause(jr *conformance.JSONReport, clause string) bool {
	rule, _, _ := strings.Cut(clause, ".")
	for _, c := range jr.Checks {
		if c.Status == conformance.StatusFailed && c.Rule == rule && slices.Contains(c.Clauses, clause) {
			return true
		}
	}
	return false
}

// TestEveryClauseHasADeviation keeps the clause table honest: every clause
// of every rule is broken by at least one deviation, and every deviation
// names clauses that exist.
func TestEveryClauseHasADeviation(t *testing.T) {
	broken := map[string][]string{}
	for _, d := range deviations() {
		if len(d.clauses) == 0 {
			t.Errorf("deviation %q breaks no clause", d.name)
		}
		for _, cl := range d.clauses {
			broken[cl] = append(broken[cl], d.name)
		}
	}
	known := map[string]bool{}
	for _, r := range conformance.Rules() {
		for _, cl := range r.Clauses {
			known[cl.ID] = true
			if len(broken[cl.ID]) == 0 {
				t.Errorf("clause %s (%s) has no deviation proving its check fails", cl.ID, cl.Text)
			}
		}
	}
	for cl, ds := range broken {
		if !known[cl] {
			t.Errorf("deviations %q name clause %s, which is not in the table", ds, cl)
		}
	}
}

// TestDeploymentProfileObserves: under profile deployment an EMU deviation
// is recorded as observed and does not fail the run.
func TestDeploymentProfileObserves(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the conformance binary")
	}
	var unsorted deviation
	for _, d := range deviations() {
		if d.name == "list not sorted" {
			unsorted = d
		}
	}
	base, _ := startProxied(t, unsorted)
	res, out := runSuite(t, base, "L-4.a", conformance.ProfileDeployment)
	jr := res.Report
	if res.ExitCode != conformance.ExitPass || jr == nil {
		t.Fatalf("exit code %d, want 0\n%s", res.ExitCode, out)
	}
	observed := false
	for _, c := range jr.Checks {
		if c.Rule == "L-4" && c.Status == conformance.StatusObserved {
			observed = true
		}
	}
	if !observed || jr.Summary.Observed == 0 {
		t.Errorf("L-4 not recorded as observed: %+v\n%s", jr.Summary, out)
	}
}

// TestSuitePassesThroughFaithfulProxy guards the deviations above: with a
// proxy that bends nothing, the whole suite passes, so every failure above
// comes from the deviation.
func TestSuitePassesThroughFaithfulProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the conformance binary")
	}
	base, _ := startProxied(t, deviation{})
	res, out := runSuite(t, base, "", "")
	jr := res.Report
	if res.ExitCode != conformance.ExitPass || jr == nil {
		t.Fatalf("exit code %d, want 0\n%s", res.ExitCode, out)
	}
	if jr.Summary.Failed != 0 || jr.Summary.Passed == 0 {
		t.Errorf("summary %+v", jr.Summary)
	}
}

func TestExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the conformance binary")
	}
	t.Run("unreachable target exits 2", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		code, _, out := runBinary(t, "--base-url", "http://"+addr, "--api-key", "sk-us-x")
		if code != conformance.ExitConfigError {
			t.Errorf("exit %d, want 2\n%s", code, out)
		}
	})
	t.Run("rejected key exits 2", func(t *testing.T) {
		base, _ := startProxied(t, deviation{})
		code, _, out := runBinary(t, "--base-url", base, "--api-key", "sk-us-bm90LWEta2V5")
		if code != conformance.ExitConfigError {
			t.Errorf("exit %d, want 2\n%s", code, out)
		}
	})
	t.Run("bad flag exits 2", func(t *testing.T) {
		code, _, out := runBinary(t, "--profile", "production")
		if code != conformance.ExitConfigError {
			t.Errorf("exit %d, want 2\n%s", code, out)
		}
	})
	t.Run("unwritable report exits 3", func(t *testing.T) {
		blocker := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(blocker, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		base, _ := startProxied(t, deviation{})
		code, _, out := runBinary(t, append(devArgs(base), "--label-filter", "L-5", "--markdown-report", filepath.Join(blocker, "r.md"))...)
		if code != conformance.ExitReportError {
			t.Errorf("exit %d, want 3\n%s", code, out)
		}
	})
}

// deviations lists every deviation; each call makes fresh state.
func deviations() []deviation {
	var (
		execCounter, listCounter atomic.Int64
		advanced                 atomic.Int64 // minutes the client moved the clock
		mu                       sync.Mutex
		busy                     = map[string]bool{}
		executed                 = map[string]bool{}
		seen                     = map[string]bool{}
		interrupted              = map[string]int{}
		// begun orders a cut upload before the client's later requests: a
		// client that cuts its upload returns before the proxy sees the cut,
		// and its next requests may reach the proxy first.
		begun = newUploadsBegun()
	)
	is := newIssued()
	files := func(x *exchange, m map[string]any) bool { return x.under("/v1/files") }
	pathOps := func(x *exchange, m map[string]any) bool {
		return x.api("/v1/files/upload_url") || x.api("/v1/files/download_url") || x.api("/v1/files")
	}
	execute := func(x *exchange, m map[string]any) bool { return x.api("/v1/sandbox/execute") }
	ok200 := func(v any) func(*exchange) *http.Response {
		return func(*exchange) *http.Response { return jsonAnswer(200, v) }
	}
	return append([]deviation{
		//
		{name: "a request without Authorization is served", clauses: []string{"A-1.a"},
			request: swapKey(func(x *exchange, r *http.Request) bool { return x.under("/v1/") && x.key() == "none" })},
		{name: "the Basic scheme is served", clauses: []string{"A-1.b"},
			request: swapKey(func(x *exchange, r *http.Request) bool { return strings.HasPrefix(x.auth, "Basic ") })},
		{name: "unknown keys are served", clauses: []string{"A-1.c"},
			request: swapKey(func(x *exchange, r *http.Request) bool { return x.under("/v1/") && x.key() == "else" })},
		{name: "revoking a key has no effect", clauses: []string{"A-1.d", "M-3.b"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				return x.under("/_emulator/keys/") && x.method == http.MethodDelete
			}, ok200(map[string]bool{"revoked": true}))},
		{name: "401 carries error forbidden", clauses: []string{"A-1.e"}, response: restatus(anyV1(401), 401, "forbidden")},
		{name: "401 answered as 404", clauses: []string{"A-1.a", "A-1.e"}, response: restatus(anyV1(401), 404, "not_found")},
		{name: "upload_url refuses a valid key", clauses: []string{"A-1.f"},
			request: answerIf(func(x *exchange, r *http.Request) bool { return x.api("/v1/files/upload_url") && x.key() == "dev" },
				func(*exchange) *http.Response { return envelope(401, "unauthorized", "deviation") })},
		{name: "validation before authentication", clauses: []string{"A-1.g"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				return x.under("/v1/") && x.key() == "none" && x.source() == "bucket"
			},
				func(*exchange) *http.Response {
					return envelope(400, "validation_error", "source must be thread or volume")
				})},
		//
		{name: "another organisation lists and downloads the first one's files", clauses: []string{"A-2.a"},
			request: swapKey(func(x *exchange, r *http.Request) bool {
				return x.key() == "other" && (x.api("/v1/files/list") || x.api("/v1/files/download_url"))
			})},
		{name: "another organisation deletes the first one's files", clauses: []string{"A-2.b"},
			request: swapKey(func(x *exchange, r *http.Request) bool { return x.key() == "other" && x.api("/v1/files") })},
		{name: "thread IDs are global, not per organisation", clauses: []string{"A-2.c"},
			request: swapKey(func(x *exchange, r *http.Request) bool {
				return x.key() == "other" && x.api("/v1/files/upload_url") && x.source() == "thread"
			})},
		{name: "another organisation sees the first one's volumes", clauses: []string{"A-2.d"},
			request: swapKey(func(x *exchange, r *http.Request) bool { return x.key() == "other" && x.source() == "volume" })},
		{name: "another organisation's thread answers 403", clauses: []string{"A-3.a"},
			response: restatus(func(x *exchange, resp *http.Response) bool {
				return x.key() == "other" && x.source() == "thread" && resp.StatusCode == 404
			}, 403, "forbidden")},
		{name: "another organisation's volume answers 403", clauses: []string{"A-3.b"},
			response: restatus(func(x *exchange, resp *http.Response) bool {
				return x.key() == "other" && x.source() == "volume" && resp.StatusCode == 404
			}, 403, "forbidden")},
		// E-1
		{name: "errors served as text/plain", clauses: []string{"E-1.a"},
			response: func(x *exchange, resp *http.Response) error {
				if x.under("/v1/") && resp.StatusCode >= 400 {
					resp.Header.Set("Content-Type", "text/plain; charset=utf-8")
				}
				return nil
			}},
		{name: "error envelope without error", clauses: []string{"E-1.b"},
			response: editAnswer(anyV1(400, 401, 403, 404), func(_ *exchange, m map[string]any) { delete(m, "error") })},
		{name: "error envelope without message", clauses: []string{"E-1.c"},
			response: editAnswer(anyV1(400, 401, 403, 404), func(_ *exchange, m map[string]any) { delete(m, "message") })},
		{name: "400 carries bad_request", clauses: []string{"E-1.d"}, response: restatus(anyV1(400), 400, "bad_request")},
		{name: "404 carries no_such_thing", clauses: []string{"E-1.e"}, response: restatus(anyV1(404), 404, "no_such_thing")},
		{name: "403 carries read_only", clauses: []string{"E-1.f", "U-4.b"}, response: restatus(anyV1(403), 403, "read_only")},
		// E-2
		{name: "unknown route answers 400", clauses: []string{"E-2.a"},
			response: restatus(func(x *exchange, resp *http.Response) bool {
				return x.api("/v1/files/no-such-operation") && resp.StatusCode == 404
			}, 400, "validation_error")},
		{name: "405 answered as 404", clauses: []string{"E-2.b"}, response: restatus(anyV1(405), 404, "not_found")},
		{name: "405 without Allow", clauses: []string{"E-2.c"},
			response: func(x *exchange, resp *http.Response) error {
				if resp.StatusCode == 405 {
					resp.Header.Del("Allow")
				}
				return nil
			}},
		{name: "a body that is not JSON is served as an empty listing", clauses: []string{"E-2.d"},
			request: answerIf(func(x *exchange, r *http.Request) bool { return x.under("/v1/files") && !json.Valid(x.body) },
				ok200(map[string]any{"files": []any{}}))},
		{name: "invalid UTF-8 dropped from bodies", clauses: []string{"E-2.e"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if x.under("/v1/") && !utf8.Valid(x.body) {
					return []byte(strings.ToValidUTF8(string(x.body), "")), nil
				}
				return nil, nil
			}},
		{name: "numbers taken as strings", clauses: []string{"E-2.f"},
			request: editRequest(func(x *exchange, m map[string]any) bool {
				_, ok := m["id"].(float64)
				return x.under("/v1/files") && ok
			},
				func(m map[string]any) { m["id"] = fmt.Sprint(m["id"]) })},
		{name: "messages do not name the field", clauses: []string{"E-2.g"},
			response: editAnswer(anyV1(400), func(_ *exchange, m map[string]any) { m["message"] = "invalid request" })},
		{name: "field names folded to lower case", clauses: []string{"E-2.h"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				m := x.jsonBody()
				if m == nil || !x.under("/v1/") {
					return nil, nil
				}
				out := map[string]any{}
				for k, v := range m {
					out[strings.ToLower(k)] = v
				}
				b, _ := json.Marshal(out)
				return b, nil
			}},
		{name: "413 answered as 400", clauses: []string{"E-2.i"}, response: restatus(anyV1(413), 400, "validation_error")},
		// E-3
		{name: "rate limited without a configured limit", clauses: []string{"E-3.a"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				return x.api("/v1/files/list") && strings.HasSuffix(fmt.Sprint(x.jsonBody()["id"]), "never-used") && listCounter.Add(1)%4 == 0
			},
				func(*exchange) *http.Response {
					a := envelope(429, "rate_limited", "slow down")
					a.Header.Set("Retry-After", "1")
					return a
				})},
		{name: "rate limits not enforced", clauses: []string{"E-3.b"},
			request: swapKey(func(x *exchange, r *http.Request) bool { return x.under("/v1/") && x.key() == "else" })},
		{name: "429 without Retry-After", clauses: []string{"E-3.c"},
			response: func(x *exchange, resp *http.Response) error {
				if resp.StatusCode == 429 {
					resp.Header.Del("Retry-After")
				}
				return nil
			}},
		{name: "429 carries too_many_requests", clauses: []string{"E-3.d"}, response: restatus(anyV1(429), 429, "too_many_requests")},
		// S-1
		{name: "unknown sources taken as thread", clauses: []string{"S-1.a"},
			request: editRequest(func(x *exchange, m map[string]any) bool {
				s, ok := m["source"].(string)
				return files(x, m) && ok && s != "thread" && s != "volume"
			}, func(m map[string]any) { m["source"] = "thread" })},
		{name: "missing source defaults to thread", clauses: []string{"S-1.b"},
			request: editRequest(func(x *exchange, m map[string]any) bool { _, ok := m["source"]; return files(x, m) && !ok },
				func(m map[string]any) { m["source"] = "thread" })},
		{name: "missing or empty id defaults", clauses: []string{"S-1.c"},
			request: editRequest(func(x *exchange, m map[string]any) bool { id, _ := m["id"].(string); return files(x, m) && id == "" },
				func(m map[string]any) { m["id"] = "conf-default-thread" })},
		{name: "missing or empty path defaults", clauses: []string{"S-1.d"},
			request: editRequest(func(x *exchange, m map[string]any) bool { p, _ := m["path"].(string); return pathOps(x, m) && p == "" },
				func(m map[string]any) { m["path"] = "index.txt" })},
		// S-2
		{name: "thread listings show sandbox paths", clauses: []string{"S-2.a"}, exec: true,
			response: func(x *exchange, resp *http.Response) error {
				if x.source() != "thread" {
					return nil
				}
				return editEntries(func(e map[string]any) { e["path"] = "home/baponi/" + fmt.Sprint(e["path"]) })(x, resp)
			}},
		{name: "uploads land under uploads/", clauses: []string{"S-2.b"}, exec: true,
			request: editRequest(func(x *exchange, m map[string]any) bool {
				return x.api("/v1/files/upload_url") && m["source"] == "thread"
			},
				func(m map[string]any) { m["path"] = "uploads/" + fmt.Sprint(m["path"]) })},
		// S-3
		{name: "the read-write volume refuses uploads", clauses: []string{"S-3.a"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				return x.api("/v1/files/upload_url") && x.source() == "volume"
			},
				func(*exchange) *http.Response { return envelope(403, "forbidden", "read-only") })},
		{name: "the read-only volume cannot be read", clauses: []string{"S-3.b"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				return x.api("/v1/files/download_url") && x.jsonBody()["id"] == conformance.DevROVolume
			}, func(*exchange) *http.Response { return envelope(403, "forbidden", "no") })},
		{name: "volumes are per key", clauses: []string{"S-3.c"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				return x.api("/v1/files/list") && x.key() == "else" && x.source() == "volume"
			}, ok200(map[string]any{"files": []any{}}))},
		// S-4
		{name: "a thread exists only after an execution", clauses: []string{"S-4.a"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				m := x.jsonBody()
				if x.api("/v1/sandbox/execute") {
					mu.Lock()
					executed[fmt.Sprint(m["thread_id"])] = true
					mu.Unlock()
				}
				if !x.api("/v1/files/list") || m["source"] != "thread" {
					return false
				}
				mu.Lock()
				defer mu.Unlock()
				return !executed[fmt.Sprint(m["id"])]
			}, func(*exchange) *http.Response { return envelope(404, "not_found", "thread not found") })},
		{name: "an empty thread answers 404", clauses: []string{"S-4.b"}, exec: true,
			response: func(x *exchange, resp *http.Response) error {
				if !x.api("/v1/files/list") || resp.StatusCode != 200 || x.source() != "thread" {
					return nil
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Join(strings.Fields(string(b)), "") == `{"files":[]}` {
					resp.StatusCode = 404
					b, _ = json.Marshal(map[string]string{"error": "not_found", "message": "thread not found"})
				}
				setBody(resp, b)
				return nil
			}},
		// P-1
		{name: "leading / stripped", clauses: []string{"P-1.a"},
			request: editRequest(pathOps, func(m map[string]any) {
				if p, ok := m["path"].(string); ok {
					m["path"] = strings.TrimLeft(p, "/")
				}
			})},
		{name: "dot-dot segments cleaned instead of refused", clauses: []string{"P-1.b"},
			request: editRequest(func(x *exchange, m map[string]any) bool {
				p, _ := m["path"].(string)
				return files(x, m) && strings.Contains(p, ".")
			},
				func(m map[string]any) { m["path"] = cleanPath(m["path"].(string)) })},
		{name: "empty segments collapsed", clauses: []string{"P-1.c"},
			request: editRequest(pathOps, func(m map[string]any) {
				if p, ok := m["path"].(string); ok {
					for strings.Contains(p, "//") {
						p = strings.ReplaceAll(p, "//", "/")
					}
					m["path"] = strings.TrimSuffix(p, "/")
				}
			})},
		{name: "backslash taken as /", clauses: []string{"P-1.d"},
			request: editRequest(pathOps, func(m map[string]any) {
				if p, ok := m["path"].(string); ok {
					m["path"] = strings.ReplaceAll(p, `\`, "/")
				}
			})},
		{name: "control characters dropped", clauses: []string{"P-1.e"},
			request: editRequest(pathOps, func(m map[string]any) {
				if p, ok := m["path"].(string); ok {
					m["path"] = strings.Map(func(r rune) rune {
						if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
							return -1
						}
						return r
					}, p)
				}
			})},
		{name: "long paths cut to 1024 bytes", clauses: []string{"P-1.f"},
			request: editRequest(pathOps, func(m map[string]any) {
				if p, ok := m["path"].(string); ok && len(p) > 1024 {
					m["path"] = p[:1024]
				}
			})},
		{name: "non-ASCII paths refused", clauses: []string{"P-1.g"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				p, _ := x.jsonBody()["path"].(string)
				return x.under("/v1/files") && strings.ContainsFunc(p, func(r rune) bool { return r > 0x7f })
			}, func(*exchange) *http.Response { return envelope(400, "validation_error", "path must be ASCII") })},
		// P-2
		{name: "/ in IDs taken as -", clauses: []string{"P-2.a"},
			request: editRequest(files, func(m map[string]any) {
				if id, ok := m["id"].(string); ok {
					m["id"] = strings.ReplaceAll(id, "/", "-")
				}
			})},
		{name: "other characters in IDs taken as -", clauses: []string{"P-2.b"},
			request: editRequest(files, func(m map[string]any) {
				if id, ok := m["id"].(string); ok {
					m["id"] = strings.Map(func(r rune) rune {
						if r < 0x80 && (r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
							return r
						}
						return '-'
					}, id)
				}
			})},
		{name: "long IDs cut to 128", clauses: []string{"P-2.c"},
			request: editRequest(files, func(m map[string]any) {
				if id, ok := m["id"].(string); ok && len(id) > 128 {
					m["id"] = id[:128]
				}
			})},
		// L-1
		{name: "list answers entries instead of files", clauses: []string{"L-1.a"},
			response: editAnswer(onAPI("/v1/files/list", 200), func(_ *exchange, m map[string]any) { m["entries"] = m["files"]; delete(m, "files") })},
		{name: "list entries without modified", clauses: []string{"L-1.b"}, response: editEntries(func(e map[string]any) { delete(e, "modified") })},
		{name: "list sizes as strings", clauses: []string{"L-1.b"}, response: editEntries(func(e map[string]any) { e["size"] = fmt.Sprint(e["size"]) })},
		{name: "list paths are names only", clauses: []string{"L-1.c"}, response: editEntries(func(e map[string]any) { e["path"] = e["name"] })},
		{name: "list names are full paths", clauses: []string{"L-1.d"}, response: editEntries(func(e map[string]any) { e["name"] = e["path"] })},
		{name: "file sizes off by one", clauses: []string{"L-1.e"},
			response: editEntries(func(e map[string]any) {
				if e["is_directory"] == false {
					e["size"] = e["size"].(float64) + 1
				}
			})},
		{name: "directories sized 4096", clauses: []string{"L-1.f"},
			response: editEntries(func(e map[string]any) {
				if e["is_directory"] == true {
					e["size"] = 4096
				}
			})},
		{name: "modified in local time", clauses: []string{"L-1.g"},
			response: editEntries(func(e map[string]any) {
				if t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(e["modified"])); err == nil {
					e["modified"] = t.In(time.FixedZone("CET", 3600)).Format(time.RFC3339)
				}
			})},
		{name: "modified is not the upload time", clauses: []string{"L-1.h"}, response: editEntries(func(e map[string]any) { e["modified"] = epoch2001 })},
		// L-2, L-3, L-4, L-5
		{name: "listing not recursive", clauses: []string{"L-2.a"},
			response: func(x *exchange, resp *http.Response) error {
				if !x.api("/v1/files/list") || x.jsonBody()["path"] != nil {
					return nil
				}
				return editFiles(resp, func(files []any) []any {
					return slices.DeleteFunc(files, func(f any) bool { return strings.Contains(f.(map[string]any)["path"].(string), "/") })
				})
			}},
		{name: "list without directory entries", clauses: []string{"L-2.b"},
			response: func(x *exchange, resp *http.Response) error {
				if !x.api("/v1/files/list") {
					return nil
				}
				return editFiles(resp, func(files []any) []any {
					return slices.DeleteFunc(files, func(f any) bool { return f.(map[string]any)["is_directory"] == true })
				})
			}},
		{name: "is_directory always false", clauses: []string{"L-2.c"}, response: editEntries(func(e map[string]any) { e["is_directory"] = false })},
		{name: "list ignores path", clauses: []string{"L-3.a"},
			request: editRequest(func(x *exchange, m map[string]any) bool { return x.api("/v1/files/list") }, func(m map[string]any) { delete(m, "path") })},
		{name: "list paths relative to the prefix", clauses: []string{"L-3.b"},
			response: func(x *exchange, resp *http.Response) error {
				prefix, _ := x.jsonBody()["path"].(string)
				if !x.api("/v1/files/list") || prefix == "" {
					return nil
				}
				return editEntries(func(e map[string]any) { e["path"] = strings.TrimPrefix(e["path"].(string), prefix) })(x, resp)
			}},
		{name: "a prefix without / taken as a directory", clauses: []string{"L-3.c"},
			request: editRequest(func(x *exchange, m map[string]any) bool {
				p, ok := m["path"].(string)
				return x.api("/v1/files/list") && ok && !strings.HasSuffix(p, "/")
			}, func(m map[string]any) { m["path"] = m["path"].(string) + "/" })},
		{name: "list not sorted", clauses: []string{"L-4.a"},
			response: func(x *exchange, resp *http.Response) error {
				if !x.api("/v1/files/list") {
					return nil
				}
				return editFiles(resp, func(files []any) []any { slices.Reverse(files); return files })
			}},
		{name: "directory modified not the newest", clauses: []string{"L-4.b"},
			response: editEntries(func(e map[string]any) {
				if e["is_directory"] == true {
					e["modified"] = epoch2001
				}
			})},
		{name: "an empty listing is null", clauses: []string{"L-4.c"},
			response: editAnswer(onAPI("/v1/files/list", 200), func(_ *exchange, m map[string]any) {
				if fs, _ := m["files"].([]any); len(fs) == 0 {
					m["files"] = nil
				}
			})},
		{name: "unknown thread lists empty", clauses: []string{"L-5.a"},
			response: func(x *exchange, resp *http.Response) error {
				if x.api("/v1/files/list") && resp.StatusCode == 404 && x.source() == "thread" {
					resp.StatusCode = 200
					b, _ := json.Marshal(map[string]any{"files": []any{}})
					setBody(resp, b)
				}
				return nil
			}},
		{name: "unknown volume lists empty", clauses: []string{"L-5.b"},
			response: func(x *exchange, resp *http.Response) error {
				if x.api("/v1/files/list") && resp.StatusCode == 404 && x.source() == "volume" {
					resp.StatusCode = 200
					b, _ := json.Marshal(map[string]any{"files": []any{}})
					setBody(resp, b)
				}
				return nil
			}},
		// U-1
		{name: "upload url is relative", clauses: []string{"U-1.a"},
			response: editAnswer(onAPI("/v1/files/upload_url", 200), func(_ *exchange, m map[string]any) {
				if u, err := url.Parse(fmt.Sprint(m["url"])); err == nil {
					m["url"] = u.RequestURI()
				}
			})},
		{name: "upload method POST", clauses: []string{"U-1.b"},
			response: editAnswer(onAPI("/v1/files/upload_url", 200), func(_ *exchange, m map[string]any) { m["method"] = "POST" })},
		{name: "upload headers without Content-Type", clauses: []string{"U-1.c"},
			response: editAnswer(onAPI("/v1/files/upload_url", 200), func(_ *exchange, m map[string]any) { m["headers"] = map[string]string{} })},
		{name: "content_type defaults to text/plain", clauses: []string{"U-1.d"},
			request: editRequest(func(x *exchange, m map[string]any) bool {
				_, ok := m["content_type"]
				return x.api("/v1/files/upload_url") && !ok
			},
				func(m map[string]any) { m["content_type"] = "text/plain" })},
		{name: "upload headers name a Content-Type that was not signed", clauses: []string{"U-1.e"},
			response: editAnswer(onAPI("/v1/files/upload_url", 200), func(_ *exchange, m map[string]any) {
				m["headers"] = map[string]string{"Content-Type": "application/x-unsigned"}
			})},
		// U-2
		{name: "expires_at with an offset", clauses: []string{"U-2.a"},
			response: editAnswer(func(x *exchange, resp *http.Response) bool {
				return (x.api("/v1/files/upload_url") || x.api("/v1/files/download_url")) && resp.StatusCode == 200
			}, func(_ *exchange, m map[string]any) {
				if t, err := time.Parse(time.RFC3339, fmt.Sprint(m["expires_at"])); err == nil {
					m["expires_at"] = t.In(time.FixedZone("", 2*3600)).Format(time.RFC3339)
				}
			})},
		{name: "upload expires_at 10 minutes after issue", clauses: []string{"U-2.b"},
			response: editAnswer(onAPI("/v1/files/upload_url", 200), func(_ *exchange, m map[string]any) {
				if t, err := time.Parse(time.RFC3339, fmt.Sprint(m["expires_at"])); err == nil {
					m["expires_at"] = t.Add(-5 * time.Minute).Format(time.RFC3339)
				}
			})},
		{name: "download expires_at 20 minutes after issue", clauses: []string{"U-2.c"},
			response: editAnswer(onAPI("/v1/files/download_url", 200), func(_ *exchange, m map[string]any) {
				if t, err := time.Parse(time.RFC3339, fmt.Sprint(m["expires_at"])); err == nil {
					m["expires_at"] = t.Add(5 * time.Minute).Format(time.RFC3339)
				}
			})},
		{name: "signed URLs die before expires_at", clauses: []string{"U-2.d"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if x.api("/_emulator/clock") && x.method == http.MethodPost {
					if d, err := time.ParseDuration(fmt.Sprint(x.jsonBody()["advance"])); err == nil {
						advanced.Add(int64(d / time.Minute))
					}
				}
				if x.dataPlane() && advanced.Load() >= 14 {
					return nil, xmlError(400, "ExpiredToken")
				}
				return nil, nil
			}},
		{name: "signed URLs never expire", clauses: []string{"U-2.e", "M-2.a"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				return x.api("/_emulator/clock") && x.method == http.MethodPost
			},
				func(*exchange) *http.Response {
					return jsonAnswer(200, map[string]string{"now": time.Now().UTC().Format(time.RFC3339Nano)})
				})},
		// U-3
		{name: "exactly 10 GiB rejected", clauses: []string{"U-3.a"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				return x.api("/v1/files/upload_url") && bytes.Contains(x.body, []byte(`"content_length":10737418240`))
			}, func(*exchange) *http.Response {
				return envelope(400, "validation_error", "content_length exceeds maximum of 10737418239 bytes")
			})},
		{name: "10 GiB + 1 accepted", clauses: []string{"U-3.b"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if x.api("/v1/files/upload_url") {
					return bytes.ReplaceAll(x.body, []byte("10737418241"), []byte("10737418240")), nil
				}
				return nil, nil
			}},
		{name: "the over-limit message does not name the limit", clauses: []string{"U-3.c"},
			response: editAnswer(onAPI("/v1/files/upload_url", 400), func(_ *exchange, m map[string]any) { m["message"] = "content_length is too large" })},
		{name: "bad content_length taken as 1", clauses: []string{"U-3.d"},
			request: editRequest(func(x *exchange, m map[string]any) bool {
				n, ok := m["content_length"].(float64)
				return x.api("/v1/files/upload_url") && (!ok || n < 0 || n != float64(int64(n)) || n > 1<<40)
			}, func(m map[string]any) { m["content_length"] = 1 })},
		{name: "empty files refused", clauses: []string{"U-3.e"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				n, ok := x.jsonBody()["content_length"].(float64)
				return x.api("/v1/files/upload_url") && ok && n == 0
			}, func(*exchange) *http.Response {
				return envelope(400, "validation_error", "content_length must be at least 1")
			})},
		// U-4
		{name: "read-only volume hands out upload URLs", clauses: []string{"U-4.a"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if x.path == "/fake-upload" {
					return nil, &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody}
				}
				return nil, nil
			},
			response: func(x *exchange, resp *http.Response) error {
				if x.api("/v1/files/upload_url") && resp.StatusCode == http.StatusForbidden {
					resp.StatusCode = http.StatusOK
					resp.Header.Set("Content-Type", "application/json")
					b, _ := json.Marshal(map[string]any{
						"url": x.proxyURL + "/fake-upload", "method": "PUT", "headers": map[string]string{"Content-Type": "text/plain"},
						"expires_at": time.Now().UTC().Add(15 * time.Minute).Format(time.RFC3339),
					})
					setBody(resp, b)
				}
				return nil
			}},
		{name: "read-only refusal carries error read_only", clauses: []string{"U-4.b"},
			response: restatus(onAPI("/v1/files/upload_url", 403), 403, "read_only")},
		// U-5
		{name: "signatures not checked", clauses: []string{"U-5.a", "D-3.e"},
			response: is.track,
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if !x.dataPlane() {
					return nil, nil
				}
				if iu, ok := is.lookupPath(x.method, x.path); ok && iu.query != x.query {
					r.URL.RawQuery = iu.query
				}
				return nil, nil
			}},
		{name: "signature errors in another code", clauses: []string{"U-5.b"}, response: rewriteXMLCode("SignatureDoesNotMatch", "AccessDenied", 0)},
		{name: "expiry errors in another code", clauses: []string{"U-5.c"}, response: rewriteXMLCode("ExpiredToken", "AccessDenied", 403)},
		{name: "Content-Type of a PUT not enforced", clauses: []string{"U-5.d"},
			response: is.track,
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if iu, ok := is.lookupPath(http.MethodPut, x.path); ok && x.dataPlane() && x.method == http.MethodPut {
					r.Header.Set("Content-Type", iu.contentType)
				}
				return nil, nil
			}},
		{name: "length of a PUT not enforced", clauses: []string{"U-5.e"},
			response: is.track,
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if !x.dataPlane() || x.method != http.MethodPut {
					return nil, nil
				}
				is.mu.Lock()
				n, ok := is.lengths[x.path]
				is.mu.Unlock()
				b, err := dataBody(r)
				if err != nil || !ok || int64(len(b)) == n {
					return b, nil
				}
				if int64(len(b)) > n {
					b = b[:n]
				} else {
					b = append(b, make([]byte, n-int64(len(b)))...)
				}
				return b, nil
			}},
		{name: "an upload URL works for any path", clauses: []string{"U-5.f"},
			response: is.track,
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if iu, ok := is.lookupSig(x.query); ok && x.dataPlane() && iu.path != x.path {
					r.URL.Path, r.URL.RawPath = iu.path, ""
				}
				return nil, nil
			}},
		{name: "a download URL takes PUT", clauses: []string{"U-5.g"},
			response: is.track,
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if iu, ok := is.lookupSig(x.query); ok && x.dataPlane() && iu.method == http.MethodGet && x.method == http.MethodPut {
					return nil, &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody}
				}
				return nil, nil
			}},
		// U-6
		{name: "an interrupted upload is listed", clauses: []string{"U-6.a"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if !x.dataPlane() || x.method != http.MethodPut {
					return nil, nil
				}
				b, err := dataBody(r)
				defer begun.handled(x.path) // once the cut is recorded
				if err != nil {
					mu.Lock()
					interrupted[x.path] = len(b)
					mu.Unlock()
					return nil, xmlError(400, "IncompleteBody")
				}
				return b, nil
			},
			response: func(x *exchange, resp *http.Response) error {
				if err := begun.track(x, resp); err != nil {
					return err
				}
				if !x.api("/v1/files/list") || x.source() != "thread" {
					return nil
				}
				id := fmt.Sprint(x.jsonBody()["id"])
				begun.await(resp.Request.Context(), id, "") // a cut upload is seen before the listing
				return editFiles(resp, func(files []any) []any {
					mu.Lock()
					defer mu.Unlock()
					for up, n := range interrupted {
						if _, tid, p, ok := object(up); ok && tid == id {
							files = append(files, map[string]any{"name": path.Base(p), "path": p, "size": n, "modified": time.Now().UTC().Format(time.RFC3339), "is_directory": false})
						}
					}
					return files
				})
			}},
		{name: "an interrupted upload blocks the path", clauses: []string{"U-6.b"},
			response: begun.track,
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if !x.dataPlane() || x.method != http.MethodPut {
					return nil, nil
				}
				_, id, p, _ := object(x.path)
				b, err := dataBody(r)
				if err != nil {
					mu.Lock()
					interrupted[id+"/"+p] = len(b)
					mu.Unlock()
					begun.handled(x.path)
					return nil, xmlError(400, "IncompleteBody")
				}
				begun.handled(x.path)
				// An earlier upload to this path, cut, is seen before this one is judged.
				begun.await(r.Context(), id, p)
				mu.Lock()
				defer mu.Unlock()
				if _, blocked := interrupted[id+"/"+p]; blocked {
					return nil, xmlError(409, "ObjectLocked")
				}
				return b, nil
			}},
		{name: "a second upload to a path is dropped", clauses: []string{"U-6.c"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if !x.dataPlane() || x.method != http.MethodPut {
					return nil, nil
				}
				_, id, p, _ := object(x.path)
				mu.Lock()
				defer mu.Unlock()
				if seen[id+"/"+p] {
					return nil, &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody}
				}
				seen[id+"/"+p] = true
				return nil, nil
			}},
		{name: "an upload first removes the earlier file (not atomic)", clauses: []string{"U-6.d"},
			response: begun.track,
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				src, id, p, ok := object(x.path)
				if !x.dataPlane() || !ok {
					return nil, nil
				}
				switch x.method {
				case http.MethodPut:
					deleteFile(x, src, id, p)
					begun.handled(x.path)
				case http.MethodGet:
					// An upload to the file, cut, has removed it before it is read.
					begun.await(r.Context(), id, p)
				}
				return nil, nil
			}},
		// D-1, D-2, D-3
		{name: "download method POST", clauses: []string{"D-1.a"},
			response: editAnswer(onAPI("/v1/files/download_url", 200), func(_ *exchange, m map[string]any) { m["method"] = "POST" })},
		{name: "corrupted download bytes", clauses: []string{"D-1.b", "D-3.a"},
			response: func(x *exchange, resp *http.Response) error {
				if !x.dataPlane() || x.method != http.MethodGet || (resp.StatusCode != 200 && resp.StatusCode != 206) {
					return nil
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					return err
				}
				if len(b) > 0 {
					b[len(b)/2] ^= 0x20
				}
				setBody(resp, b)
				return nil
			}},
		{name: "download_url without headers", clauses: []string{"D-1.c"},
			response: editAnswer(onAPI("/v1/files/download_url", 200), func(_ *exchange, m map[string]any) { delete(m, "headers") })},
		{name: "a missing file gets a download URL", clauses: []string{"D-2.a"},
			response: func(x *exchange, resp *http.Response) error {
				if !x.api("/v1/files/download_url") || resp.StatusCode != 404 {
					return nil
				}
				resp.StatusCode = 200
				b, _ := json.Marshal(map[string]any{"url": x.proxyURL + "/nothing", "method": "GET", "headers": map[string]string{},
					"expires_at": time.Now().UTC().Add(15 * time.Minute).Format(time.RFC3339)})
				setBody(resp, b)
				return nil
			}},
		{name: "download_url of an unknown space answers 403", clauses: []string{"D-2.b"},
			response: restatus(func(x *exchange, resp *http.Response) bool {
				return x.api("/v1/files/download_url") && resp.StatusCode == 404 && !strings.Contains(fmt.Sprint(x.jsonBody()["id"]), "-d2-")
			}, 403, "forbidden")},
		{name: "download_url of a directory answers 400", clauses: []string{"D-2.c"},
			response: restatus(func(x *exchange, resp *http.Response) bool {
				p, _ := x.jsonBody()["path"].(string)
				return x.api("/v1/files/download_url") && resp.StatusCode == 404 && !strings.Contains(p, ".")
			}, 400, "validation_error")},
		{name: "downloads without Content-Length", clauses: []string{"D-3.b"},
			response: func(x *exchange, resp *http.Response) error {
				if x.dataPlane() && x.method == http.MethodGet {
					resp.Header.Del("Content-Length")
					resp.ContentLength = -1
				}
				return nil
			}},
		{name: "downloads as application/octet-stream", clauses: []string{"D-3.c"},
			response: func(x *exchange, resp *http.Response) error {
				if x.dataPlane() && x.method == http.MethodGet {
					resp.Header.Set("Content-Type", "application/octet-stream")
				}
				return nil
			}},
		{name: "Range ignored by storage", clauses: []string{"D-3.d"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if x.dataPlane() {
					r.Header.Del("Range")
				}
				return nil, nil
			}},
		//
		{name: "delete answers {ok: true}", clauses: []string{"X-1.a"},
			response: editAnswer(onAPI("/v1/files", 200), func(_ *exchange, m map[string]any) { delete(m, "deleted"); m["ok"] = true })},
		{name: "delete that deletes nothing", clauses: []string{"X-1.b"},
			request: answerIf(func(x *exchange, r *http.Request) bool { return x.api("/v1/files") && x.method == http.MethodDelete },
				ok200(map[string]bool{"deleted": true}))},
		{name: "delete removes the whole thread", clauses: []string{"X-1.c"},
			after: func(x *exchange) {
				m := x.jsonBody()
				if x.api("/v1/files") && x.method == http.MethodDelete && m["source"] == "thread" && x.key() == "dev" {
					for _, p := range listFiles(x, "thread", fmt.Sprint(m["id"]), "") {
						deleteFile(x, "thread", fmt.Sprint(m["id"]), p)
					}
				}
			}},
		{name: "delete on a volume refused", clauses: []string{"X-1.d"},
			request: answerIf(func(x *exchange, r *http.Request) bool { return x.api("/v1/files") && x.source() == "volume" },
				func(*exchange) *http.Response { return envelope(403, "forbidden", "read-only") })},
		{name: "delete on the read-only volume pretends to work", clauses: []string{"X-2.a"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				return x.api("/v1/files") && x.jsonBody()["id"] == conformance.DevROVolume
			}, ok200(map[string]bool{"deleted": true}))},
		{name: "deleting a missing file succeeds", clauses: []string{"X-2.b"},
			response: func(x *exchange, resp *http.Response) error {
				if x.api("/v1/files") && resp.StatusCode == 404 {
					resp.StatusCode = 200
					b, _ := json.Marshal(map[string]bool{"deleted": true})
					setBody(resp, b)
				}
				return nil
			}},
		{name: "deleting a directory answers 404", clauses: []string{"X-3.a"}, response: restatus(onAPI("/v1/files", 400), 404, "not_found")},
		{name: "deleting a directory empties it", clauses: []string{"X-3.b"},
			after: func(x *exchange) {
				m := x.jsonBody()
				if x.api("/v1/files") && x.method == http.MethodDelete && m["source"] == "thread" {
					for _, p := range listFiles(x, "thread", fmt.Sprint(m["id"]), fmt.Sprint(m["path"])+"/") {
						deleteFile(x, "thread", fmt.Sprint(m["id"]), p)
					}
				}
			}},
		//
		{name: "execute answer without stderr", clauses: []string{"R-1.a"}, exec: true,
			response: editAnswer(onAPI("/v1/sandbox/execute", 200), func(_ *exchange, m map[string]any) { delete(m, "stderr") })},
		{name: "success always true", clauses: []string{"R-1.b"}, exec: true,
			response: editAnswer(onAPI("/v1/sandbox/execute", 200), func(_ *exchange, m map[string]any) { m["success"] = true })},
		{name: "stdout and stderr swapped", clauses: []string{"R-1.c"}, exec: true,
			response: editAnswer(onAPI("/v1/sandbox/execute", 200), func(_ *exchange, m map[string]any) { m["stdout"], m["stderr"] = m["stderr"], m["stdout"] })},
		{name: "non-zero exit codes reported as 1", clauses: []string{"R-1.d"}, exec: true,
			response: editAnswer(onAPI("/v1/sandbox/execute", 200), func(_ *exchange, m map[string]any) {
				if m["exit_code"] != float64(0) {
					m["exit_code"] = 1
				}
			})},
		{name: "execute answer without trace_id", clauses: []string{"R-1.e"}, exec: true,
			response: editAnswer(onAPI("/v1/sandbox/execute", 200), func(_ *exchange, m map[string]any) { delete(m, "trace_id") })},
		{name: "status completed instead of success", clauses: []string{"R-1.f"}, exec: true,
			response: editAnswer(onAPI("/v1/sandbox/execute", 200), func(_ *exchange, m map[string]any) {
				if m["status"] == "success" {
					m["status"] = "completed"
				}
			})},
		//
		{name: "bash is the default language", clauses: []string{"R-2.a"}, exec: true,
			request: editRequest(func(x *exchange, m map[string]any) bool { _, ok := m["language"]; return execute(x, m) && !ok },
				func(m map[string]any) { m["language"] = "bash" })},
		{name: "node refused", clauses: []string{"R-2.b"}, exec: true,
			request: answerIf(func(x *exchange, r *http.Request) bool {
				return x.api("/v1/sandbox/execute") && x.jsonBody()["language"] == "node"
			},
				func(*exchange) *http.Response {
					return envelope(400, "validation_error", "language must be python or bash")
				})},
		{name: "unknown languages run as python", clauses: []string{"R-2.c"}, exec: true,
			request: editRequest(func(x *exchange, m map[string]any) bool { return execute(x, m) && m["language"] == "ruby" },
				func(m map[string]any) { m["language"] = "python" })},
		{name: "empty code runs", clauses: []string{"R-2.d"}, exec: true,
			request: editRequest(func(x *exchange, m map[string]any) bool { return execute(x, m) && m["code"] == "" },
				func(m map[string]any) { m["code"] = "pass" })},
		{name: "code over 1 MiB cut to 1 MiB", clauses: []string{"R-2.e"}, exec: true,
			request: editRequest(func(x *exchange, m map[string]any) bool {
				c, _ := m["code"].(string)
				return execute(x, m) && len(c) > 1<<20
			},
				func(m map[string]any) { m["code"] = m["code"].(string)[:1<<20] })},
		{name: "code of 1 MiB refused", clauses: []string{"R-2.f"}, exec: true,
			request: answerIf(func(x *exchange, r *http.Request) bool {
				c, _ := x.jsonBody()["code"].(string)
				return x.api("/v1/sandbox/execute") && len(c) >= 1<<20
			}, func(*exchange) *http.Response { return envelope(400, "validation_error", "code must be under 1 MB") })},
		//
		{name: "lost persistence across executions", clauses: []string{"R-3.a", "R-3.b"}, exec: true,
			request: editRequest(func(x *exchange, m map[string]any) bool { _, ok := m["thread_id"].(string); return execute(x, m) && ok },
				func(m map[string]any) { m["thread_id"] = fmt.Sprintf("%s-x%d", m["thread_id"], execCounter.Add(1)) })},
		{name: "executions without thread_id share a home", clauses: []string{"R-3.c"}, exec: true,
			request: editRequest(func(x *exchange, m map[string]any) bool { _, ok := m["thread_id"]; return execute(x, m) && !ok },
				func(m map[string]any) { m["thread_id"] = "conf-shared-home" })},
		//
		{name: "a busy thread runs a second execution elsewhere", clauses: []string{"R-4.a"}, exec: true,
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				m := x.jsonBody()
				tid, ok := m["thread_id"].(string)
				if !x.api("/v1/sandbox/execute") || !ok {
					return nil, nil
				}
				mu.Lock()
				defer mu.Unlock()
				if busy[tid] {
					delete(m, "thread_id")
					b, _ := json.Marshal(m)
					return b, nil
				}
				busy[tid] = true
				return nil, nil
			},
			after: func(x *exchange) {
				if tid, ok := x.jsonBody()["thread_id"].(string); ok && x.api("/v1/sandbox/execute") {
					mu.Lock()
					delete(busy, tid)
					mu.Unlock()
				}
			}},
		{name: "409 carries busy", clauses: []string{"R-4.b"}, exec: true, response: restatus(anyV1(409), 409, "busy")},
		//
		{name: "timeouts reported as failed", clauses: []string{"R-5.a"}, exec: true,
			response: editAnswer(onAPI("/v1/sandbox/execute", 200), func(_ *exchange, m map[string]any) {
				if m["status"] == "timeout" {
					m["status"] = "failed"
				}
			})},
		{name: "background processes outlive the timeout", clauses: []string{"R-5.b"}, exec: true,
			request: editRequest(func(x *exchange, m map[string]any) bool { return execute(x, m) && m["timeout"] == float64(1) },
				func(m map[string]any) { m["timeout"] = 6 })},
		{name: "bad timeouts fall back to the default", clauses: []string{"R-5.c"}, exec: true,
			request: editRequest(func(x *exchange, m map[string]any) bool {
				t, isNum := m["timeout"].(float64)
				_, has := m["timeout"]
				return execute(x, m) && has && (!isNum || t < 1 || t > 300 || t != float64(int(t)))
			}, func(m map[string]any) { delete(m, "timeout") })},
		{name: "oom reported as failed", clauses: []string{"R-5.d"}, exec: true,
			response: editAnswer(onAPI("/v1/sandbox/execute", 200), func(_ *exchange, m map[string]any) {
				if m["status"] == "oom" {
					m["status"] = "failed"
				}
			})},
		//
		{name: "volumes mounted elsewhere", clauses: []string{"R-6.a"}, exec: true, request: editCode("/volumes/", "/mnt/volumes/")},
		{name: "the read-only volume is writable", clauses: []string{"R-6.b"}, exec: true, request: editCode("/volumes/"+conformance.DevROVolume+"/", "/tmp/")},
		{name: "the network is reachable", clauses: []string{"R-6.c"}, exec: true, request: editCode("socket.create_connection(('1.1.1.1', 53), timeout=1)", "None")},
		{name: "other threads are visible", clauses: []string{"R-6.d"}, exec: true, request: editCode("print('FOUND' if found else 'NOTFOUND')", "print('FOUND')")},
		{name: "env_vars dropped", clauses: []string{"R-7.a"}, exec: true,
			request: editRequest(execute, func(m map[string]any) { delete(m, "env_vars") })},
		{name: "reserved env_vars dropped", clauses: []string{"R-7.b"}, exec: true,
			request: editRequest(execute, func(m map[string]any) {
				if env, ok := m["env_vars"].(map[string]any); ok {
					for k := range env {
						if k == "PATH" || k == "HOME" || k == "USER" || k == "SHELL" || k == "PWD" || strings.HasPrefix(k, "BAPONI_") {
							delete(env, k)
						}
					}
				}
			})},
		//
		{name: "the stream is one JSON array", clauses: []string{"R-8.a"}, exec: true,
			response: stream(func(lines [][]byte) []byte {
				return append(append([]byte("["), bytes.Join(lines, []byte(","))...), ']', '\n')
			})},
		{name: "the stream starts without its status event", clauses: []string{"R-8.b"}, exec: true,
			response: stream(func(lines [][]byte) []byte {
				if len(lines) > 0 {
					lines = lines[1:]
				}
				return append(bytes.Join(lines, []byte("\n")), '\n')
			})},
		{name: "the stream served as application/json", clauses: []string{"R-8.c"}, exec: true,
			response: func(x *exchange, resp *http.Response) error {
				if x.api("/v1/sandbox/execute") && strings.Contains(resp.Header.Get("Content-Type"), "ndjson") {
					resp.Header.Set("Content-Type", "application/json")
				}
				return nil
			}},
		{name: "Prefer: respond-async ignored", clauses: []string{"R-8.d"}, exec: true,
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				r.Header.Del("Prefer")
				return nil, nil
			}},
		{name: "webhooks never called", clauses: []string{"R-8.e"}, exec: true,
			request: editRequest(func(x *exchange, m map[string]any) bool { _, ok := m["webhook_url"]; return execute(x, m) && ok },
				func(m map[string]any) { m["webhook_url"] = "http://127.0.0.1:9/hook" })},
		{name: "the record without delivery_mode", clauses: []string{"R-8.f"}, exec: true,
			response: editAnswer(func(x *exchange, resp *http.Response) bool {
				return x.under("/v1/executions/") && resp.StatusCode == 200
			},
				func(_ *exchange, m map[string]any) { delete(m, "delivery_mode") })},
		{name: "the record loses stdout", clauses: []string{"R-8.g"}, exec: true,
			response: editAnswer(func(x *exchange, resp *http.Response) bool {
				return x.under("/v1/executions/") && resp.StatusCode == 200
			},
				func(_ *exchange, m map[string]any) { m["stdout"] = "" })},
		{name: "a failed run recorded as error", clauses: []string{"R-8.h"}, exec: true,
			response: editAnswer(func(x *exchange, resp *http.Response) bool {
				return x.under("/v1/executions/") && resp.StatusCode == 200
			},
				func(_ *exchange, m map[string]any) {
					if m["status"] == "failed" {
						m["status"] = "error"
					}
				})},
		{name: "record times as Unix seconds", clauses: []string{"R-8.i"}, exec: true,
			response: editAnswer(func(x *exchange, resp *http.Response) bool {
				return x.under("/v1/executions/") && resp.StatusCode == 200
			},
				func(_ *exchange, m map[string]any) { m["created_at"] = time.Now().Unix() })},
		{name: "another organisation reads execution records", clauses: []string{"R-8.j"}, exec: true,
			request: swapKey(func(x *exchange, r *http.Request) bool { return x.under("/v1/executions/") && x.key() == "other" })},
		// M-1, M-3
		{name: "health answers 503", clauses: []string{"M-1.a"},
			request: answerIf(func(x *exchange, r *http.Request) bool { return x.api("/_emulator/health") },
				func(*exchange) *http.Response { return jsonAnswer(503, map[string]string{"status": "starting"}) })},
		{name: "info without backend", clauses: []string{"M-1.b"},
			response: editAnswer(onAPI("/_emulator/info", 200), func(_ *exchange, m map[string]any) { delete(m, "backend") })},
		{name: "made keys do not work", clauses: []string{"M-3.a"},
			response: editAnswer(onAPI("/_emulator/keys", 200, 201), func(_ *exchange, m map[string]any) {
				if _, ok := m["key"]; ok {
					m["key"] = "sk-us-bm90LWEtcmVhbC1rZXk"
				}
			})},
		{name: "volume seeds dropped", clauses: []string{"M-3.c"},
			request: editRequest(func(x *exchange, m map[string]any) bool { return x.api("/_emulator/volumes") }, func(m map[string]any) { delete(m, "files") })},
		{name: "read-only flips ignored", clauses: []string{"M-3.d"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				return x.under("/_emulator/volumes/") && x.method == http.MethodPatch
			},
				func(x *exchange) *http.Response { return jsonAnswer(200, x.jsonBody()) })},
		// M-4 … M-7
		{name: "fault rules are not stored", clauses: []string{"M-4.a"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				return x.api("/_emulator/faults") && x.method == http.MethodPost
			},
				func(*exchange) *http.Response {
					return jsonAnswer(201, map[string]any{"id": "f0", "hits": 0, "remaining": 1})
				})},
		{name: "injected errors lose Retry-After", clauses: []string{"M-4.b"},
			response: func(x *exchange, resp *http.Response) error {
				if x.under("/v1/") && resp.StatusCode == http.StatusServiceUnavailable {
					resp.Header.Del("Retry-After")
				}
				return nil
			}},
		{name: "fault rules ignore times", clauses: []string{"M-4.c"},
			request: editRequest(func(x *exchange, m map[string]any) bool {
				return x.api("/_emulator/faults") && x.method == http.MethodPost
			},
				func(m map[string]any) { delete(m, "times") })},
		{name: "the journal is empty", clauses: []string{"M-5.a"},
			response: editAnswer(onAPI("/_emulator/requests", 200), func(_ *exchange, m map[string]any) { m["requests"] = []any{} })},
		{name: "the journal drops the key id", clauses: []string{"M-5.b"},
			response: editAnswer(onAPI("/_emulator/requests", 200), func(_ *exchange, m map[string]any) {
				for _, e := range m["requests"].([]any) {
					e.(map[string]any)["key_id"] = ""
				}
			})},
		{name: "reset does nothing", clauses: []string{"M-6.a"},
			request: answerIf(func(x *exchange, r *http.Request) bool { return x.api("/_emulator/reset") },
				func(*exchange) *http.Response { return jsonAnswer(200, map[string]any{"reset": "thread"}) })},
		{name: "the snapshot is not a tar", clauses: []string{"M-7.a"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				return x.api("/_emulator/snapshot") && x.method == http.MethodGet
			},
				func(*exchange) *http.Response { return jsonAnswer(200, map[string]any{"snapshot": "soon"}) })},
		{name: "any snapshot is accepted", clauses: []string{"M-7.b"},
			request: answerIf(func(x *exchange, r *http.Request) bool {
				return x.api("/_emulator/snapshot") && x.method == http.MethodPost
			},
				func(*exchange) *http.Response { return jsonAnswer(200, map[string]bool{"loaded": true}) })},
	}, mcpDeviations()...) // mcp_mutation_test.go
}

// TestCompareURLShowsDrift runs the suite against a deviating proxy and
// the embedded emulator in one go (--compare-url embedded) and requires
// the drift report to show the deviation, and the list path-relativity
// row to name both answers.
func TestCompareURLShowsDrift(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite twice")
	}
	var relative deviation
	for _, d := range deviations() {
		if d.name == "list paths relative to the prefix" {
			relative = d
		}
	}
	base, _ := startProxied(t, relative)
	var out bytes.Buffer
	cfg := devConfig(base)
	cfg.LabelFilter, cfg.Out, cfg.CompareURL = "list", &out, "embedded"
	res, err := conformance.Run(t.Context(), cfg)
	if err != nil || res.Drift == nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	var rel conformance.ObservationRow
	for _, o := range res.Drift.Observations {
		if o.Name == "list_path_relativity" {
			rel = o
		}
	}
	if rel.Same || rel.A != "relative to path" || rel.B != "root-relative" {
		t.Errorf("list path relativity: %+v", rel)
	}
	found := false
	for _, r := range res.Drift.Rows {
		if r.Rule == "L-3" && r.Aspect == "status" {
			found = true
		}
	}
	if !found {
		t.Errorf("no L-3 status row in the drift report:\n%s", res.Drift.Markdown())
	}
	if !strings.Contains(out.String(), "# Baponi conformance drift report") {
		t.Errorf("drift report not printed:\n%s", out.String())
	}
}
