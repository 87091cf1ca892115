package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// newRunner returns a namespace runner; on Linux a runner that cannot
// isolate is a failure, not a skip.
func newRunner(t *testing.T, opts Options) *Runner {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("namespaces need Linux")
	}
	opts.Isolation = IsolationNamespaces
	r, err := NewRunner(opts)
	if err != nil {
		t.Fatalf("NewRunner: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func run(t *testing.T, r *Runner, spec Spec) Result {
	t.Helper()
	if spec.Timeout == 0 {
		spec.Timeout = 20 * time.Second
	}
	res, err := r.Run(context.Background(), spec)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func mustSucceed(t *testing.T, res Result) {
	t.Helper()
	if res.Status != StatusSuccess || res.ExitCode != 0 {
		t.Fatalf("status %s exit %d error %q\nstdout: %s\nstderr: %s", res.Status, res.ExitCode, res.Error, res.Stdout, res.Stderr)
	}
}

// processesWith lists host processes whose command line contains marker.
func processesWith(marker string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(marker)) && e.Name() != fmt.Sprint(os.Getpid()) {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

func TestR1_LanguagesPrintAndExit(t *testing.T) {
	r := newRunner(t, Options{})
	cases := []struct {
		lang, code, stdout, stderr string
		exit                       int
	}{
		{"python", "import sys; print('hi from python'); print('oops', file=sys.stderr)", "hi from python\n", "oops\n", 0},
		{"node", "console.log('hi from node'); console.error('oops')", "hi from node\n", "oops\n", 0},
		{"bash", "echo hi from bash; echo oops >&2", "hi from bash\n", "oops\n", 0},
		{"python", "import sys; sys.exit(3)", "", "", 3},
		{"node", "process.exit(4)", "", "", 4},
		{"bash", "exit 5", "", "", 5},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/exit%d", c.lang, c.exit), func(t *testing.T) {
			res := run(t, r, Spec{Language: c.lang, Code: []byte(c.code)})
			if res.ExitCode != c.exit || string(res.Stdout) != c.stdout || string(res.Stderr) != c.stderr {
				t.Fatalf("got exit %d stdout %q stderr %q (status %s, error %q)", res.ExitCode, res.Stdout, res.Stderr, res.Status, res.Error)
			}
			want := StatusSuccess
			if c.exit != 0 {
				want = StatusFailed
			}
			if res.Status != want || res.Error != "" {
				t.Fatalf("status %q error %q, want %q and no error", res.Status, res.Error, want)
			}
		})
	}
}

func TestR3_HomePersistsInTheThreadDirectory(t *testing.T) {
	r := newRunner(t, Options{})
	home := t.TempDir()
	// A file put there by the emulator (as the store would: 0644, given to
	// the runner's FileOwner).
	if err := os.WriteFile(filepath.Join(home, "input.json"), []byte(`{"values": [1, 2, 3, 4, 5]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if uid, gid, ok := r.FileOwner(); ok {
		if err := os.Chown(filepath.Join(home, "input.json"), uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	res := run(t, r, Spec{Language: "python", HomeDir: home, Code: []byte(`
import json
with open('/home/baponi/input.json') as f:
    data = json.load(f)
import os
os.makedirs('/home/baponi/out', exist_ok=True)
with open('/home/baponi/out/output.json', 'w') as f:
    json.dump({"sum": sum(data["values"])}, f)
with open('/home/baponi/input.json', 'a') as f:  # uploaded files can be changed
    f.write('\n')
print(os.getcwd())
`)})
	mustSucceed(t, res)
	if got := string(res.Stdout); got != "/home/baponi\n" {
		t.Fatalf("cwd %q, want /home/baponi", got)
	}
	b, err := os.ReadFile(filepath.Join(home, "out", "output.json"))
	if err != nil || string(b) != `{"sum": 15}` {
		t.Fatalf("output.json on the host: %q, %v", b, err)
	}
	// A second run sees what the first left.
	res = run(t, r, Spec{Language: "node", HomeDir: home, Code: []byte(`
const fs = require('fs');
console.log(fs.readFileSync('/home/baponi/out/output.json', 'utf8'));
fs.writeFileSync('/home/baponi/from-node.txt', 'node was here');`)})
	mustSucceed(t, res)
	if string(res.Stdout) != "{\"sum\": 15}\n" {
		t.Fatalf("second run read %q", res.Stdout)
	}
	if b, err := os.ReadFile(filepath.Join(home, "from-node.txt")); err != nil || string(b) != "node was here" {
		t.Fatalf("from-node.txt: %q, %v", b, err)
	}
	// The emulator can remove everything the code left.
	if err := os.RemoveAll(filepath.Join(home, "out")); err != nil {
		t.Fatal(err)
	}
}

func TestR3_WithoutThreadTheHomeIsEmptyAndDiscarded(t *testing.T) {
	r := newRunner(t, Options{})
	for i := 0; i < 2; i++ {
		res := run(t, r, Spec{Language: "bash", Code: []byte(`ls -A /home/baponi; echo x > /home/baponi/left-behind; echo "$HOME $PWD"`)})
		mustSucceed(t, res)
		if string(res.Stdout) != "/home/baponi /home/baponi\n" {
			t.Fatalf("run %d: stdout %q, want an empty home listing", i, res.Stdout)
		}
	}
}

func TestR6_NoSetuidRootCanBePlanted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the planted file belongs to the emulator's own user when it is not root")
	}
	r := newRunner(t, Options{})
	home := t.TempDir()
	res := run(t, r, Spec{Language: "bash", HomeDir: home, Code: []byte(`cp /bin/true suid && chmod 4755 suid; id -u`)})
	mustSucceed(t, res)
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(home, "suid"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid == 0 || st.Gid == 0 {
		t.Fatalf("file written by code is owned by %d:%d on the host; want the unprivileged sandbox id", st.Uid, st.Gid)
	}
	if st.Uid != 65534 {
		t.Fatalf("owner %d, want 65534", st.Uid)
	}
}

func TestR6_OtherThreadsAndHostFilesAreNotVisible(t *testing.T) {
	r := newRunner(t, Options{})
	parent := t.TempDir()
	mine, other := filepath.Join(parent, "t1"), filepath.Join(parent, "t2")
	for _, d := range []string{mine, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(other, "secret.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := run(t, r, Spec{Language: "python", HomeDir: mine, Code: []byte(fmt.Sprintf(`
import os
for p in [%q, %q, '/etc/shadow', '/root', '/home/baponi/../t2/secret.txt']:
    try:
        open(p).read()
        print('READ', p)
    except OSError as e:
        print('denied', p, type(e).__name__)
print(sorted(os.listdir('/')))
print(sorted(os.listdir('/etc')))
`, filepath.Join(other, "secret.txt"), filepath.Join(mine, "..", "t2", "secret.txt")))})
	mustSucceed(t, res)
	if bytes.Contains(res.Stdout, []byte("READ")) {
		t.Fatalf("code read something it must not:\n%s", res.Stdout)
	}
	if bytes.Contains(res.Stdout, []byte("'shadow'")) || bytes.Contains(res.Stdout, []byte("'work'")) {
		t.Fatalf("host files visible:\n%s", res.Stdout)
	}
}

func TestR6_NoNetworkButLoopback(t *testing.T) {
	r := newRunner(t, Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	res := run(t, r, Spec{Language: "python", Code: []byte(fmt.Sprintf(`
import socket
try:
    socket.create_connection(('127.0.0.1', %d), timeout=2)
    print('host reachable')
except OSError as e:
    print('host unreachable', type(e).__name__)
try:
    socket.create_connection(('1.1.1.1', 53), timeout=2)
    print('internet reachable')
except OSError as e:
    print('internet unreachable', type(e).__name__)
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()
c = socket.create_connection(srv.getsockname(), timeout=2)
print('loopback works')
`, port))})
	mustSucceed(t, res)
	want := "host unreachable ConnectionRefusedError\ninternet unreachable OSError\nloopback works\n"
	if string(res.Stdout) != want {
		t.Fatalf("stdout %q, want %q", res.Stdout, want)
	}
	select {
	case <-accepted:
		t.Fatal("the test's listener accepted a connection from the sandbox")
	default:
	}
}

func TestR6_Volumes(t *testing.T) {
	r := newRunner(t, Options{})
	rw, ro := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "ref.txt"), []byte("reference"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := run(t, r, Spec{Language: "python", Volumes: []Mount{{HostDir: rw, Slug: "shared-data"}, {HostDir: ro, Slug: "reference-data", ReadOnly: true}},
		Code: []byte(`
import errno
print(open('/volumes/reference-data/ref.txt').read())
open('/volumes/shared-data/new.txt', 'w').write('shared')
for p in ['/volumes/reference-data/new.txt', '/volumes/reference-data/ref.txt']:
    try:
        open(p, 'w').write('x')
        print('WROTE', p)
    except OSError as e:
        print(errno.errorcode[e.errno])
`)})
	mustSucceed(t, res)
	if string(res.Stdout) != "reference\nEROFS\nEROFS\n" {
		t.Fatalf("stdout %q", res.Stdout)
	}
	if b, err := os.ReadFile(filepath.Join(rw, "new.txt")); err != nil || string(b) != "shared" {
		t.Fatalf("rw volume: %q %v", b, err)
	}
}

func TestR5_TimeoutKillsTheWholeTree(t *testing.T) {
	r := newRunner(t, Options{})
	marker := fmt.Sprintf("60.%d", time.Now().UnixNano()%100000)
	start := time.Now()
	res := run(t, r, Spec{Language: "bash", Timeout: time.Second,
		Code: []byte("sleep " + marker + " & sleep " + marker + "; echo never")})
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %s", el)
	}
	if res.Status != StatusTimeout || res.ExitCode != ExitTimeout || !strings.Contains(res.Error, "timed out") {
		t.Fatalf("status %s exit %d error %q", res.Status, res.ExitCode, res.Error)
	}
	if left := processesWith("sleep " + marker); len(left) > 0 {
		t.Fatalf("processes left behind: %v", left)
	}
}

func TestR5_ForkBombIsContained(t *testing.T) {
	r := newRunner(t, Options{PidsLimit: 64})
	marker := fmt.Sprintf("bomb%d", time.Now().UnixNano())
	start := time.Now()
	res := run(t, r, Spec{Language: "bash", Timeout: 3 * time.Second,
		Code: []byte(marker + "(){ " + marker + " | " + marker + " & }; " + marker + "; sleep 2; ps -e --no-headers | wc -l")})
	if el := time.Since(start); el > 15*time.Second {
		t.Fatalf("took %s", el)
	}
	t.Logf("status %s exit %d stdout %q stderr %.200q", res.Status, res.ExitCode, res.Stdout, res.Stderr)
	if left := processesWith(marker); len(left) > 0 {
		t.Fatalf("%d processes left behind, e.g. %s", len(left), left[0])
	}
	if res.Status == StatusSuccess {
		var n int
		fmt.Sscan(string(res.Stdout), &n)
		if n > 64 {
			t.Fatalf("%d processes in the sandbox, limit 64", n)
		}
	}
}

func TestR5_MemoryLimitGivesOOM(t *testing.T) {
	r := newRunner(t, Options{})
	if !r.ns.memoryCgroup() {
		if os.Getenv(requireCgroup2Env) != "" {
			t.Fatal("no memory cgroup under scripts/cgroup2-test")
		}
		t.Skip("no writable memory cgroup: the limit is an rlimit and shows as a MemoryError")
	}
	res := run(t, r, Spec{Language: "python", MemoryLimit: 64 << 20,
		Code: []byte("x = bytearray(300 << 20)\nprint('allocated')")})
	if res.Status != StatusOOM || res.ExitCode != ExitKilled || !strings.Contains(res.Error, "64 MiB") {
		t.Fatalf("status %s exit %d error %q stderr %s", res.Status, res.ExitCode, res.Error, res.Stderr)
	}
	// Node starts under the default limit.
	mustSucceed(t, run(t, r, Spec{Language: "node", Code: []byte("console.log(1)")}))
}

func TestR1_OutputIsCappedAndMarked(t *testing.T) {
	r := newRunner(t, Options{})
	var live bytes.Buffer
	res := run(t, r, Spec{Language: "python", OutputCap: 1000, Stdout: &live,
		Code: []byte("import sys\nfor i in range(100000): print('x' * 99)\nprint('done', file=sys.stderr)")})
	mustSucceed(t, res)
	note := truncationNote(1000)
	if !res.Truncated || len(res.Stdout) != 1000+len(note) || !strings.HasSuffix(string(res.Stdout), note) {
		t.Fatalf("truncated %v, %d bytes, tail %q", res.Truncated, len(res.Stdout), res.Stdout[max(0, len(res.Stdout)-80):])
	}
	if !bytes.Equal(live.Bytes(), res.Stdout) {
		t.Fatalf("live stream (%d bytes) differs from the result (%d bytes)", live.Len(), len(res.Stdout))
	}
	if string(res.Stderr) != "done\n" {
		t.Fatalf("stderr %q", res.Stderr)
	}
}

func TestR7_EnvironmentIsClean(t *testing.T) {
	t.Setenv("LOCALBAPONI_LEAK_CHECK", "leaked")
	r := newRunner(t, Options{})
	res := run(t, r, Spec{Language: "bash", Env: map[string]string{"MY_VAR": "hello world", "HOME": "/evil"},
		Code: []byte("env | sort")})
	mustSucceed(t, res)
	got := string(res.Stdout)
	for _, want := range []string{"MY_VAR=hello world\n", "HOME=/home/baponi\n", "USER=baponi\n", "LANG=C.UTF-8\n", "PWD=/home/baponi\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	for _, bad := range []string{"leaked", "LOCALBAPONI_SANDBOX_CHILD", "/evil", "GOPATH", "NODE_EXTRA_CA_CERTS"} {
		if strings.Contains(got, bad) {
			t.Errorf("%q leaked into the sandbox:\n%s", bad, got)
		}
	}
}

func TestR2_MissingInterpreter(t *testing.T) {
	r := newRunner(t, Options{Node: "/nonexistent/node"})
	res := run(t, r, Spec{Language: "node", Code: []byte("1")})
	if res.Status != StatusFailed || res.Error != "Language 'node' not available in this image" {
		t.Fatalf("status %s error %q", res.Status, res.Error)
	}
}

func TestR2_LargeCodeRunsFromAFile(t *testing.T) {
	r := newRunner(t, Options{})
	code := "x = 1\n" + strings.Repeat("# padding padding padding padding padding padding\n", 4000) + "print(x + 1)\n"
	if len(code) <= inlineCodeMax {
		t.Fatalf("code of %d bytes is not large", len(code))
	}
	res := run(t, r, Spec{Language: "python", Code: []byte(code)})
	mustSucceed(t, res)
	if string(res.Stdout) != "2\n" {
		t.Fatalf("stdout %q", res.Stdout)
	}
}

// chunks records writes with their arrival time.
type chunks struct {
	mu sync.Mutex
	at []time.Time
}

func (c *chunks) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = append(c.at, time.Now())
	return len(p), nil
}

func TestR8_OutputStreamsWhileTheCodeRuns(t *testing.T) {
	r := newRunner(t, Options{})
	var c chunks
	res := run(t, r, Spec{Language: "python", Stdout: &c, Code: []byte("import time\nprint('a')\ntime.sleep(1)\nprint('b')")})
	mustSucceed(t, res)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.at) < 2 || c.at[len(c.at)-1].Sub(c.at[0]) < 500*time.Millisecond {
		t.Fatalf("chunks at %v: want 'a' well before 'b'", c.at)
	}
}

func TestRun_CancelledByContext(t *testing.T) {
	r := newRunner(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	res, err := r.Run(ctx, Spec{Language: "bash", Code: []byte("sleep 30"), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusCancelled || res.Duration > 5*time.Second {
		t.Fatalf("status %s after %s", res.Status, res.Duration)
	}
}

func TestFallback_PlainSubprocess(t *testing.T) {
	r, err := NewRunner(Options{Isolation: IsolationNone})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Mode() != IsolationNone || r.Reason() == "" {
		t.Fatalf("mode %q reason %q", r.Mode(), r.Reason())
	}
	plainOnly(r)
	home := t.TempDir()
	res := run(t, r, Spec{Language: "bash", HomeDir: home, Code: []byte(`echo "$HOME|$PWD"; echo hi > f.txt`)})
	mustSucceed(t, res)
	if string(res.Stdout) != home+"|"+home+"\n" {
		t.Fatalf("stdout %q, want HOME and cwd = %s", res.Stdout, home)
	}
	if _, err := os.Stat(filepath.Join(home, "f.txt")); err != nil {
		t.Fatal(err)
	}
	marker := fmt.Sprintf("50.%d", time.Now().UnixNano()%100000)
	res = run(t, r, Spec{Language: "bash", Timeout: time.Second, Code: []byte("sleep " + marker + " & sleep " + marker)})
	if res.Status != StatusTimeout {
		t.Fatalf("status %s", res.Status)
	}
	if left := processesWith("sleep " + marker); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
}

func TestNewRunner_RejectsUnknownIsolation(t *testing.T) {
	if _, err := NewRunner(Options{Isolation: "chroot"}); err == nil {
		t.Fatal("want an error")
	}
}

// With auto isolation the namespace runner (directories, cgroups, the probe
// run) is made at the first use, not by NewRunner; Close before any use
// makes nothing.
func TestAutoIsolationIsSetUpAtFirstUse(t *testing.T) {
	r, err := NewRunner(Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.stateMu.Lock()
	settled, ns := r.settled, r.ns
	r.stateMu.Unlock()
	if settled || ns != nil {
		t.Fatalf("NewRunner(auto) set up the sandbox already (settled %v)", settled)
	}
	res, err := r.Run(context.Background(), Spec{Language: "bash", Code: []byte("echo hi"), Timeout: 20 * time.Second})
	if err != nil || res.Status != StatusSuccess || string(res.Stdout) != "hi\n" {
		t.Fatalf("first Run = %+v, %v", res, err)
	}
	r.stateMu.Lock()
	settled, ns = r.settled, r.ns
	r.stateMu.Unlock()
	if !settled || (ns != nil) != (r.Mode() == IsolationNamespaces) {
		t.Fatalf("after the first Run: settled %v, namespace runner %v, mode %q", settled, ns != nil, r.Mode())
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	unused, err := NewRunner(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := unused.Close(); err != nil {
		t.Fatal(err)
	}
	if unused.ns != nil {
		t.Fatal("Close of an unused runner made a namespace runner")
	}
}

func TestFallback_SaysWhyHomeBaponiIsMissing(t *testing.T) {
	if _, err := os.Stat("/home/baponi"); err == nil {
		t.Skip("/home/baponi exists on this host")
	}
	r, err := NewRunner(Options{Isolation: IsolationNone})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	plainOnly(r)
	res := run(t, r, Spec{Language: "bash", HomeDir: t.TempDir(), Code: []byte(`echo x > /home/baponi/out.txt`)})
	if res.Status != StatusFailed || !strings.Contains(res.Error, "isolation none") || !strings.Contains(res.Error, "/home/baponi does not exist") {
		t.Fatalf("status %s error %q", res.Status, res.Error)
	}
	// A run that does not fail carries no note.
	res = run(t, r, Spec{Language: "bash", HomeDir: t.TempDir(), Code: []byte(`echo /home/baponi`)})
	mustSucceed(t, res)
	if res.Error != "" {
		t.Fatalf("error %q on a successful run", res.Error)
	}
}

// isolation none: code that makes itself the emulator's tracee
// (ptrace(PTRACE_TRACEME)) stops at its next signal, and the wait saw the
// stop as an end: the run failed with no error, and the stopped process
// stayed behind as a zombie. Now the run ends at once, says why, and
// nothing of it is left.
func TestFallback_PtraceTracemeEndsTheRun(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	r, err := NewRunner(Options{Isolation: IsolationNone})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	plainOnly(r)
	marker := fmt.Sprintf("40.%d", time.Now().UnixNano()%100000)
	res := run(t, r, Spec{Language: "python", HomeDir: t.TempDir(), Timeout: 20 * time.Second, Code: []byte(`
import ctypes, os, signal, subprocess
subprocess.Popen(['sleep', '` + marker + `'])
print(os.getpid(), flush=True)
ctypes.CDLL(None).ptrace(0, 0, 0, 0)
os.kill(os.getpid(), signal.SIGUSR1)
print('after')
`)})
	if res.Status != StatusFailed || !strings.Contains(res.Error, "PTRACE_TRACEME") || res.Duration > 10*time.Second {
		t.Fatalf("status %s exit %d error %q after %s; stdout %q stderr %q", res.Status, res.ExitCode, res.Error, res.Duration, res.Stdout, res.Stderr)
	}
	pid := strings.TrimSpace(string(res.Stdout))
	if b, err := os.ReadFile("/proc/" + pid + "/stat"); err == nil {
		t.Errorf("the traced process is still there: %s", b)
	}
	if left := processesWith("sleep " + marker); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// plainOnly makes a fallback runner skip its light mode, as where no mount
// namespace can be made.
func plainOnly(r *Runner) {
	r.homeOnce.Do(func() { r.homeWhy = "light mode disabled by the test" })
}

// Defect 10: the fallback (isolation none) gave code no /home/baponi.
// Where a mount namespace can be made without privileges (an unprivileged
// user namespace, or root), /home/baponi is the thread directory, code
// starts with fds 0-2 only, under no_new_privs and the seccomp filter
// (ptrace is refused: no stopped tracee), and volumes' absence is
// explained.
func TestFallback_LightModeGivesAWritableHomeBaponi(t *testing.T) {
	r, err := NewRunner(Options{Isolation: IsolationNone})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if ok, why := r.lightHome(); !ok {
		t.Skip("no mount namespace here: " + why)
	}
	home := t.TempDir()
	res := run(t, r, Spec{Language: "bash", HomeDir: home, Code: []byte(`echo "$HOME|$PWD"; echo hi > /home/baponi/f.txt; ls /proc/self/fd | tr '\n' ' '; echo; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\t\n' '  '`)})
	mustSucceed(t, res)
	lines := strings.Split(string(res.Stdout), "\n")
	if len(lines) < 3 || lines[0] != "/home/baponi|/home/baponi" || lines[1] != "0 1 2 3 " || !strings.Contains(lines[2], "NoNewPrivs: 1") || !strings.Contains(lines[2], "Seccomp: 2") {
		t.Fatalf("stdout %q; want HOME and cwd /home/baponi, fds 0-2 (3: ls's own), no_new_privs and a filter", res.Stdout)
	}
	if b, err := os.ReadFile(filepath.Join(home, "f.txt")); err != nil || string(b) != "hi\n" {
		t.Fatalf("f.txt in the thread directory: %q %v", b, err)
	}
	if _, err := exec.LookPath("python3"); err == nil {
		res = run(t, r, Spec{Language: "python", HomeDir: home, Code: []byte("import ctypes, os; print(ctypes.CDLL(None).ptrace(0, 0, 0, 0), ctypes.get_errno() if hasattr(ctypes, 'get_errno') else '', os.getcwd())")})
		mustSucceed(t, res)
		if !strings.HasPrefix(string(res.Stdout), "-1 ") {
			t.Fatalf("ptrace(PTRACE_TRACEME) in the light mode: %q", res.Stdout)
		}
	}
	res = run(t, r, Spec{Language: "bash", HomeDir: home, Code: []byte(`ls /volumes/data`)})
	if res.Status != StatusFailed || !strings.Contains(res.Error, "volumes are not mounted") {
		t.Fatalf("status %s error %q", res.Status, res.Error)
	}
}
