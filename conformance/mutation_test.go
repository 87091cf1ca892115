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

	"github.com/localbaponi/localbaponi/conformance"
	"github.com/localbaponi/localbaponi/emulator"
)

// exchange is one proxied request as the deviation sees it.
type exchange struct {
	method, path string
	body         []byte // request body of /v1/ and /_emulator/ requests
	proxyURL     string
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

// deviation bends one behaviour of the emulator.
type deviation struct {
	name   string
	filter string   // --label-filter for the run
	rules  []string // each must be among the failed checks
	exec   bool     // needs code execution
	// request may rewrite the request body or answer instead of the emulator.
	request func(x *exchange, r *http.Request) (body []byte, answer *http.Response)
	// response may rewrite the emulator's answer.
	response func(x *exchange, resp *http.Response) error
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
		x := &exchange{method: r.Method, path: r.URL.Path, proxyURL: proxyURL}
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

func deviations() []deviation {
	var execCounter atomic.Int64
	return []deviation{
		{
			name: "404 answered as 400", filter: "list || download || delete", rules: []string{"L-5", "D-2", "X-2"},
			response: func(x *exchange, resp *http.Response) error {
				if x.under("/v1/") && resp.StatusCode == http.StatusNotFound {
					resp.StatusCode = http.StatusBadRequest
				}
				return nil
			},
		},
		{
			name: "list entries without modified", filter: "list", rules: []string{"L-1"},
			response: func(x *exchange, resp *http.Response) error {
				if !x.api("/v1/files/list") {
					return nil
				}
				return editFiles(resp, func(files []any) []any {
					for _, f := range files {
						delete(f.(map[string]any), "modified")
					}
					return files
				})
			},
		},
		{
			name: "error envelope without message", filter: "errors", rules: []string{"E-1"},
			response: func(x *exchange, resp *http.Response) error {
				if x.under("/v1/") && resp.StatusCode >= 400 {
					return editJSON(resp, func(m map[string]any) { delete(m, "message") })
				}
				return nil
			},
		},
		{
			name: "errors served as text/plain", filter: "errors", rules: []string{"E-1"},
			response: func(x *exchange, resp *http.Response) error {
				if x.under("/v1/") && resp.StatusCode >= 400 {
					resp.Header.Set("Content-Type", "text/plain; charset=utf-8")
				}
				return nil
			},
		},
		{
			name: "exactly 10 GiB rejected", filter: "limits", rules: []string{"U-3"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if x.api("/v1/files/upload_url") && bytes.Contains(x.body, []byte(`"content_length":10737418240`)) {
					return nil, envelope(400, "validation_error", "content_length exceeds maximum of 10737418239 bytes")
				}
				return nil, nil
			},
		},
		{
			name: "10 GiB + 1 accepted", filter: "limits", rules: []string{"U-3"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if x.api("/v1/files/upload_url") {
					return bytes.ReplaceAll(x.body, []byte("10737418241"), []byte("10737418240")), nil
				}
				return nil, nil
			},
		},
		{
			name: "read-only volume hands out upload URLs", filter: "readonly", rules: []string{"U-4"},
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
			},
		},
		{
			name: "list paths relative to the prefix", filter: "list", rules: []string{"L-3"},
			response: func(x *exchange, resp *http.Response) error {
				prefix, _ := x.jsonBody()["path"].(string)
				if !x.api("/v1/files/list") || prefix == "" {
					return nil
				}
				return editFiles(resp, func(files []any) []any {
					for _, f := range files {
						m := f.(map[string]any)
						m["path"] = strings.TrimPrefix(m["path"].(string), prefix)
					}
					return files
				})
			},
		},
		{
			name: "lost persistence across executions", filter: "flows || R-3", rules: []string{"R-3"}, exec: true,
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				m := x.jsonBody()
				if tid, ok := m["thread_id"].(string); ok && x.api("/v1/sandbox/execute") {
					m["thread_id"] = fmt.Sprintf("%s-x%d", tid, execCounter.Add(1))
					b, _ := json.Marshal(m)
					return b, nil
				}
				return nil, nil
			},
		},
		{
			name: "corrupted download bytes", filter: "download || flows", rules: []string{"D-3", "D-1"},
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
			},
		},
		{
			name: "expires_at 10 minutes after issue", filter: "upload", rules: []string{"U-2"},
			response: func(x *exchange, resp *http.Response) error {
				if (x.api("/v1/files/upload_url") || x.api("/v1/files/download_url")) && resp.StatusCode == 200 {
					return editJSON(resp, func(m map[string]any) {
						if t, err := time.Parse(time.RFC3339, fmt.Sprint(m["expires_at"])); err == nil {
							m["expires_at"] = t.Add(-5 * time.Minute).Format(time.RFC3339)
						}
					})
				}
				return nil
			},
		},
		{
			name: "401 answered as 404", filter: "auth", rules: []string{"A-1"},
			response: func(x *exchange, resp *http.Response) error {
				if x.under("/v1/") && resp.StatusCode == http.StatusUnauthorized {
					resp.StatusCode = http.StatusNotFound
					return editJSON(resp, func(m map[string]any) { m["error"] = "not_found" })
				}
				return nil
			},
		},
		{
			name: "delete that deletes nothing", filter: "delete", rules: []string{"X-1"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if x.api("/v1/files") && x.method == http.MethodDelete {
					return nil, jsonAnswer(200, map[string]bool{"deleted": true})
				}
				return nil, nil
			},
		},
		{
			name: "list not sorted", filter: "list", rules: []string{"L-4"},
			response: func(x *exchange, resp *http.Response) error {
				if !x.api("/v1/files/list") {
					return nil
				}
				return editFiles(resp, func(files []any) []any { slices.Reverse(files); return files })
			},
		},
		{
			name: "list without directory entries", filter: "list", rules: []string{"L-2"},
			response: func(x *exchange, resp *http.Response) error {
				if !x.api("/v1/files/list") {
					return nil
				}
				return editFiles(resp, func(files []any) []any {
					return slices.DeleteFunc(files, func(f any) bool { return f.(map[string]any)["is_directory"] == true })
				})
			},
		},
		{
			name: "signed URLs never expire", filter: "upload || signed_urls", rules: []string{"U-2"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if x.api("/_emulator/clock") && x.method == http.MethodPost {
					// Pretend to move the clock; the emulator's stays put.
					return nil, jsonAnswer(200, map[string]string{"now": time.Now().UTC().Format(time.RFC3339Nano)})
				}
				return nil, nil
			},
		},
		{
			name: "another organisation reads the first one's files", filter: "isolation", rules: []string{"A-2", "A-3"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if r.Header.Get("Authorization") == "Bearer "+conformance.DevOtherAPIKey && x.under("/v1/files") {
					r.Header.Set("Authorization", "Bearer "+conformance.DevAPIKey)
				}
				return nil, nil
			},
		},
		{
			name: "another organisation's thread answers 403", filter: "isolation", rules: []string{"A-3"},
			response: func(x *exchange, resp *http.Response) error {
				if resp.Request.Header.Get("Authorization") == "Bearer "+conformance.DevOtherAPIKey && resp.StatusCode == http.StatusNotFound {
					resp.StatusCode = http.StatusForbidden
					return editJSON(resp, func(m map[string]any) { m["error"] = "forbidden" })
				}
				return nil
			},
		},
		{
			name: "missing source defaults to thread", filter: "paths", rules: []string{"S-1"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				m := x.jsonBody()
				if _, ok := m["source"]; !ok && m != nil && x.under("/v1/files") {
					m["source"] = "thread"
					b, _ := json.Marshal(m)
					return b, nil
				}
				return nil, nil
			},
		},
		{
			name: "dot-dot segments cleaned instead of refused", filter: "paths", rules: []string{"P-1"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				m := x.jsonBody()
				p, ok := m["path"].(string)
				if ok && strings.Contains(p, "..") && x.under("/v1/files") {
					m["path"] = strings.TrimPrefix(path.Clean("/"+p), "/")
					b, _ := json.Marshal(m)
					return b, nil
				}
				return nil, nil
			},
		},
		{
			name: "upload headers without Content-Type", filter: "upload", rules: []string{"U-1"},
			response: func(x *exchange, resp *http.Response) error {
				if x.api("/v1/files/upload_url") && resp.StatusCode == 200 {
					return editJSON(resp, func(m map[string]any) { m["headers"] = map[string]string{} })
				}
				return nil
			},
		},
		{
			name: "Range ignored by storage", filter: "download", rules: []string{"D-3"},
			request: func(x *exchange, r *http.Request) ([]byte, *http.Response) {
				if x.dataPlane() {
					r.Header.Del("Range")
				}
				return nil, nil
			},
		},
	}
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
// should.
func TestSuiteCatchesDeviations(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the conformance binary many times")
	}
	sem := make(chan struct{}, 6) // bounded: the machine is shared
	for _, d := range deviations() {
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
			if jr.Profile != conformance.ProfileEmulator {
				t.Errorf("profile %q: a localbaponi target should be detected as emulator", jr.Profile)
			}
		})
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
	res, out := runSuite(t, base, "list", conformance.ProfileDeployment)
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
