package bench

// BenchmarkSpeed measures every row of issue 9's table in one run, each next
// to its reference measured in the same run, and prints the table:
//
//	go test -run '^$' -bench Speed -benchtime 1x ./bench/
//
// Everything runs in this process: the emulator (emulator.Start), the plain
// net/http reference server, gofakes3 with its s3mem backend, and a
// sequential client on loopback. Reference and emulator alternate in rounds,
// so a noisy neighbour hits both alike. Data lives in BENCH_DIR (default
// ../../localbaponi-benchdata next to the repository, never /tmp, where a
// file create costs ~1 ms on some machines); a fresh directory under it is
// removed at the end.
//
// Knobs: BENCH_DIR, BENCH_SPEED_TRANSFER_BYTES (default 256 MiB per
// transfer), BENCH_SPEED_ROUNDS (default 5).
//
// Transfers: each round runs the io.Copy reference and the face back to
// back, in alternating order, each from a settled page cache (syncfs
// first); a transfer row's ratio is the median of the rounds' own ratios,
// its MB/s the medians of each side.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/localbaponi/localbaponi/emulator"
)

// row is one line of the printed table.
type row struct {
	name       string
	ours, ref  float64 // in unit
	unit       string
	refName    string
	ratio      float64 // ours/ref for times, ours/ref for throughput
	target     string
	ok         bool
	hasTarget  bool
	hasRef     bool
	lowerIsBet bool
}

var (
	rowsMu sync.Mutex
	rows   []row
)

func addRow(r row) {
	rowsMu.Lock()
	defer rowsMu.Unlock()
	rows = append(rows, r)
}

// printRows prints the collected table (called by TestMain after the run).
func printRows() {
	rowsMu.Lock()
	defer rowsMu.Unlock()
	if len(rows) == 0 {
		return
	}
	fmt.Printf("\nSpeed table (issue 9), data dir %s\n", speedDir())
	fmt.Printf("| %-34s | %14s | %14s | %-26s | %6s | %-8s | %-4s |\n", "measure", "ours", "reference", "reference is", "ratio", "target", "met")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 36), strings.Repeat("-", 16), strings.Repeat("-", 16), strings.Repeat("-", 28), strings.Repeat("-", 8), strings.Repeat("-", 10), strings.Repeat("-", 6))
	for _, r := range rows {
		ref, ratio := "", ""
		if r.hasRef {
			ref = num(r.ref) + " " + r.unit
			ratio = fmt.Sprintf("%.2f", r.ratio)
		}
		met := ""
		if r.hasTarget {
			met = "no"
			if r.ok {
				met = "yes"
			}
		}
		fmt.Printf("| %-34s | %14s | %14s | %-26s | %6s | %-8s | %-4s |\n", r.name, num(r.ours)+" "+r.unit, ref, r.refName, ratio, r.target, met)
	}
}

