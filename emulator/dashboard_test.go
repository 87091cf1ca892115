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
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	browserpkg "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	pagepkg "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/localbaponi/localbaponi/emulator"
)

// chromiumPath finds the system's chromium; without one the test skips,
// except in CI (CI=true), where it fails.
func chromiumPath(t testing.TB) string {
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

func seedFile(t *testing.T, emu *emulator.Emulator, source, id, path, ctype string, data []byte) {
	t.Helper()
	var s dashSigned
	apiCall(t, emu, "/v1/files/upload_url", map[string]any{"source": source, "id": id, "path": path, "content_length": len(data), "content_type": ctype}, &s)
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

// fileStatus asks for a download URL of the file and GETs it: the first
// status that is not 200, or 200 and the bytes.
func fileStatus(t *testing.T, emu *emulator.Emulator, source, id, path string) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"source": source, "id": id, "path": path})
	req, _ := http.NewRequest(http.MethodPost, emu.URL()+"/v1/files/download_url", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+emulator.DevAPIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var s dashSigned
	err = json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil {
		return resp.StatusCode, nil
	}
	if resp, err = http.Get(s.URL); err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

func fetchFile(t *testing.T, emu *emulator.Emulator, source, id, path string) []byte {
	t.Helper()
	code, data := fileStatus(t, emu, source, id, path)
	if code != http.StatusOK {
		t.Fatalf("download %s %s %s: %d", source, id, path, code)
	}
	return data
}

// browserPage is one headless chromium tab on an emulator's dashboard.
type browserPage struct {
	t         *testing.T
	ctx       context.Context
	artifacts string
	downloads string
	consoleMu sync.Mutex
	console   []string
}

// artifactsDir is $ARTIFACTS/dashboard, or a temporary directory.
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, "dashboard")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromiumProfile makes a directory for a browser profile. It is not a
// TempDir: chromium's helpers may still write to it for a moment after the
// browser has gone, which would fail the test's own cleanup. It is removed,
// retrying, and a leftover only logged.
func chromiumProfile(tb testing.TB) string {
	profile, err := os.MkdirTemp("", "dashboard-chromium-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		for i := 0; ; i++ {
			err := os.RemoveAll(profile)
			if err == nil {
				return
			}
			if i == 50 { // 10 s: under load the helpers can take that long to go
				tb.Logf("chromium profile %s left behind: %v", profile, err)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	return profile
}

// newBrowserPage starts chromium (closed with the test) with downloads
// saved to a directory of the test.
func newBrowserPage(t *testing.T, artifacts string) *browserPage {
	browser := chromiumPath(t)
	profile := chromiumProfile(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	p := &browserPage{t: t, ctx: ctx, artifacts: artifacts, downloads: filepath.Join(profile, "downloads")}
	chromedp.ListenTarget(ctx, func(ev any) {
		p.consoleMu.Lock()
		defer p.consoleMu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			for _, a := range ev.Args {
				p.console = append(p.console, string(ev.Type)+": "+string(a.Value)+a.Description)
			}
		case *runtime.EventExceptionThrown:
			p.console = append(p.console, "exception: "+ev.ExceptionDetails.Error())
		}
	})
	// Start the browser on ctx itself: a step's shorter context must not own it.
	if err := chromedp.Run(ctx, browserpkg.SetDownloadBehavior(browserpkg.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(p.downloads)); err != nil {
		t.Fatalf("start %s: %v", browser, err)
	}
	return p
}

// shot saves a full-page screenshot as name.png in the artifacts.
func (p *browserPage) shot(name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var png []byte
		if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(p.artifacts, name+".png"), png, 0o644)
	})
}

// run runs one step of at most 45 s; a failure saves a screenshot and
// reports what the page and its console said.
func (p *browserPage) run(what string, actions ...chromedp.Action) {
	p.t.Helper()
	step, cancel := context.WithTimeout(p.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Run(step, actions...); err != nil {
		var errText string
		last, cancel2 := context.WithTimeout(p.ctx, 10*time.Second)
		defer cancel2()
		_ = chromedp.Run(last, p.shot("failed-"+strings.ReplaceAll(what, " ", "-")), chromedp.Text("#error", &errText, chromedp.ByQuery))
		p.consoleMu.Lock()
		defer p.consoleMu.Unlock()
		p.t.Fatalf("%s: %v; the page says %q; console: %q", what, err, errText, p.console)
	}
}

// click clicks the first element the CSS selector matches, as a user's
// mouse does. The page re-renders its lists when data arrives, so the node a
// query found can be replaced before the click reaches it ("Could not find
// node with given id"): then no event was dispatched, and the click is tried
// again on the new node, up to 20 times.
func click(sel string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		for range 20 {
			if err = chromedp.Click(sel, chromedp.ByQuery).Do(ctx); err == nil || !nodeGone(err) {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		return err
	})
}

// nodeGone reports whether a DevTools error says the node acted on was
// removed from the document in the meantime.
func nodeGone(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Could not find node with given id") || strings.Contains(msg, "Node is detached") ||
		strings.Contains(msg, "No node with given id found")
}

// poll waits (30 s at most) until the JavaScript expression is true.
func poll(expr string) chromedp.Action {
	return chromedp.Poll(expr, nil, chromedp.WithPollingTimeout(30*time.Second))
}

// awaitJS evaluates a promise-valued expression into out.
func awaitJS(expr string, out any) chromedp.Action {
	return chromedp.Evaluate(expr, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })
}

