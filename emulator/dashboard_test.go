package emulator_test

// The dashboard in a real headless browser: Debian's chromium driven by
// chromedp. It signs in with the admin token, lists a thread the test
// seeded, uploads a file through the page's upload control (a signed URL
// from upload_url, as a client would) and finds the same bytes through the
// API, runs code and sees its output, and advances the clock to see an old
// download link fail. Screenshots go to $ARTIFACTS (or a temporary
// directory the test prints).

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/localbaponi/localbaponi/emulator"
)

// chromiumPath finds the system's chromium; without one the test skips,
// except in CI (CI=true), where it fails.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH, and CI=true: .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH (apt-get install chromium): the dashboard's browser test needs it")
	return ""
}

// apiCall posts body to a /v1 path with the dev key and decodes the answer.
func apiCall(t *testing.T, emu *emulator.Emulator, path string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, emu.URL()+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+emulator.DevAPIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s: %d %s", path, resp.StatusCode, msg)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

type dashSigned struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

func seedFile(t *testing.T, emu *emulator.Emulator, thread, path string, data []byte) {
	t.Helper()
	var s dashSigned
	apiCall(t, emu, "/v1/files/upload_url", map[string]any{"source": "thread", "id": thread, "path": path, "content_length": len(data)}, &s)
	req, _ := http.NewRequest(http.MethodPut, s.URL, bytes.NewReader(data))
	for k, v := range s.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("seed PUT: %d", resp.StatusCode)
	}
}

