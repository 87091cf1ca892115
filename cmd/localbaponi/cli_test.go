package main

// Tests of the client subcommands (files, exec) through the real binary
// against an emulator started in the test: a large round trip with its
// checksum and peak RSS, exit codes, and the progress bar on a pseudo
// terminal versus none on a pipe.

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/localbaponi/localbaponi/emulator"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds localbaponi once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "localbaponi-bin-*")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "localbaponi")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// startEmulator starts an emulator for one test.
func startEmulator(t *testing.T) *emulator.Emulator {
	t.Helper()
	emu, err := emulator.Start(emulator.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// cliRun is one run of the binary.
type cliRun struct {
	code           int
	stdout, stderr string
	maxRSSKiB      int64
}

func runCLI(t *testing.T, emu *emulator.Emulator, stdin io.Reader, args ...string) cliRun {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "BAPONI_BASE_URL="+emu.URL(), "BAPONI_API_KEY="+emulator.DevAPIKey)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run %v: %v", args, err)
	}
	r := cliRun{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSSKiB = ru.Maxrss
	}
	return r
}

// writeRandom writes size pseudo-random bytes to name and returns their
// SHA-256.
func writeRandom(t *testing.T, name string, size int64) [32]byte {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	if _, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rng, size)); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func fileSum(t *testing.T, name string) [32]byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// maxRSSMiB bounds the CLI's peak resident memory during a transfer of any
// size: it streams through a 1 MiB buffer.
const maxRSSMiB = 96

