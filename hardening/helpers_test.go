//go:build linux

package hardening

// Shared helpers of the sandbox tests: an emulator in process or as a
// subprocess (the localbaponi binary, built once), and executions through
// the public HTTP API, as any client — or attacker — would send them.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/localbaponi/localbaponi/emulator"
)

// execResult is the execute endpoint's inline result.
type execResult struct {
	Success  bool    `json:"success"`
	Stdout   string  `json:"stdout"`
	Stderr   string  `json:"stderr"`
	ExitCode int     `json:"exit_code"`
	Error    *string `json:"error"`
	Status   string  `json:"status"`
}

func (r execResult) String() string {
	e := ""
	if r.Error != nil {
		e = *r.Error
	}
	return fmt.Sprintf("status=%s exit=%d error=%q stdout=%q stderr=%q", r.Status, r.ExitCode, e, r.Stdout, r.Stderr)
}

// startNS starts an in-process emulator that must isolate with namespaces.
func startNS(t *testing.T, opts emulator.Options) *emulator.Emulator {
	t.Helper()
	opts.Sandbox.Isolation = "namespaces"
	return emulator.RunT(t, opts)
}

// execute runs code through POST /v1/sandbox/execute and returns the
// inline result; the request is bounded by timeout plus a margin.
func execute(t *testing.T, baseURL, apiKey string, body map[string]any) execResult {
	t.Helper()
	res, err := tryExecute(baseURL, apiKey, body)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func tryExecute(baseURL, apiKey string, body map[string]any) (execResult, error) {
	b, _ := json.Marshal(body)
	limit := 60 * time.Second
	if s, ok := body["timeout"].(int); ok {
		limit = time.Duration(s)*time.Second + 30*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/v1/sandbox/execute", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return execResult{}, fmt.Errorf("execute: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return execResult{}, fmt.Errorf("execute: %s: %s", resp.Status, raw)
	}
	var res execResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return execResult{}, fmt.Errorf("execute: %v: %s", err, raw)
	}
	return res, nil
}

func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: " + why)
	}
}

func requirePython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
}

var (
	buildOnce sync.Once
	binPath   string
	binErr    error
)

// sandboxBinary builds cmd/localbaponi once per test run, into a directory every
// user can read and execute (tests also run it as an unprivileged user).
func sandboxBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "localbaponi-hardening-bin-")
		if err != nil {
			binErr = err
			return
		}
		_ = os.Chmod(dir, 0o755)
		binPath = filepath.Join(dir, "localbaponi")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/localbaponi/localbaponi/cmd/localbaponi")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// subprocess is a localbaponi binary running as a child of the test.
type subprocess struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
	mu   *sync.Mutex
}

// lockedBuffer is a bytes.Buffer safe for one writer and readers.
type lockedBuffer struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (l lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// startSandboxBinary starts localbaponi on a free loopback port with the given
// extra arguments; prefix, if set, is a command that runs it (setpriv to
// become an unprivileged user). extraFiles become fds 3, 4, ... of the
// emulator. It waits until the emulator answers, and kills it at cleanup.
func startSandboxBinary(t *testing.T, prefix []string, extraFiles []*os.File, args ...string) *subprocess {
	t.Helper()
	bin := sandboxBinary(t)
	argv := append(append(append([]string{}, prefix...), bin, "--addr", "127.0.0.1:0", "--isolation", "namespaces"), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.ExtraFiles = extraFiles
	cmd.Env = append(os.Environ(), "TMPDIR="+os.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &subprocess{cmd: cmd, logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	cmd.Stderr = lockedBuffer{p.mu, p.logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	urlc := make(chan string, 1)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if u := listenURL(sc.Text()); u != "" && !sent {
				urlc <- u
				sent = true
			}
		}
	}()
	select {
	case p.url = <-urlc:
	case <-ended:
		select {
		case p.url = <-urlc:
		default:
			_ = cmd.Wait()
			t.Fatalf("localbaponi exited before it listened; logs:\n%s", p.logsString())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("localbaponi did not start within 60 s; logs:\n%s", p.logsString())
	}
	return p
}

func (p *subprocess) logsString() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// listenURL finds the base URL in the banner line of localbaponi
// ("localbaponi <version> listening on http://127.0.0.1:<port> ...").
func listenURL(line string) string {
	_, rest, ok := strings.Cut(line, " listening on ")
	if !ok {
		return ""
	}
	u, _, _ := strings.Cut(rest, " ")
	return u
}

// waitGone waits until no process's command line contains marker, or the
// bound passes; it returns what is still running.
func waitGone(marker string, bound time.Duration) []string {
	deadline := time.Now().Add(bound)
	for {
		left := processesWith(marker)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processesWith lists host processes (pid: command line) whose command line
// contains marker, except this test process.
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

// asEachUser runs f as one subtest per user the binary runs as: name+"root"
// (skipped without root; why says what needs it) and name+"nobody", where
// prefix is the command prefix that runs a program as nobody.
func asEachUser(t *testing.T, name, why string, f func(t *testing.T, user string, prefix []string)) {
	for _, user := range []string{"root", "nobody"} {
		t.Run(name+user, func(t *testing.T) {
			var prefix []string
			if user == "nobody" {
				prefix = asNobody(t)
			} else {
				requireRoot(t, why)
			}
			f(t, user, prefix)
		})
	}
}

// asNobody is the command prefix that runs the emulator as the unprivileged
// user nobody (the "as a normal user" half of a test); it skips when that
// is not possible here.
func asNobody(t *testing.T) []string {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil // already a normal user
	}
	p, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv not installed: cannot run the emulator as nobody")
	}
	return []string{p, "--reuid=65534", "--regid=65534", "--clear-groups", "--"}
}

// killPid sends SIGKILL to pid (cleanup after a failed assertion).
func killPid(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// TestMain removes the binary sandboxBinary built, once every test is done.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// requireFuseAsNobody skips a test of the FUSE view as nobody when nobody
// cannot open /dev/fuse here. udev makes it 0666 on most systems, but a
// bare /dev (devtmpfs without udev, as in some VMs) leaves it 0600, and an
// unprivileged emulator then falls back to bind mounts, as it should
// (TestFileViewAutoFallsBackToBind covers that fallback); .ci/run opens it
// as udev does.
func requireFuseAsNobody(t *testing.T) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/dev/fuse", &st); err != nil {
		t.Skipf("no /dev/fuse: %v", err)
	}
	if os.Geteuid() == 0 && st.Mode&0o006 != 0o006 {
		t.Skipf("/dev/fuse is mode %o here: nobody cannot open it (chmod 0666 /dev/fuse, as udev does)", st.Mode&0o777)
	}
	if os.Geteuid() != 0 && unix.Access("/dev/fuse", unix.R_OK|unix.W_OK) != nil {
		t.Skipf("/dev/fuse is mode %o here: this user cannot open it", st.Mode&0o777)
	}
}