// clearInput empties a field.
func clearInput(sel string) chromedp.Action {
	return chromedp.Evaluate(`document.querySelector(`+strconvQuote(sel)+`).value = ""`, nil)
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// paintJS is the first contentful paint of the page in milliseconds since
// navigation started (-1 if none within 2 s).
const paintJS = `new Promise(done => {
	new PerformanceObserver(l => { const e = l.getEntriesByName("first-contentful-paint")[0]; if (e) done(e.startTime); }).observe({type: "paint", buffered: true});
	setTimeout(() => done(-1), 2000);
})`

// layoutShiftJS is the page's cumulative layout shift so far (shifts right
// after input excluded, as the metric does).
const layoutShiftJS = `new Promise(done => {
	let cls = 0;
	new PerformanceObserver(l => { for (const e of l.getEntries()) if (!e.hadRecentInput) cls += e.value; }).observe({type: "layout-shift", buffered: true});
	setTimeout(() => done(cls), 100);
})`

// contrastJS lists visible text whose contrast with its background is
// under 4.5:1 (WCAG AA for normal text).
const contrastJS = `(() => {
	const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
	const lum = (c) => { const [r, g, b] = rgb(c).slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
	const bg = (e) => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor, v = rgb(c); if (v.length === 3 || (v.length === 4 && v[3] > 0.5)) return c; } return "rgb(255, 255, 255)"; };
	const bad = [];
	for (const e of document.querySelectorAll("body *")) {
		if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) || !e.getClientRects().length || e.closest("[hidden]")) continue;
		const a = lum(getComputedStyle(e).color), b = lum(bg(e)), ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
		if (ratio < 4.5) bad.push(e.tagName + (e.id ? "#" + e.id : "") + " '" + e.textContent.trim().slice(0, 24) + "' " + ratio.toFixed(2));
	}
	return bad;
})()`

// unnamedControls lists the page's controls (buttons, fields, links, ...)
// that have no accessible name in chromium's accessibility tree.
func unnamedControls(out *[]string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		// Decoded here rather than by cdproto, whose enums lag chromium's.
		type axValue struct {
			Value any `json:"value"`
		}
		var tree struct {
			Nodes []struct {
				Ignored          bool     `json:"ignored"`
				Role             *axValue `json:"role"`
				Name             *axValue `json:"name"`
				BackendDOMNodeID int64    `json:"backendDOMNodeId"`
			} `json:"nodes"`
		}
		if err := cdp.Execute(ctx, accessibility.CommandGetFullAXTree, nil, &tree); err != nil {
			return err
		}
		str := func(v *axValue) string {
			if v == nil {
				return ""
			}
			s, _ := v.Value.(string)
			return s
		}
		controls := map[string]bool{"button": true, "textbox": true, "combobox": true, "checkbox": true, "link": true,
			"searchbox": true, "spinbutton": true, "progressbar": true, "listbox": true, "radio": true, "slider": true}
		*out = nil
		for _, n := range tree.Nodes {
			if role := str(n.Role); !n.Ignored && controls[role] && strings.TrimSpace(str(n.Name)) == "" {
				*out = append(*out, fmt.Sprintf("%s (dom node %d)", role, n.BackendDOMNodeID))
			}
		}
		return nil
	})
}

// colorScheme emulates prefers-color-scheme.
func colorScheme(scheme string) chromedp.Action {
	return emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}})
}