// TestCLIFilesRoundTripLarge copies a large file up and back with files cp
// and compares checksums; the CLI's peak RSS must not grow with the file.
// LOCALBAPONI_TEST_1GIB=1 uses 1 GiB instead of 256 MiB;
// LOCALBAPONI_TEST_DIR puts the files (the local ones and the emulator's)
// there instead of in the temporary directory, which may be a small or
// slow /tmp:
//
//	LOCALBAPONI_TEST_1GIB=1 LOCALBAPONI_TEST_DIR=/work/benchdata go test -run TestCLIFilesRoundTripLarge -v ./cmd/localbaponi/
func TestCLIFilesRoundTripLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large transfer")
	}
	size := int64(256 << 20)
	if os.Getenv("LOCALBAPONI_TEST_1GIB") != "" {
		size = 1 << 30
	}
	dir := t.TempDir()
	if base := os.Getenv("LOCALBAPONI_TEST_DIR"); base != "" {
		if err := os.MkdirAll(base, 0o755); err != nil {
			t.Fatal(err)
		}
		d, err := os.MkdirTemp(base, "cli-large-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	emu, err := emulator.Start(emulator.Options{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "emulator")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	src, back := filepath.Join(dir, "big.bin"), filepath.Join(dir, "back.bin")
	want := writeRandom(t, src, size)

	up := runCLI(t, emu, nil, "files", "cp", src, "thread:t-big/data/")
	if up.code != 0 {
		t.Fatalf("upload: exit %d, stderr %s", up.code, up.stderr)
	}
	if up.stderr != "" || up.stdout != "" {
		t.Errorf("upload to a pipe printed something: stdout %q stderr %q", up.stdout, up.stderr)
	}
	ls := runCLI(t, emu, nil, "files", "ls", "--bytes", "thread:t-big")
	if !strings.Contains(ls.stdout, strconv.FormatInt(size, 10)+"  ") || !strings.Contains(ls.stdout, "data/big.bin") {
		t.Errorf("ls does not show data/big.bin with %d bytes:\n%s", size, ls.stdout)
	}
	down := runCLI(t, emu, nil, "files", "cp", "thread:t-big/data/big.bin", back)
	if down.code != 0 {
		t.Fatalf("download: exit %d, stderr %s", down.code, down.stderr)
	}
	if fileSum(t, back) != want {
		t.Fatal("the downloaded bytes differ from the uploaded ones")
	}
	t.Logf("%d MiB round trip: peak RSS upload %d KiB, download %d KiB", size>>20, up.maxRSSKiB, down.maxRSSKiB)
	for _, r := range []cliRun{up, down} {
		if r.maxRSSKiB > maxRSSMiB<<10 {
			t.Errorf("peak RSS %d KiB > %d MiB", r.maxRSSKiB, maxRSSMiB)
		}
	}
}

func TestCLIStdinStdoutAndRecursive(t *testing.T) {
	emu := startEmulator(t)
	dir := t.TempDir()
	data := bytes.Repeat([]byte("0123456789abcdef"), 300_000) // 4.8 MB, length unknown to the CLI
	if r := runCLI(t, emu, bytes.NewReader(data), "files", "cp", "-", "volume:shared-data/in/stdin.bin"); r.code != 0 {
		t.Fatalf("cp - : exit %d, %s", r.code, r.stderr)
	}
	r := runCLI(t, emu, nil, "files", "cp", "volume:shared-data/in/stdin.bin", "-")
	if r.code != 0 || r.stdout != string(data) {
		t.Fatalf("cp to - : exit %d, %d bytes back of %d; stderr %s", r.code, len(r.stdout), len(data), r.stderr)
	}

	tree := filepath.Join(dir, "tree")
	for name, body := range map[string]string{"a.txt": "A", "sub/b.txt": "BB", "sub/deeper/c.txt": "CCC"} {
		p := filepath.Join(tree, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if r := runCLI(t, emu, nil, "files", "cp", tree, "thread:t-tree/"); r.code != 2 && r.code != 1 || !strings.Contains(r.stderr, "-r") {
		t.Errorf("cp of a directory without -r: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, emu, nil, "files", "cp", "-r", tree, "thread:t-tree/"); r.code != 0 {
		t.Fatalf("cp -r up: exit %d, %s", r.code, r.stderr)
	}
	out := filepath.Join(dir, "out")
	if r := runCLI(t, emu, nil, "files", "cp", "-r", "thread:t-tree/tree", out); r.code != 0 {
		t.Fatalf("cp -r down: exit %d, %s", r.code, r.stderr)
	}
	for name, body := range map[string]string{"a.txt": "A", "sub/b.txt": "BB", "sub/deeper/c.txt": "CCC"} {
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
		if err != nil || string(got) != body {
			t.Errorf("%s after the round trip: %q, %v; want %q", name, got, err, body)
		}
	}
	if r := runCLI(t, emu, nil, "files", "rm", "-r", "thread:t-tree/tree/sub"); r.code != 0 {
		t.Fatalf("rm -r: exit %d, %s", r.code, r.stderr)
	}
	ls := runCLI(t, emu, nil, "files", "ls", "thread:t-tree")
	if strings.Contains(ls.stdout, "b.txt") || !strings.Contains(ls.stdout, "tree/a.txt") {
		t.Errorf("after rm -r tree/sub, ls shows:\n%s", ls.stdout)
	}
	u := runCLI(t, emu, nil, "files", "url", "thread:t-tree/tree/a.txt")
	if u.code != 0 || !strings.HasPrefix(u.stdout, emu.URL()+"/") || !strings.Contains(u.stdout, "X-Goog-Signature=") {
		t.Errorf("files url: exit %d, %q", u.code, u.stdout)
	}
}

func TestCLIErrorsPrintTheEnvelope(t *testing.T) {
	emu := startEmulator(t)
	r := runCLI(t, emu, nil, "files", "cp", "thread:t-none/missing.txt", "-")
	if r.code != 1 || !strings.Contains(r.stderr, "not_found: ") || !strings.Contains(r.stderr, "t-none") {
		t.Errorf("missing file: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, emu, nil, "files", "ls", "--api-key", "sk-us-wrong", "thread:t1")
	if r.code != 1 || !strings.Contains(r.stderr, "unauthorized: ") {
		t.Errorf("bad key: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, emu, bytes.NewReader([]byte("x")), "files", "cp", "-", "volume:reference-data/x.txt")
	if r.code != 1 || !strings.Contains(r.stderr, "forbidden: ") {
		t.Errorf("read-only volume: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, emu, nil, "files", "cp", "a", "b")
	if r.code != 1 || !strings.Contains(r.stderr, "neither SRC nor DST is remote") {
		t.Errorf("two local paths: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, emu, nil, "files", "frobnicate")
	if r.code != 2 {
		t.Errorf("unknown command: exit %d", r.code)
	}
}

func TestCLIExecExitCodes(t *testing.T) {
	emu := startEmulator(t)
	for _, tc := range []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"zero", "", []string{"exec", "--language", "bash", "-c", "echo ok"}, 0, "ok\n", ""},
		{"passed through", "", []string{"exec", "--language", "bash", "-c", "echo out; echo err >&2; exit 7"}, 7, "out\n", "err\n"},
		{"streamed", "", []string{"exec", "--stream", "--language", "bash", "-c", "for i in 1 2 3; do echo $i; done; exit 42"}, 42, "1\n2\n3\n", ""},
		{"stdin", "echo from stdin; exit 3", []string{"exec", "--language", "bash", "-"}, 3, "from stdin\n", ""},
		{"timeout", "", []string{"exec", "--language", "bash", "--timeout", "1", "-c", "sleep 10"}, 124, "", "timeout: "}, // the exit code the server reports,
		{"refused", "", []string{"exec", "--language", "cobol", "-c", "x"}, 1, "", "validation_error: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, emu, strings.NewReader(tc.stdin), tc.args...)
			if r.code != tc.code || r.stdout != tc.stdout || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("%v: exit %d stdout %q stderr %q; want %d, %q, stderr with %q", tc.args, r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}

// openPTY opens a pseudo terminal: the controlling side and the terminal.
func openPTY(t *testing.T) (ptm, pts *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pts: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 100}); err != nil {
		t.Fatalf("set window size: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// TestCLIProgressOnTerminal: on a terminal, cp draws a bar with percent,
// rate and ETA; on a pipe (the other tests) it prints nothing.
func TestCLIProgressOnTerminal(t *testing.T) {
	emu := startEmulator(t)
	src := filepath.Join(t.TempDir(), "p.bin")
	writeRandom(t, src, 32<<20)
	ptm, pts := openPTY(t)
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, ptm); close(copied) }()

	for _, args := range [][]string{{"files", "cp", src, "thread:t-tty/p.bin"}, {"files", "cp", "thread:t-tty/p.bin", src + ".back"}} {
		cmd := exec.Command(binary(t), args...)
		cmd.Env = append(os.Environ(), "BAPONI_BASE_URL="+emu.URL())
		cmd.Stderr = pts
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if stdout.Len() != 0 {
			t.Errorf("progress went to stdout: %q", stdout.String())
		}
	}
	pts.Close()
	<-copied // the terminal side reads EIO once no one holds the terminal
	s := out.String()
	for _, want := range []string{"p.bin", "100%", "32.0 MiB/32.0 MiB", "/s", "[====", "\r"} {
		if strings.Count(s, want) < 2 {
			t.Errorf("terminal output lacks %q (twice, up and down):\n%q", want, s)
		}
	}
	if !strings.Contains(s, "ETA") {
		t.Errorf("terminal output lacks an ETA:\n%q", s)
	}
}

// TestCLIRetriesACutTransfer: against the emulator, a PUT and then a GET
// cut after 1 MiB by a fault rule (once each) are retried once with a
// fresh signed URL, and the bytes arrive whole.
func TestCLIRetriesACutTransfer(t *testing.T) {
	emu := startEmulator(t)
	dir := t.TempDir()
	src, back := filepath.Join(dir, "cut.bin"), filepath.Join(dir, "back.bin")
	want := writeRandom(t, src, 4<<20)
	for _, rule := range []string{
		`{"match": {"route": "storage.put"}, "action": {"body": {"truncate_after": 1048576}}, "times": 1}`,
		`{"match": {"route": "storage.get", "method": "GET"}, "action": {"body": {"truncate_after": 1048576}}, "times": 1}`,
	} {
		var r emulator.FaultRule
		if err := json.Unmarshal([]byte(rule), &r); err != nil {
			t.Fatal(err)
		}
		if _, err := emu.AddFault(r); err != nil {
			t.Fatal(err)
		}
	}
	if r := runCLI(t, emu, nil, "files", "cp", src, "thread:t-cut/cut.bin"); r.code != 0 {
		t.Fatalf("upload: exit %d, stderr %s", r.code, r.stderr)
	}
	if r := runCLI(t, emu, nil, "files", "cp", "thread:t-cut/cut.bin", back); r.code != 0 {
		t.Fatalf("download: exit %d, stderr %s", r.code, r.stderr)
	}
	if fileSum(t, back) != want {
		t.Fatal("the bytes differ after the retried transfers")
	}
	count := func(route string) (all, failed int) {
		for _, e := range emu.Requests(emulator.RequestFilter{Route: route}) {
			all++
			if e.Status != 200 && e.Status != 201 {
				failed++
			}
		}
		return all, failed
	}
	for _, c := range []struct{ route, sign string }{{"storage.put", "files.upload_url"}, {"storage.get", "files.download_url"}} {
		all, failed := count(c.route)
		signed, _ := count(c.sign)
		if all != 2 || failed != 1 || signed != 2 {
			t.Errorf("%s: %d requests, %d failed, %d signed URLs (%s); want 2, 1 and 2", c.route, all, failed, signed, c.sign)
		}
	}
}
