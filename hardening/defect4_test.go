//go:build linux

package hardening

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator"
)

// deepChainCode builds a chain of n directories below dir the way hostile
// code would: mkdir and chdir one level at a time, never a long path.
func deepChainCode(dir string, n int) string {
	return fmt.Sprintf(`
import os
os.chdir(%q)
for i in range(%d):
    os.mkdir('d')
    os.chdir('d')
open('bottom', 'w').write('x')
print('built')
`, dir, n)
}

func openFdCount() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents)
}

// TestDefect4DeepTrees: a chain in a thread twice as deep as the
// descriptors the emulator may open (the 40 000 against 20 000,
// scaled down to 8 000 against 4 096 to keep the test short) and a 3 000-deep
// chain in a read-write volume must not make later runs fail (on any
// thread or none), must not drive the emulator's open descriptors up with
// the depth (the post-run walks are bounded), must not break listing, and
// the temporary data directory must still be removed at shutdown.
func TestDefect4DeepTrees(t *testing.T) {
	requirePython(t)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	low := lim
	low.Cur = min(lim.Cur, 4096)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
	// The emulator's temporary data directory, on a disk that creates
	// directories fast (/tmp can be much slower).
	scratch, err := os.MkdirTemp(".", ".scratch-defect4-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if os.RemoveAll(scratch) != nil {
			_ = exec.Command("rm", "-rf", scratch).Run() // deeper than os.RemoveAll goes
		}
	})
	abs, _ := os.Getwd()
	t.Setenv("TMPDIR", abs+"/"+scratch)
	emu, err := emulator.Start(emulator.Options{Sandbox: emulator.SandboxOptions{Isolation: "namespaces"}})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = emu.Close()
		}
	})
	key := emu.APIKey()

	// Watch this process's descriptors while the deep runs and their
	// post-run walks happen.
	base := openFdCount()
	var peak atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if n := int64(openFdCount()); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	for _, c := range []struct {
		what, dir, thread string
		depth             int
	}{
		{"thread", "/home/baponi", "deep-thread", 8000},
		{"volume", "/volumes/" + emulator.DevRWVolume, "", 3000},
	} {
		body := map[string]any{"code": deepChainCode(c.dir, c.depth), "timeout": 120}
		if c.thread != "" {
			body["thread_id"] = c.thread
		}
		began := time.Now()
		res := execute(t, emu.URL(), key, body)
		t.Logf("%d-deep chain in the %s: %s", c.depth, c.what, time.Since(began).Round(time.Millisecond))
		if !res.Success || res.Stdout != "built\n" {
			t.Fatalf("building the %d-deep chain in the %s: %s", c.depth, c.what, res)
		}
	}
	close(stop)
	wg.Wait()
	if extra := peak.Load() - int64(base); extra > 1200 {
		t.Errorf("the emulator held %d more descriptors during the deep runs (base %d): the walks are not bounded", extra, base)
	}

	// Later runs: on the deep thread, on another thread, on none.
	for _, thread := range []string{"deep-thread", "other-thread", ""} {
		body := map[string]any{"code": "print(1)", "timeout": 30}
		if thread != "" {
			body["thread_id"] = thread
		}
		if res := execute(t, emu.URL(), key, body); !res.Success || res.Stdout != "1\n" {
			t.Errorf("a later run (thread %q) failed after the deep trees: %s", thread, res)
		}
	}
	// Listing the volume and the thread still answers.
	for _, src := range []map[string]string{
		{"source": "volume", "id": emulator.DevRWVolume},
		{"source": "thread", "id": "deep-thread"},
	} {
		if code, body := apiCall(t, http.MethodPost, emu.URL(), key, "/v1/files/list", src); code != http.StatusOK {
			t.Errorf("list %v: %d %s", src, code, body)
		}
	}

	dataDir := emu.DataDir()
	closed = true
	began := time.Now()
	defer func() { t.Logf("shutdown: %s", time.Since(began).Round(time.Millisecond)) }()
	if err := emu.Close(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if _, err := os.Lstat(dataDir); !os.IsNotExist(err) {
		t.Errorf("the temporary data dir survived shutdown: %v", err)
	}
}

// TestDefect4DeepTreesAsNobody: the same attack against the localbaponi
// binary running as nobody: a chain deeper than its descriptor limit in a
// thread, later runs, and a clean shutdown (SIGTERM) that removes the
// temporary data directory.
func TestDefect4DeepTreesAsNobody(t *testing.T) {
	requirePython(t)
	prefix := asNobody(t)
	scratch, err := os.MkdirTemp(".", ".scratch-defect4n-")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := os.Getwd()
	scratch = abs + "/" + scratch
	t.Cleanup(func() {
		if os.RemoveAll(scratch) != nil {
			_ = exec.Command("rm", "-rf", scratch).Run()
		}
	})
	_ = os.Chmod(scratch, 0o777)
	// The emulator's descriptor limit, below the depth.
	prefix = append([]string{"prlimit", "--nofile=2048:2048", "--"}, prefix...)
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("prlimit not installed")
	}
	t.Setenv("TMPDIR", scratch)
	p := startSandboxBinary(t, prefix, nil)
	if res := execute(t, p.url, emulator.DevAPIKey, map[string]any{"thread_id": "deep", "timeout": 120,
		"code": deepChainCode("/home/baponi", 4000)}); !res.Success {
		t.Fatalf("building the chain: %s", res)
	}
	for _, thread := range []string{"deep", "other", ""} {
		body := map[string]any{"code": "print(1)", "timeout": 30}
		if thread != "" {
			body["thread_id"] = thread
		}
		if res := execute(t, p.url, emulator.DevAPIKey, body); !res.Success || res.Stdout != "1\n" {
			t.Errorf("a later run (thread %q) failed after the deep tree: %s", thread, res)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(scratch, "localbaponi-store-*"))
	if len(dirs) != 1 {
		t.Fatalf("data dirs in %s: %v", scratch, dirs)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- p.cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("shutdown: %v; logs:\n%s", err, p.logsString())
		}
	case <-time.After(120 * time.Second):
		t.Fatalf("no shutdown within 120 s")
	}
	if _, err := os.Lstat(dirs[0]); !os.IsNotExist(err) {
		t.Errorf("the temporary data dir survived shutdown: %v; logs:\n%s", err, p.logsString())
	}
}