func fetchFile(t *testing.T, emu *emulator.Emulator, thread, path string) []byte {
	t.Helper()
	var s dashSigned
	apiCall(t, emu, "/v1/files/download_url", map[string]any{"source": "thread", "id": thread, "path": path}, &s)
	resp, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

func TestDashboardInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	browser := chromiumPath(t)
	const token = "dashboard-test-token"
	emu, err := emulator.Start(emulator.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AdminToken: token})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	seedFile(t, emu, "seeded-thread", "hello.txt", []byte("hello from the test"))

	artifacts := os.Getenv("ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	artifacts = filepath.Join(artifacts, "dashboard")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", artifacts)
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var png []byte
			if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(artifacts, name+".png"), png, 0o644)
		})
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	var consoleMu sync.Mutex
	var console []string
	chromedp.ListenTarget(ctx, func(ev any) {
		consoleMu.Lock()
		defer consoleMu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			for _, a := range ev.Args {
				console = append(console, string(ev.Type)+": "+string(a.Value)+a.Description)
			}
		case *runtime.EventExceptionThrown:
			console = append(console, "exception: "+ev.ExceptionDetails.Error())
		}
	})

	// Start the browser on ctx itself: a step's shorter context must not own it.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start %s: %v", browser, err)
	}
	upload := filepath.Join(t.TempDir(), "from-browser.bin")
	want := bytes.Repeat([]byte("browser bytes \x00\xff "), 50_000)
	if err := os.WriteFile(upload, want, 0o644); err != nil {
		t.Fatal(err)
	}
	var firstPaint float64
	var output, linkBefore, linkAfter string
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		step, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		if err := chromedp.Run(step, actions...); err != nil {
			var errText string
			_ = chromedp.Run(ctx, shot("failed-"+strings.ReplaceAll(what, " ", "-")), chromedp.Text("#error", &errText, chromedp.ByQuery))
			consoleMu.Lock()
			defer consoleMu.Unlock()
			t.Fatalf("%s: %v; the page says %q; console: %q", what, err, errText, console)
		}
	}
	run("sign in",
		chromedp.Navigate(emu.URL()+"/_emulator/ui/"),
		chromedp.WaitVisible("#login", chromedp.ByQuery),
		// The paint entry can come after the element is visible: wait for it (2 s at most).
		chromedp.Evaluate(`new Promise(done => {
			new PerformanceObserver(l => done(l.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1)).observe({type: "paint", buffered: true});
			setTimeout(() => done(-1), 2000);
		})`, &firstPaint, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
		chromedp.SendKeys("#token", token, chromedp.ByQuery),
		chromedp.Click("#login button", chromedp.ByQuery),
	)
	t.Logf("first contentful paint %.0f ms", firstPaint)
	run("list the seeded thread",
		chromedp.WaitVisible(`#threads button[data-id="seeded-thread"]`, chromedp.ByQuery),
		chromedp.Click(`#threads button[data-id="seeded-thread"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#files tr[data-path="hello.txt"]`, chromedp.ByQuery),
	)
	run("upload through the page",
		chromedp.SetUploadFiles("#upload-input", []string{upload}, chromedp.ByQuery),
		chromedp.WaitVisible(`#files tr[data-path="from-browser.bin"]`, chromedp.ByQuery),
	)
	if got := fetchFile(t, emu, "seeded-thread", "from-browser.bin"); !bytes.Equal(got, want) {
		t.Fatalf("the API returns %d bytes for the browser's upload, want the %d the page sent", len(got), len(want))
	}
	run("run code",
		chromedp.SetValue("#run-lang", "python", chromedp.ByQuery),
		// One write per stream: stdout and stderr are read apart, so the page may
		// show a chunk of one between two chunks of the other.
		chromedp.SetValue("#run-code", `import sys; sys.stdout.write("dash %d\n" % (6*7)); sys.stdout.flush(); sys.stderr.write("to stderr\n")`, chromedp.ByQuery),
		chromedp.Click("#run-btn", chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("#executions tr") !== null`, nil, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Text("#run-output", &output, chromedp.ByQuery),
	)
	if !strings.Contains(output, "dash 42") || !strings.Contains(output, "to stderr") {
		t.Errorf("run output on the page: %q", output)
	}
	run("a download link works now",
		chromedp.Click(`#files tr[data-path="hello.txt"] button.download`, chromedp.ByQuery),
		chromedp.WaitVisible("#links button.check", chromedp.ByQuery),
		chromedp.Click("#links button.check", chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("#links .link-status").textContent !== ""`, nil),
		chromedp.Text("#links .link-status", &linkBefore, chromedp.ByQuery),
		shot("dashboard"),
	)
	run("and fails 16 minutes later",
		chromedp.Click(`button[data-advance="16m"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("#clock-offset").textContent.startsWith("+16")`, nil),
		chromedp.Click("#links button.check", chromedp.ByQuery),
		chromedp.Poll(`!document.querySelector("#links .link-status").textContent.includes("works")`, nil),
		chromedp.Text("#links .link-status", &linkAfter, chromedp.ByQuery),
		shot("expired-link"),
	)
	if !strings.Contains(linkBefore, "HTTP 200") || !strings.HasPrefix(linkAfter, "HTTP 4") {
		t.Errorf("download link before the clock moved: %q, after 16 minutes: %q", linkBefore, linkAfter)
	}
	t.Logf("link before: %s; after +16m: %s", linkBefore, linkAfter)
	if dst := os.Getenv("LOCALBAPONI_UPDATE_SCREENSHOT"); dst != "" {
		b, err := os.ReadFile(filepath.Join(artifacts, "dashboard.png"))
		if err == nil {
			err = os.WriteFile(dst, b, 0o644)
		}
		if err != nil {
			t.Error(err)
		}
	}
}

// TestDashboardFilesAndOrgs: the page's files need no admin token, the
// data behind them does; /_emulator/orgs lists keys, volumes and threads;
// /_emulator/info links the page.
func TestDashboardFilesAndOrgs(t *testing.T) {
	const token = "orgs-test-token"
	emu, err := emulator.Start(emulator.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AdminToken: token})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	seedFile(t, emu, "listed-thread", "a.txt", []byte("a"))
	get := func(path, tok string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, emu.URL()+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for path, want := range map[string]string{"/_emulator/ui/": "<title>localbaponi dashboard</title>", "/_emulator/ui/app.js": "upload_url", "/_emulator/ui/style.css": "prefers-color-scheme"} {
		if resp, body := get(path, ""); resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s without the token: %d, body has %q: %v", path, resp.StatusCode, want, strings.Contains(body, want))
		}
	}
	if resp, body := get("/_emulator/orgs", ""); resp.StatusCode != 401 || !strings.Contains(body, `"unauthorized"`) {
		t.Errorf("orgs without the token: %d %s", resp.StatusCode, body)
	}
	resp, body := get("/_emulator/orgs", token)
	var got struct {
		Orgs []struct {
			ID      string   `json:"id"`
			Keys    []string `json:"keys"`
			Threads []string `json:"threads"`
			Volumes []struct {
				Slug string `json:"slug"`
			} `json:"volumes"`
		} `json:"orgs"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("orgs: %d %s %v", resp.StatusCode, body, err)
	}
	var found bool
	for _, o := range got.Orgs {
		if o.ID == emulator.DevOrg {
			found = len(o.Keys) == 1 && o.Keys[0] == emulator.DevAPIKey && len(o.Threads) == 1 && o.Threads[0] == "listed-thread" && len(o.Volumes) == 2
		}
	}
	if !found {
		t.Errorf("orgs does not list %s with its key, the seeded thread and two volumes: %s", emulator.DevOrg, body)
	}
	if _, body := get("/_emulator/info", token); !strings.Contains(body, `"ui":"/_emulator/ui/"`) {
		t.Errorf("info does not link the dashboard: %s", body)
	}
	req, _ := http.NewRequest(http.MethodPost, emu.URL()+"/_emulator/ui/index.html", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 405 {
		t.Errorf("POST to the page's files: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}