// num formats a figure with about three significant digits, no exponent.
func num(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// speedDir is where the speed benchmark keeps its data.
var speedDir = sync.OnceValue(func() string {
	if d := os.Getenv("BENCH_DIR"); d != "" {
		return d
	}
	wd, err := os.Getwd() // the package directory: <repo>/bench
	if err != nil {
		return os.TempDir()
	}
	return filepath.Join(filepath.Dir(filepath.Dir(wd)), "localbaponi-benchdata")
})

func envInt(tb testing.TB, name string, def int64) int64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// BenchmarkSpeed runs every row; see the file comment.
func BenchmarkSpeed(b *testing.B) {
	if err := os.MkdirAll(speedDir(), 0o755); err != nil {
		b.Fatalf("create %s: %v", speedDir(), err)
	}
	dir, err := os.MkdirTemp(speedDir(), "speed-")
	if err != nil {
		b.Fatalf("create bench dir: %v", err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	rounds := int(envInt(b, "BENCH_SPEED_ROUNDS", 5))
	b.Run("upload_url", func(b *testing.B) { benchUploadURL(b, dir, rounds) })
	b.Run("put_1KiB", func(b *testing.B) { benchPut(b, dir, rounds) })
	b.Run("list_10k", func(b *testing.B) { benchList(b, dir, 10_000, rounds) })
	b.Run("list_100k", func(b *testing.B) { benchList(b, dir, 100_000, rounds) })
	for _, f := range []string{"s3", "gcs", "azure"} {
		b.Run("transfer_"+f, func(b *testing.B) { benchTransfer(b, dir, f, rounds) })
	}
	for _, f := range []string{"gcs", "s3", "azure"} {
		b.Run("start_close_"+f, func(b *testing.B) { benchStart(b, dir, f, rounds) })
	}
}

// ---- the plain reference server ----

// plainSecret signs the reference server's URLs.
var plainSecret = []byte("plain-reference-secret")

// plainServer is the reference: it decodes the same JSON, HMAC-signs a URL,
// writes a PUT to a temp file renamed into place, lists with WalkDir + JSON
// and serves GETs with http.ServeContent.
type plainServer struct {
	dir  string // files: dir/<name>; temp files: dir/.tmp
	base string
	srv  *httptest.Server
	// listDir is the directory POST /list walks.
	listDir string
}

func newPlainServer(tb testing.TB, dir string) *plainServer {
	tb.Helper()
	p := &plainServer{dir: dir}
	if err := os.MkdirAll(filepath.Join(dir, ".tmp"), 0o755); err != nil {
		tb.Fatalf("plain server dir: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /upload_url", p.uploadURL)
	mux.HandleFunc("POST /list", p.list)
	mux.HandleFunc("PUT /o/{name}", p.put)
	mux.HandleFunc("GET /o/{name}", p.get)
	p.srv = httptest.NewServer(mux)
	p.base = p.srv.URL
	tb.Cleanup(p.srv.Close)
	return p
}

type plainUploadRequest struct {
	Source        *string         `json:"source"`
	ID            *string         `json:"id"`
	Path          *string         `json:"path"`
	ContentType   *string         `json:"content_type"`
	ContentLength json.RawMessage `json:"content_length"`
}

func (p *plainServer) sign(name string, exp int64) string {
	m := hmac.New(sha256.New, plainSecret)
	fmt.Fprintf(m, "PUT\n%s\n%d", name, exp)
	return hex.EncodeToString(m.Sum(nil))
}

func (p *plainServer) uploadURL(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+devKey {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	var req plainUploadRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&req); err != nil || req.Path == nil {
		http.Error(w, `{"error":"validation_error"}`, http.StatusBadRequest)
		return
	}
	n, err := strconv.ParseInt(string(req.ContentLength), 10, 64)
	if err != nil {
		http.Error(w, `{"error":"validation_error"}`, http.StatusBadRequest)
		return
	}
	exp := time.Now().Add(15 * time.Minute)
	name := url.PathEscape(strings.ReplaceAll(*req.Path, "/", "_"))
	u := fmt.Sprintf("%s/o/%s?n=%d&exp=%d&sig=%s", p.base, name, n, exp.Unix(), p.sign(name, exp.Unix()))
	ct := "application/octet-stream"
	if req.ContentType != nil {
		ct = *req.ContentType
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(signed{URL: u, Method: http.MethodPut, Headers: map[string]string{"Content-Type": ct}})
}

func (p *plainServer) put(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	exp, _ := strconv.ParseInt(r.URL.Query().Get("exp"), 10, 64)
	want := p.sign(url.PathEscape(name), exp)
	if !hmac.Equal([]byte(want), []byte(r.URL.Query().Get("sig"))) || time.Now().Unix() > exp {
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	f, err := os.CreateTemp(filepath.Join(p.dir, ".tmp"), "put-")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	n, err := io.Copy(f, r.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != r.ContentLength {
		err = fmt.Errorf("got %d bytes, want %d", n, r.ContentLength)
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(p.dir, name))
	}
	if err != nil {
		os.Remove(f.Name())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (p *plainServer) get(w http.ResponseWriter, r *http.Request) {
	serveFile(w, r, filepath.Join(p.dir, r.PathValue("name")))
}

// serveFile answers a GET with the file at path, as the plain references do.
func serveFile(w http.ResponseWriter, r *http.Request, path string) {
	f, err := os.Open(path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

type plainEntry struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	Modified    string `json:"modified"`
	IsDirectory bool   `json:"is_directory"`
}

// list is the WalkDir + JSON encode reference of a listing.
func (p *plainServer) list(w http.ResponseWriter, r *http.Request) {
	var req plainUploadRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	files := []plainEntry{}
	err := filepath.WalkDir(p.listDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == p.listDir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(p.listDir, path)
		files = append(files, plainEntry{Name: d.Name(), Path: filepath.ToSlash(rel), Size: fi.Size(),
			Modified: fi.ModTime().UTC().Format(time.RFC3339), IsDirectory: d.IsDir()})
		return nil
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"files": files})
}

// ---- helpers ----

// startEmu starts an in-process emulator whose data lives under dir.
func startEmu(tb testing.TB, dir, backend string) *emulator.Emulator {
	tb.Helper()
	e, err := emulator.Start(emulator.Options{DataDir: dir, Backend: backend, Sandbox: emulator.SandboxOptions{Isolation: "none"}})
	if err != nil {
		tb.Fatalf("start emulator (%s): %v", backend, err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

// post sends a JSON POST and decodes the answer into out (if not nil).
func post(ctx context.Context, c *http.Client, u string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+devKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("POST %s: %s: %s", u, resp.Status, msg)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// putSigned sends body to a signed URL.
func putSigned(ctx context.Context, c *http.Client, sg signed, body io.Reader, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, sg.URL, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	for k, v := range sg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT: %s: %s", resp.Status, msg)
	}
	return nil
}

// timeRounds runs ref and ours alternately, rounds times each, and returns
// the median duration of one call of each.
func timeRounds(b *testing.B, rounds int, ref, ours func() error) (time.Duration, time.Duration) {
	b.Helper()
	var rs, os []time.Duration
	for i := range rounds {
		for _, side := range []struct {
			f   func() error
			out *[]time.Duration
			who string
		}{{ref, &rs, "reference"}, {ours, &os, "emulator"}} {
			start := time.Now()
			if err := side.f(); err != nil {
				b.Fatalf("round %d, %s: %v", i+1, side.who, err)
			}
			*side.out = append(*side.out, time.Since(start))
		}
	}
	return median(os), median(rs)
}

// timeInterleaved runs ref(i) and ours(i) alternately, one call each, n
// times, so that load from other processes hits both alike, and returns the
// median duration of one call of each (a typical call, not one stretched by
// a preemption).
func timeInterleaved(b *testing.B, n int, ref, ours func(i int) error) (time.Duration, time.Duration) {
	b.Helper()
	rs, os := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		if err := ref(i); err != nil {
			b.Fatalf("call %d, reference: %v", i+1, err)
		}
		mid := time.Now()
		if err := ours(i); err != nil {
			b.Fatalf("call %d, emulator: %v", i+1, err)
		}
		rs, os = append(rs, mid.Sub(start)), append(os, time.Since(mid))
	}
	return median(os), median(rs)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ---- rows ----

func benchUploadURL(b *testing.B, dir string, rounds int) {
	n := rounds * 500
	emu := startEmu(b, filepath.Join(dir, "uu-emu"), "gcs")
	plain := newPlainServer(b, filepath.Join(dir, "uu-plain"))
	c := newClient()
	ctx := b.Context()
	body := []byte(`{"source":"thread","id":"bench","path":"data/input.json","content_type":"application/json","content_length":1024}`)
	call := func(u string) func(int) error {
		return func(int) error {
			var sg signed
			return post(ctx, c, u, body, &sg)
		}
	}
	var ours, ref time.Duration
	for range b.N {
		ours, ref = timeInterleaved(b, n, call(plain.base+"/upload_url"), call(emu.URL()+"/v1/files/upload_url"))
	}
	report(b, row{name: "upload_url round trip", ours: us(ours), ref: us(ref), unit: "µs",
		refName: "plain net/http + HMAC", target: "≤ 1.2×", lowerIsBet: true}, 1.2)
}

func benchPut(b *testing.B, dir string, rounds int) {
	n := rounds * 300
	emu := startEmu(b, filepath.Join(dir, "put-emu"), "gcs")
	plain := newPlainServer(b, filepath.Join(dir, "put-plain"))
	c := newClient()
	ctx := b.Context()
	data := bytes.Repeat([]byte("0123456789abcdef"), 64) // 1 KiB
	// Sign every URL before timing: only the PUTs are measured, each to a
	// new file.
	presign := func(base, route string) ([]signed, error) {
		out := make([]signed, 0, n)
		for i := range n {
			body := fmt.Sprintf(`{"source":"thread","id":"bench","path":"put/d%d/f%d.bin","content_length":%d}`, i%50, i, len(data))
			var sg signed
			if err := post(ctx, c, base+route, []byte(body), &sg); err != nil {
				return nil, err
			}
			out = append(out, sg)
		}
		return out, nil
	}
	var ours, ref time.Duration
	for range b.N {
		emuURLs, err := presign(emu.URL(), "/v1/files/upload_url")
		if err != nil {
			b.Fatal(err)
		}
		plainURLs, err := presign(plain.base, "/upload_url")
		if err != nil {
			b.Fatal(err)
		}
		run := func(urls []signed) func(int) error {
			return func(i int) error { return putSigned(ctx, c, urls[i], bytes.NewReader(data), int64(len(data))) }
		}
		ours, ref = timeInterleaved(b, n, run(plainURLs), run(emuURLs))
	}
	report(b, row{name: "PUT 1 KiB via signed URL", ours: us(ours), ref: us(ref), unit: "µs",
		refName: "plain temp file + rename", target: "≤ 1.2×", lowerIsBet: true}, 1.2)
}

// makeTree writes n small files into root: n/1000 (at least 10) directories.
func makeTree(tb testing.TB, root string, n int) {
	tb.Helper()
	dirs := max(n/1000, 10)
	data := []byte("x")
	for d := range dirs {
		sub := filepath.Join(root, fmt.Sprintf("d%03d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			tb.Fatal(err)
		}
		for i := d; i < n; i += dirs {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%06d.txt", i)), data, 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func benchList(b *testing.B, dir string, n, rounds int) {
	name := fmt.Sprintf("list%d", n)
	data := filepath.Join(dir, name+"-emu")
	thread := filepath.Join(data, "orgs", emulator.DevOrg, "threads", name)
	makeTree(b, thread, n)
	plain := newPlainServer(b, filepath.Join(dir, name+"-plain"))
	plain.listDir = thread
	c := newClient()
	ctx := b.Context()
	body := []byte(`{"source":"thread","id":"` + name + `"}`)
	var count struct {
		Files []json.RawMessage `json:"files"`
	}
	startCold := time.Now()
	emu := startEmu(b, data, "gcs")
	if err := post(ctx, c, emu.URL()+"/v1/files/list", body, &count); err != nil {
		b.Fatal(err)
	}
	cold := time.Since(startCold)
	if want := n + max(n/1000, 10); len(count.Files) != want {
		b.Fatalf("emulator listed %d entries, want %d", len(count.Files), want)
	}
	call := func(u string) func() error { return func() error { return post(ctx, c, u, body, nil) } }
	var ours, ref time.Duration
	for range b.N {
		ours, ref = timeRounds(b, rounds, call(plain.base+"/list"), call(emu.URL()+"/v1/files/list"))
	}
	b.Logf("first list after start (builds what later lists reuse): %v", cold)
	if n >= 100_000 {
		r := row{name: fmt.Sprintf("list %d files", n), ours: ms(ours), ref: ms(ref), unit: "ms",
			refName: "WalkDir + JSON encode", target: "≤ 100 ms", hasRef: true, hasTarget: true}
		r.ratio = r.ours / r.ref
		r.ok = ours <= 100*time.Millisecond
		addRow(r)
		b.ReportMetric(r.ours, "ms/list")
		b.ReportMetric(r.ratio, "ratio")
		return
	}
	report(b, row{name: fmt.Sprintf("list %d files", n), ours: ms(ours), ref: ms(ref), unit: "ms",
		refName: "WalkDir + JSON encode", target: "≤ 0.4×", lowerIsBet: true}, 0.4)
}

// report adds a row whose target is ours/ref ≤ limit.
func report(b *testing.B, r row, limit float64) {
	r.ratio = r.ours / r.ref
	r.hasRef, r.hasTarget = true, true
	r.ok = r.ratio <= limit
	addRow(r)
	b.ReportMetric(r.ours, r.unit+"/op")
	b.ReportMetric(r.ref, "ref-"+r.unit+"/op")
	b.ReportMetric(r.ratio, "ratio")
	b.Logf("%s: %.3g %s, reference %.3g %s, ratio %.2f (target %s)", r.name, r.ours, r.unit, r.ref, r.unit, r.ratio, r.target)
}

// transferOnce PUTs size bytes to up and GETs them from down (made by
// download, called after the PUT), returning both durations. The data
// dir's filesystem is settled (dirty pages written back) before the PUT,
// so each side starts from the same page-cache state.
func transferOnce(ctx context.Context, c *http.Client, dir string, up signed, download func() (signed, error), size int64) (time.Duration, time.Duration, error) {
	if err := settle(dir); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := putSigned(ctx, c, up, io.LimitReader(newPattern(), size), size); err != nil {
		return 0, 0, err
	}
	put := time.Since(start)
	down, err := download()
	if err != nil {
		return 0, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, down.URL, nil)
	if err != nil {
		return 0, 0, err
	}
	for k, v := range down.Headers {
		req.Header.Set(k, v)
	}
	start = time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	n, err := io.CopyBuffer(io.Discard, resp.Body, make([]byte, ioBuf))
	resp.Body.Close()
	get := time.Since(start)
	if err != nil || resp.StatusCode != http.StatusOK || n != size {
		return 0, 0, fmt.Errorf("GET: %s, %d bytes of %d: %v", resp.Status, n, size, err)
	}
	return put, get, nil
}

func benchTransfer(b *testing.B, dir, backend string, rounds int) {
	size := envInt(b, "BENCH_SPEED_TRANSFER_BYTES", 256<<20)
	ctx := b.Context()
	c := newClient()
	emu := startEmu(b, filepath.Join(dir, "tr-"+backend), backend)
	plain := newPlainServer(b, filepath.Join(dir, "tr-plain-"+backend))
	// The io.Copy reference: PUT without a signature check.
	ioCopy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := filepath.Join(plain.dir, "copy.bin")
		if r.Method == http.MethodPut {
			out, err := os.Create(f)
			if err == nil {
				_, err = io.Copy(out, r.Body)
				if cerr := out.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
			return
		}
		in, err := os.Open(f)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		defer in.Close()
		fi, _ := in.Stat()
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", fi.ModTime(), in)
	}))
	defer ioCopy.Close()
	copyURL := signed{URL: ioCopy.URL + "/copy.bin", Method: http.MethodPut}

	var s3memPut, s3memGet []time.Duration
	var memSrv *httptest.Server
	if backend == "s3" {
		fake := gofakes3.New(s3mem.New(), gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog()))
		memSrv = httptest.NewServer(fake.Server())
		defer memSrv.Close()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, memSrv.URL+"/bucket", nil)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	sizeMB := float64(size) / 1e6
	var refPut, refGet, ourPut, ourGet []time.Duration
	reference := func(r int) {
		p, g, err := transferOnce(ctx, c, dir, copyURL, func() (signed, error) { return signed{URL: copyURL.URL}, nil }, size)
		if err != nil {
			b.Fatalf("round %d, io.Copy: %v", r+1, err)
		}
		refPut, refGet = append(refPut, p), append(refGet, g)
	}
	ours := func(r int) {
		body := fmt.Sprintf(`{"source":"thread","id":"bench","path":"big.bin","content_length":%d}`, size)
		var up signed
		if err := post(ctx, c, emu.URL()+"/v1/files/upload_url", []byte(body), &up); err != nil {
			b.Fatal(err)
		}
		down := func() (signed, error) {
			var sg signed
			err := post(ctx, c, emu.URL()+"/v1/files/download_url", []byte(`{"source":"thread","id":"bench","path":"big.bin"}`), &sg)
			return sg, err
		}
		p, g, err := transferOnce(ctx, c, dir, up, down, size)
		if err != nil {
			b.Fatalf("round %d, %s face: %v", r+1, backend, err)
		}
		ourPut, ourGet = append(ourPut, p), append(ourGet, g)
	}
	for range b.N {
		for r := range rounds {
			// The order alternates, so that neither side always runs
			// after the other's page-cache and CPU footprint.
			if r%2 == 0 {
				reference(r)
				ours(r)
			} else {
				ours(r)
				reference(r)
			}
			i := len(ourPut) - 1
			b.Logf("round %d: PUT %.0f MB/s, io.Copy %.0f MB/s; GET %.0f MB/s, io.Copy %.0f MB/s", r+1,
				float64(size)/1e6/ourPut[i].Seconds(), float64(size)/1e6/refPut[i].Seconds(),
				float64(size)/1e6/ourGet[i].Seconds(), float64(size)/1e6/refGet[i].Seconds())
			if memSrv != nil {
				u := signed{URL: memSrv.URL + "/bucket/big.bin", Method: http.MethodPut}
				p, g, err := transferOnce(ctx, c, dir, u, func() (signed, error) { return signed{URL: u.URL}, nil }, size)
				if err != nil {
					b.Fatalf("round %d, gofakes3 s3mem: %v", r+1, err)
				}
				s3memPut, s3memGet = append(s3memPut, p), append(s3memGet, g)
			}
		}
	}
	mbps := func(d time.Duration) float64 { return sizeMB / d.Seconds() }
	for _, dir := range []struct {
		what      string
		ours, ref []time.Duration
		mem       []time.Duration
		target    float64
	}{{"PUT", ourPut, refPut, s3memPut, 0.8}, {"GET", ourGet, refGet, s3memGet, 0.9}} {
		r := row{name: fmt.Sprintf("%s face %s %d MiB", backend, dir.what, size>>20), ours: mbps(median(dir.ours)), ref: mbps(median(dir.ref)),
			unit: "MB/s", refName: "io.Copy to/from a file", hasRef: true}
		// The ratio is the median of each round's own ratio: the two sides
		// of a round ran back to back, under the same load.
		r.ratio = pairedRatio(dir.ours, dir.ref)
		if backend == "s3" {
			r.hasTarget, r.target, r.ok = true, fmt.Sprintf("≥ %.1f×", dir.target), r.ratio >= dir.target
		}
		addRow(r)
		b.ReportMetric(r.ratio, strings.ToLower(dir.what)+"-ratio")
		b.Logf("%s: %.0f MB/s, io.Copy %.0f MB/s, ratio %.2f", r.name, r.ours, r.ref, r.ratio)
		if len(dir.mem) > 0 {
			m := row{name: fmt.Sprintf("  gofakes3 s3mem %s (2nd anchor)", dir.what), ours: mbps(median(dir.ours)), ref: mbps(median(dir.mem)),
				unit: "MB/s", refName: "gofakes3 + s3mem backend", hasRef: true}
			m.ratio = pairedRatio(dir.ours, dir.mem)
			addRow(m)
			b.Logf("%s: gofakes3 s3mem %.0f MB/s, ratio %.2f", m.name, m.ref, m.ratio)
		}
	}
}

// pairedRatio is the median over rounds of ours' throughput over the
// reference's in the same round (ref[i]/ours[i] in time).
func pairedRatio(ours, ref []time.Duration) float64 {
	rs := make([]float64, len(ours))
	for i := range ours {
		rs[i] = float64(ref[i]) / float64(ours[i])
	}
	slices.Sort(rs)
	return rs[len(rs)/2]
}

func benchStart(b *testing.B, dir, backend string, rounds int) {
	const perRound = 10
	n := 0
	// Creating files waits for write-back still queued (the transfer rows
	// leave hundreds of MiB dirty): start from a settled page cache.
	if err := settle(dir); err != nil {
		b.Fatal(err)
	}
	start := func() error {
		for range perRound {
			n++
			d := filepath.Join(dir, fmt.Sprintf("start-%s-%d", backend, n))
			e, err := emulator.Start(emulator.Options{DataDir: d, Backend: backend})
			if err != nil {
				return err
			}
			if err := e.Close(); err != nil {
				return err
			}
		}
		return nil
	}
	ref := func() error {
		for range perRound {
			s := httptest.NewServer(http.NotFoundHandler())
			s.Close()
		}
		return nil
	}
	var ours, refD time.Duration
	for range b.N {
		ours, refD = timeRounds(b, rounds, ref, start)
	}
	r := row{name: "emulator.Start+Close " + backend, ours: ms(ours) / perRound, ref: ms(refD) / perRound, unit: "ms",
		refName: "httptest.NewServer+Close", target: "≤ 5 ms", hasRef: true, hasTarget: true}
	r.ratio = r.ours / r.ref
	r.ok = r.ours <= 5
	addRow(r)
	b.ReportMetric(r.ours, "ms/op")
	b.Logf("%s: %.2f ms (httptest %.2f ms)", r.name, r.ours, r.ref)
}