// awaitDownload waits (20 s at most) for the browser to have saved name
// with size bytes, and returns them.
func (p *browserPage) awaitDownload(name string, size int) []byte {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(p.downloads, name))
		if err == nil && len(b) == size {
			return b
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the browser did not save %s (%d bytes) in %s: %v, %d bytes", name, size, p.downloads, err, len(b))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDashboardInABrowser walks every flow of the dashboard in chromium on
// the gcs face, signed in with an admin token: files (content type, prefix
// filter, download, delete, upload), run code and the executions list, the
// clock, faults and the journal, keys and volumes, keyboard use, accessible
// names, contrast in light and dark, and first paint.
func TestDashboardInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	chromiumPath(t)
	const token = "dashboard-test-token"
	emu, err := emulator.Start(emulator.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AdminToken: token})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	seedFile(t, emu, "thread", "seeded-thread", "hello.txt", "text/plain", []byte("hello from the test"))
	seedFile(t, emu, "thread", "seeded-thread", "data/x.csv", "text/csv", []byte("a,b\n1,2\n"))

	artifacts := artifactsDir(t)
	t.Logf("screenshots in %s", artifacts)
	p := newBrowserPage(t, artifacts)
	upload := filepath.Join(t.TempDir(), "from-browser.bin")
	want := bytes.Repeat([]byte("browser bytes \x00\xff "), 50_000)
	if err := os.WriteFile(upload, want, 0o644); err != nil {
		t.Fatal(err)
	}

	var coldPaint, warmPaint float64
	p.run("sign in",
		chromedp.Navigate(emu.URL()+"/_emulator/ui/"),
		chromedp.WaitVisible("#login", chromedp.ByQuery),
		awaitJS(paintJS, &coldPaint),
		chromedp.SendKeys("#token", token, chromedp.ByQuery),
		click("#login button"),
		chromedp.WaitVisible(`#threads button[data-id="seeded-thread"]`, chromedp.ByQuery),
	)
	// A second load, the token kept in sessionStorage: the page as a person
	// reopens it, without the browser's own start in the number.
	var cls float64
	p.run("reload",
		chromedp.Reload(),
		awaitJS(paintJS, &warmPaint),
		chromedp.WaitVisible(`#threads button[data-id="seeded-thread"]`, chromedp.ByQuery),
		poll(`document.querySelector("#clock-now").textContent.includes("UTC")`),
		awaitJS(layoutShiftJS, &cls),
	)
	t.Logf("first contentful paint: %.0f ms on the browser's first load, %.0f ms on a reload; layout shift while loading %.3f", coldPaint, warmPaint, cls)
	if cls > 0.1 { // "good" in the web-vitals sense; the fixed tables keep it near 0.01
		t.Errorf("cumulative layout shift while the page loads its data: %.3f, want at most 0.1", cls)
	}

	var ctype, sizeText string
	p.run("list the seeded thread with content types",
		click(`#threads button[data-id="seeded-thread"]`),
		chromedp.WaitVisible(`#files tr[data-path="hello.txt"]`, chromedp.ByQuery),
		chromedp.Text(`#files tr[data-path="data/x.csv"] td.ctype`, &ctype, chromedp.ByQuery),
		chromedp.Text(`#files tr[data-path="hello.txt"] td.num`, &sizeText, chromedp.ByQuery),
	)
	if ctype != "text/csv" || sizeText != "19 B" {
		t.Errorf("data/x.csv shows content type %q (want text/csv); hello.txt size %q (want 19 B)", ctype, sizeText)
	}
	p.run("filter by prefix",
		chromedp.SendKeys("#prefix", "data/", chromedp.ByQuery),
		poll(`document.querySelector('#files tr[data-path="hello.txt"]') === null && document.querySelector('#files tr[data-path="data/x.csv"]') !== null`),
		clearInput("#prefix"),
		click("#refresh"),
		chromedp.WaitVisible(`#files tr[data-path="hello.txt"]`, chromedp.ByQuery),
	)
	p.run("upload through the page",
		chromedp.SetUploadFiles("#upload-input", []string{upload}, chromedp.ByQuery),
		chromedp.WaitVisible(`#files tr[data-path="from-browser.bin"]`, chromedp.ByQuery),
		poll(`document.querySelector("#upload-progress").value === 1 && document.querySelector("#upload-pct").textContent === "100%"`),
	)
	if got := fetchFile(t, emu, "thread", "seeded-thread", "from-browser.bin"); !bytes.Equal(got, want) {
		t.Fatalf("the API returns %d bytes for the browser's upload, want the %d the page sent", len(got), len(want))
	}
	p.run("drop a file on the drop zone",
		chromedp.Evaluate(`(() => {
			const dt = new DataTransfer();
			dt.items.add(new File(["dropped bytes\n"], "dropped.txt", {type: "text/plain"}));
			document.querySelector("#drop").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
		})()`, nil),
		chromedp.WaitVisible(`#files tr[data-path="dropped.txt"]`, chromedp.ByQuery),
	)
	if got := fetchFile(t, emu, "thread", "seeded-thread", "dropped.txt"); string(got) != "dropped bytes\n" {
		t.Errorf("the dropped file reads %q through the API", got)
	}
	p.run("download from the page",
		click(`#files tr[data-path="from-browser.bin"] button.download`),
		chromedp.WaitVisible("#links button.check", chromedp.ByQuery),
	)
	if got := p.awaitDownload("from-browser.bin", len(want)); !bytes.Equal(got, want) {
		t.Fatal("the browser saved other bytes than were uploaded")
	}
	p.run("delete, confirmed by a second press",
		click(`#files tr[data-path="data/x.csv"] button.delete`),
		poll(`document.querySelector('#files tr[data-path="data/x.csv"] button.delete').textContent === "Confirm"`),
		click(`#files tr[data-path="data/x.csv"] button.delete`),
		poll(`document.querySelector('#files tr[data-path="data/x.csv"]') === null`),
	)
	if code, _ := fileStatus(t, emu, "thread", "seeded-thread", "data/x.csv"); code != http.StatusNotFound {
		t.Errorf("download_url of the deleted file: %d, want 404", code)
	}

	var output, execRow string
	p.run("run code",
		chromedp.SetValue("#run-lang", "python", chromedp.ByQuery),
		// One write per stream: stdout and stderr are read apart, so the page may
		// show a chunk of one between two chunks of the other.
		chromedp.SetValue("#run-code", `import sys; sys.stdout.write("dash %d\n" % (6*7)); sys.stdout.flush(); sys.stderr.write("to stderr\n"); sys.exit(3)`, chromedp.ByQuery),
		click("#run-btn"),
		poll(`document.querySelector("#run-output").textContent.includes("exit 3")`),
		chromedp.Text("#run-output", &output, chromedp.ByQuery),
		poll(`[...document.querySelectorAll("#executions tr[data-trace]")].some(r => r.cells[5].textContent === "3")`),
		chromedp.Evaluate(`[...document.querySelector("#executions tr[data-trace]").cells].map(c => c.textContent).join("|")`, &execRow),
	)
	if !strings.Contains(output, "dash 42") || !strings.Contains(output, "to stderr") {
		t.Errorf("run output on the page: %q", output)
	}
	if cells := strings.Split(execRow, "|"); len(cells) != 6 || cells[1] != "seeded-thread" || cells[2] != "python" || cells[3] != "failed" && cells[3] != "success" || !strings.HasSuffix(cells[4], " ms") {
		t.Errorf("executions row: %q", execRow)
	}
	// The code prints a line, then waits until the test has seen it on the
	// page and drops a file into the thread: with output that is not
	// streamed, the line could not show while the code waits. (A sleep
	// instead of the file made the test fail under load, when the line took
	// longer than the sleep to reach the page.) It gives up after 40 s,
	// longer than poll waits, and ends with exit 1.
	var endedYet bool
	var streamed string
	p.run("output streams while the code runs",
		chromedp.SetValue("#run-code", `import os, sys, time
print("first", flush=True)
for _ in range(800):
    if os.path.exists("go-on.txt"):
        print("second")
        sys.exit(0)
    time.sleep(0.05)
print("no go-on.txt")
sys.exit(1)`, chromedp.ByQuery),
		click("#run-btn"),
		poll(`document.querySelector("#run-output").textContent.includes("first")`),
		chromedp.Evaluate(`/second|no go-on|exit /.test(document.querySelector("#run-output").textContent)`, &endedYet),
	)
	if endedYet {
		t.Error("the first line showed only when the code ended: the output is not streamed")
	}
	seedFile(t, emu, "thread", "seeded-thread", "go-on.txt", "text/plain", []byte("go on\n"))
	p.run("and the code ends once the test lets it",
		poll(`document.querySelector("#run-output").textContent.includes("exit ")`),
		chromedp.Text("#run-output", &streamed, chromedp.ByQuery),
	)
	if !strings.Contains(streamed, "first\nsecond") || !strings.Contains(streamed, "exit 0") {
		t.Errorf("run output once the code was let go: %q", streamed)
	}
	// The list comes from the emulator: an execution started elsewhere shows too.
	var r struct {
		TraceID string `json:"trace_id"`
	}
	apiCall(t, emu, "/v1/sandbox/execute", map[string]any{"code": "print('from the API')", "language": "python"}, &r)
	p.run("the executions list shows one run by the API",
		click("#exec-refresh"),
		chromedp.WaitVisible(`#executions tr[data-trace="`+r.TraceID+`"]`, chromedp.ByQuery),
	)

	var linkBefore, linkAfter string
	p.run("a download link works now",
		click(`#files tr[data-path="hello.txt"] button.download`),
		poll(`document.querySelectorAll("#links button.check").length === 2`),
		click("#links button.check"),
		poll(`document.querySelector("#links .link-status").textContent !== ""`),
		chromedp.Text("#links .link-status", &linkBefore, chromedp.ByQuery),
		p.shot("dashboard"),
	)
	p.run("and fails 16 minutes later",
		click(`button[data-advance="16m"]`),
		poll(`document.querySelector("#clock-offset").textContent.startsWith("+16 min")`),
		click("#links button.check"),
		poll(`!document.querySelector("#links .link-status").textContent.includes("works")`),
		chromedp.Text("#links .link-status", &linkAfter, chromedp.ByQuery),
		p.shot("expired-link"),
	)
	if !strings.Contains(linkBefore, "HTTP 200") || !strings.HasPrefix(linkAfter, "HTTP 4") {
		t.Errorf("download link before the clock moved: %q, after 16 minutes: %q", linkBefore, linkAfter)
	}
	p.run("clock: reset, +1 m, +15 m, custom, reset",
		click("#clock-reset"),
		poll(`document.querySelector("#clock-offset").textContent.startsWith("+0 min")`),
		click(`button[data-advance="1m"]`),
		poll(`document.querySelector("#clock-offset").textContent.startsWith("+1 min")`),
		click(`button[data-advance="15m"]`),
		poll(`document.querySelector("#clock-offset").textContent.startsWith("+16 min")`),
		chromedp.SendKeys("#clock-by", "1h", chromedp.ByQuery),
		click("#clock-custom button"),
		poll(`document.querySelector("#clock-offset").textContent.startsWith("+76 min")`),
		click("#clock-reset"),
		poll(`document.querySelector("#clock-offset").textContent.startsWith("+0 min")`),
	)

	var errText string
	p.run("a fault rule fails the next upload, and the journal shows it",
		click("#new-fault button"),
		chromedp.WaitVisible("#faults li[data-fault]", chromedp.ByQuery),
		chromedp.SetUploadFiles("#upload-input", []string{upload}, chromedp.ByQuery),
		poll(`document.querySelector("#error").textContent.includes("service_unavailable")`),
		chromedp.Text("#error", &errText, chromedp.ByQuery),
		chromedp.SendKeys("#req-status", "503", chromedp.ByQuery),
		poll(`[...document.querySelectorAll("#requests tr")].some(r => r.textContent.includes("files.upload_url") && r.textContent.includes("503"))`),
		clearInput("#req-status"),
		chromedp.SendKeys("#req-route", "storage", chromedp.ByQuery),
		poll(`[...document.querySelectorAll("#requests tr")].length > 0 && [...document.querySelectorAll("#requests tr")].every(r => r.textContent.includes("storage."))`),
		click("#faults-clear"),
		poll(`document.querySelector("#faults li[data-fault]") === null`),
	)
	t.Logf("the page's error for the faulted upload: %s", errText)

	var keys []int
	p.run("keys: create and revoke",
		chromedp.Evaluate(`window.keysBefore = document.querySelectorAll("#keys button[data-key]").length`, nil),
		click("#new-key"),
		poll(`document.querySelectorAll("#keys button[data-key]").length === window.keysBefore + 1`),
		click(`#keys button[data-key]:not([data-key="`+emulator.DevAPIKey+`"])`),
		poll(`document.querySelectorAll("#keys button[data-key]").length === window.keysBefore`),
		chromedp.Evaluate(`[window.keysBefore, document.querySelectorAll("#keys button[data-key]").length]`, &keys),
	)
	if len(keys) != 2 || keys[0] != 1 || keys[1] != 1 {
		t.Errorf("keys listed before creating one and after revoking it: %v, want [1 1]", keys)
	}
	p.run("volumes: create, set read-only, refused upload",
		chromedp.SendKeys("#new-volume-slug", "dash-vol", chromedp.ByQuery),
		click("#new-volume button"),
		chromedp.WaitVisible(`#volumes button[data-id="dash-vol"]`, chromedp.ByQuery),
		click(`#volume-admin button[data-volume="dash-vol"]`),
		poll(`document.querySelector('#volumes button[data-id="dash-vol"]').textContent.includes("read-only")`),
		click(`#volumes button[data-id="dash-vol"]`),
		poll(`document.querySelector("#space-name").textContent.includes("dash-vol")`),
		chromedp.SetUploadFiles("#upload-input", []string{upload}, chromedp.ByQuery),
		poll(`document.querySelector("#error").textContent.includes("forbidden")`),
	)

	var otherKeys []string
	p.run("switch organisation",
		chromedp.Evaluate(`(() => { const s = document.querySelector("#org"); s.value = "org_other"; s.dispatchEvent(new Event("change")); })()`, nil),
		poll(`document.querySelector('#volumes button[data-id="shared-data"]') === null`),
		chromedp.Evaluate(`[...document.querySelectorAll("#keys button[data-key]")].map(b => b.dataset.key)`, &otherKeys),
		chromedp.Evaluate(`(() => { const s = document.querySelector("#org"); s.value = "`+emulator.DevOrg+`"; s.dispatchEvent(new Event("change")); })()`, nil),
		chromedp.WaitVisible(`#volumes button[data-id="shared-data"]`, chromedp.ByQuery),
	)
	if len(otherKeys) != 1 || otherKeys[0] == emulator.DevAPIKey {
		t.Errorf("keys listed for org_other: %q", otherKeys)
	}
	var focused, outline string
	p.run("keyboard: Enter opens a thread, Tab moves on with a visible focus",
		chromedp.Focus("#new-thread-id", chromedp.ByQuery),
		chromedp.SendKeys("#new-thread-id", "kb-thread"+kb.Enter, chromedp.ByQuery),
		poll(`document.querySelector("#space-name").textContent.includes("kb-thread")`),
		chromedp.Focus("#prefix", chromedp.ByQuery),
		chromedp.KeyEvent(kb.Tab),
		chromedp.Evaluate(`document.activeElement.id`, &focused),
		chromedp.Evaluate(`getComputedStyle(document.activeElement).outlineStyle`, &outline),
	)
	if focused != "refresh" || outline == "none" {
		t.Errorf("Tab from the prefix field focuses %q with outline %q; want refresh with a visible outline", focused, outline)
	}
	chooser := make(chan struct{}, 4)
	chromedp.ListenTarget(p.ctx, func(ev any) {
		if _, ok := ev.(*pagepkg.EventFileChooserOpened); ok {
			chooser <- struct{}{}
		}
	})
	var ran string
	p.run("keyboard: Enter on the drop zone opens the file chooser, Ctrl+Enter runs the code",
		pagepkg.SetInterceptFileChooserDialog(true),
		chromedp.Focus("#drop", chromedp.ByQuery),
		chromedp.KeyEvent(kb.Enter),
		chromedp.ActionFunc(func(ctx context.Context) error {
			select {
			case <-chooser:
				return nil
			case <-ctx.Done():
				return fmt.Errorf("no file chooser opened: %w", ctx.Err())
			}
		}),
		pagepkg.SetInterceptFileChooserDialog(false),
		chromedp.SetValue("#run-code", `print("from the keyboard")`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("#run-output").textContent = ""`, nil), // the last run's "exit 0" must not count
		chromedp.Focus("#run-code", chromedp.ByQuery),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(input.ModifierCtrl)),
		poll(`document.querySelector("#run-output").textContent.includes("exit 0")`),
		chromedp.Text("#run-output", &ran, chromedp.ByQuery),
	)
	if !strings.Contains(ran, "from the keyboard") {
		t.Errorf("Ctrl+Enter ran: %q", ran)
	}

	var unnamed, lowLight, lowDark []string
	p.run("every control has an accessible name; contrast in light and dark",
		click(`#threads button[data-id="seeded-thread"]`),
		chromedp.WaitVisible(`#files tr[data-path="hello.txt"]`, chromedp.ByQuery),
		unnamedControls(&unnamed),
		colorScheme("light"),
		chromedp.Evaluate(contrastJS, &lowLight),
		p.shot("light"),
		colorScheme("dark"),
		chromedp.Evaluate(contrastJS, &lowDark),
		p.shot("dark"),
		colorScheme(""),
	)
	if len(unnamed) > 0 {
		t.Errorf("controls without an accessible name: %q", unnamed)
	}
	if len(lowLight) > 0 || len(lowDark) > 0 {
		t.Errorf("text under 4.5:1 contrast: light %q, dark %q", lowLight, lowDark)
	}
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

// TestDashboardUploadOnEveryFace uploads and downloads through the page on
// the s3 and azure faces (gcs: TestDashboardInABrowser), without an admin
// token (no login field then).
func TestDashboardUploadOnEveryFace(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	chromiumPath(t)
	artifacts := artifactsDir(t)
	p := newBrowserPage(t, artifacts)
	upload := filepath.Join(t.TempDir(), "face.txt")
	want := bytes.Repeat([]byte("face bytes\n"), 40_000)
	if err := os.WriteFile(upload, want, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, backend := range []string{"s3", "azure"} {
		emu, err := emulator.Start(emulator.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Backend: backend})
		if err != nil {
			t.Fatal(err)
		}
		var ctype, info string
		var loginHidden bool
		p.run(backend+" upload",
			chromedp.Navigate(emu.URL()+"/_emulator/ui/"),
			chromedp.WaitVisible(`#volumes button[data-id="shared-data"]`, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelector("#login").hidden`, &loginHidden),
			chromedp.Text("#info", &info, chromedp.ByQuery),
			click(`#volumes button[data-id="shared-data"]`),
			chromedp.SetUploadFiles("#upload-input", []string{upload}, chromedp.ByQuery),
			chromedp.WaitVisible(`#files tr[data-path="face.txt"]`, chromedp.ByQuery),
			chromedp.Text(`#files tr[data-path="face.txt"] td.ctype`, &ctype, chromedp.ByQuery),
			click(`#files tr[data-path="face.txt"] button.download`),
			p.shot("face-"+backend),
		)
		if !loginHidden || !strings.Contains(info, "backend "+backend) {
			t.Errorf("%s: login hidden %v (no token: want true), info %q", backend, loginHidden, info)
		}
		if !strings.HasPrefix(ctype, "text/plain") {
			t.Errorf("%s: content type of the browser's upload %q, want text/plain", backend, ctype)
		}
		if got := fetchFile(t, emu, "volume", "shared-data", "face.txt"); !bytes.Equal(got, want) {
			t.Errorf("%s: the API returns %d bytes for the browser's upload, want %d", backend, len(got), len(want))
		}
		if got := p.awaitDownload("face.txt", len(want)); !bytes.Equal(got, want) {
			t.Errorf("%s: the browser saved other bytes than were uploaded", backend)
		}
		os.Remove(filepath.Join(p.downloads, "face.txt"))
		emu.Close()
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
	seedFile(t, emu, "thread", "listed-thread", "a.txt", "text/plain", []byte("a"))
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

// BenchmarkDashboardFirstPaint loads the dashboard and, as the baseline, a
// page of one paragraph from a plain Go server, in turns, in one headless
// chromium: first-paint-ms is the dashboard's first contentful paint per
// load, baseline-ms the one-paragraph page's, ratio the two (1 would mean
// the dashboard paints as soon as the browser can paint anything).
//
//	go test ./emulator/ -run '^$' -bench DashboardFirstPaint -benchtime 20x
func BenchmarkDashboardFirstPaint(b *testing.B) {
	browser := chromiumPath(b)
	emu, err := emulator.Start(emulator.Options{Addr: "127.0.0.1:0", DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><html lang=en><meta charset=utf-8><title>baseline</title><p>baseline</p>")
	}))
	defer plain.Close()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.UserDataDir(chromiumProfile(b)),
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	paint := func(url string) float64 {
		var ms float64
		if err := chromedp.Run(ctx, chromedp.Navigate(url), awaitJS(paintJS, &ms)); err != nil {
			b.Fatal(err)
		}
		if ms < 0 {
			b.Fatalf("%s: no first contentful paint", url)
		}
		return ms
	}
	paint(plain.URL) // the browser's own start is not measured
	paint(emu.URL() + "/_emulator/ui/")
	var dash, base float64
	b.ResetTimer()
	for range b.N {
		base += paint(plain.URL)
		dash += paint(emu.URL() + "/_emulator/ui/")
	}
	b.ReportMetric(dash/float64(b.N), "first-paint-ms")
	b.ReportMetric(base/float64(b.N), "baseline-ms")
	b.ReportMetric(dash/base, "ratio")
}

// TestDashboardAdminEndpoints: GET /_emulator/files (content types,
// bounds, validation), GET /_emulator/executions (every organisation's
// recent runs, newest first), the clock's reset, and the page's caching
// headers.
func TestDashboardAdminEndpoints(t *testing.T) {
	const token = "endpoints-test-token"
	emu, err := emulator.Start(emulator.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AdminToken: token})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	seedFile(t, emu, "thread", "t-admin", "b.csv", "text/csv", []byte("x,y\n"))
	seedFile(t, emu, "thread", "t-admin", "a/one.json", "application/json", []byte(`{"a":1}`))
	do := func(method, path, body string, hdr map[string]string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(method, emu.URL()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	type filesAnswer struct {
		Files []struct {
			Path        string `json:"path"`
			Modified    string `json:"modified"`
			ContentType string `json:"content_type"`
			ETag        string `json:"etag"`
			Size        int64  `json:"size"`
		} `json:"files"`
		Truncated bool `json:"truncated"`
	}
	var files filesAnswer
	code, _, body := do("GET", "/_emulator/files?org="+emulator.DevOrg+"&source=thread&id=t-admin", "", nil)
	if err := json.Unmarshal([]byte(body), &files); code != 200 || err != nil {
		t.Fatalf("files: %d %s", code, body)
	}
	if len(files.Files) != 2 || files.Truncated || files.Files[0].Path != "a/one.json" || files.Files[0].ContentType != "application/json" ||
		files.Files[1].ContentType != "text/csv" || files.Files[1].Size != 4 || files.Files[1].ETag == "" || files.Files[1].Modified == "" {
		t.Errorf("files of t-admin: %s", body)
	}
	if code, _, body = do("GET", "/_emulator/files?org="+emulator.DevOrg+"&source=thread&id=t-admin&prefix=b&limit=1", "", nil); !strings.Contains(body, `"b.csv"`) || strings.Contains(body, "one.json") {
		t.Errorf("prefix b: %d %s", code, body)
	}
	if _, _, body = do("GET", "/_emulator/files?org="+emulator.DevOrg+"&source=thread&id=t-admin&limit=1", "", nil); json.Unmarshal([]byte(body), &files) != nil || len(files.Files) != 1 || !files.Truncated {
		t.Errorf("limit=1: %s", body)
	}
	for query, want := range map[string]string{
		"source=thread&id=t-admin":                                     `"validation_error".*org is required`,
		"org=nobody&source=thread&id=t-admin":                          `"not_found".*organisation`,
		"org=" + emulator.DevOrg + "&source=x&id=t":                    `"validation_error".*source`,
		"org=" + emulator.DevOrg + "&source=thread":                    `"validation_error".*id is required`,
		"org=" + emulator.DevOrg + "&source=thread&id=t-admin&limit=0": `"validation_error".*limit`,
		"org=" + emulator.DevOrg + "&source=thread&id=no-such":         `"not_found".*thread`,
		"org=" + emulator.DevOrg + "&source=volume&id=no-such":         `"not_found".*volume`,
	} {
		code, _, body := do("GET", "/_emulator/files?"+query, "", nil)
		if ok, _ := regexp.MatchString(want, body); !ok || code/100 != 4 {
			t.Errorf("files?%s: %d %s, want %s", query, code, body, want)
		}
	}
	req, _ := http.NewRequest("GET", emu.URL()+"/_emulator/files?org="+emulator.DevOrg+"&source=thread&id=t-admin", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("files without the admin token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	var ran struct {
		TraceID  string `json:"trace_id"`
		ExitCode int    `json:"exit_code"`
	}
	apiCall(t, emu, "/v1/sandbox/execute", map[string]any{"code": "import sys; print('listed'); sys.exit(4)", "language": "python", "thread_id": "t-admin"}, &ran)
	var execs struct {
		Executions []struct {
			Org        string `json:"org"`
			ThreadID   string `json:"thread_id"`
			Language   string `json:"language"`
			TraceID    string `json:"trace_id"`
			Stdout     string `json:"stdout"`
			ExitCode   *int   `json:"exit_code"`
			DurationMS *int64 `json:"duration_ms"`
		} `json:"executions"`
	}
	code, _, body = do("GET", "/_emulator/executions", "", nil)
	if err := json.Unmarshal([]byte(body), &execs); code != 200 || err != nil || len(execs.Executions) != 1 {
		t.Fatalf("executions: %d %s", code, body)
	}
	if e := execs.Executions[0]; e.TraceID != ran.TraceID || e.Org != emulator.DevOrg || e.ThreadID != "t-admin" || e.Language != "python" ||
		e.ExitCode == nil || *e.ExitCode != 4 || e.DurationMS == nil || e.Stdout != "listed\n" {
		t.Errorf("execution listed: %s", body)
	}
	if _, _, body = do("GET", "/_emulator/executions?org=org_other", "", nil); !strings.Contains(body, `"executions":[]`) {
		t.Errorf("executions of org_other: %s", body)
	}
	if code, _, body = do("GET", "/_emulator/executions?limit=x", "", nil); code != 400 || !strings.Contains(body, "limit") {
		t.Errorf("executions?limit=x: %d %s", code, body)
	}

	if code, _, body = do("POST", "/_emulator/clock", `{"advance": "2h"}`, nil); code != 200 {
		t.Fatalf("advance: %d %s", code, body)
	}
	var clk struct{ Now time.Time }
	if code, _, body = do("POST", "/_emulator/clock", `{"reset": true}`, nil); code != 200 || json.Unmarshal([]byte(body), &clk) != nil || time.Since(clk.Now).Abs() > time.Minute {
		t.Errorf("reset: %d %s (want the real time again)", code, body)
	}
	if code, _, body = do("POST", "/_emulator/clock", `{"reset": true, "advance": "1m"}`, nil); code != 400 {
		t.Errorf("reset and advance together: %d %s", code, body)
	}

	code, hdr, page := do("GET", "/_emulator/ui/", "", nil)
	etag := hdr.Get("ETag")
	if code != 200 || etag == "" || !strings.Contains(page, "<style>") || strings.Contains(page, `href="style.css"`) || !strings.Contains(hdr.Get("Content-Security-Policy"), "'sha256-") {
		t.Errorf("page: %d, ETag %q, CSP %q, stylesheet inlined: %v", code, etag, hdr.Get("Content-Security-Policy"), strings.Contains(page, "<style>"))
	}
	if code, _, body = do("GET", "/_emulator/ui/", "", map[string]string{"If-None-Match": etag}); code != 304 || body != "" {
		t.Errorf("page with If-None-Match: %d %q, want 304", code, body)
	}
	if code, hdr, _ = do("GET", "/_emulator/ui/app.js", "", nil); code != 200 || hdr.Get("ETag") == "" || hdr.Get("ETag") == etag || !strings.HasPrefix(hdr.Get("Content-Type"), "text/javascript") {
		t.Errorf("app.js: %d %v", code, hdr)
	}
	if code, _, body = do("GET", "/_emulator/ui/nothing.js", "", nil); code != 404 || !strings.Contains(body, "not_found") {
		t.Errorf("a file the dashboard does not have: %d %s", code, body)
	}
}
