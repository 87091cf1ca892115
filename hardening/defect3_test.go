//go:build linux

package hardening

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator"
)

// TestDefect3CodeOutlivesEmulator: after kill -9 of the emulator, every
// process its sandboxed code started must die within a bound — even code
// that tries to clear its parent-death signal and forks a detached child —
// and the next emulator to start removes what the dead one left (its
// cgroups and sandbox root). Runs the localbaponi binary as root and as
// the unprivileged user nobody.
func TestDefect3CodeOutlivesEmulator(t *testing.T) {
	requirePython(t)
	asEachUser(t, "", "the root half", func(t *testing.T, user string, prefix []string) {
		marker := fmt.Sprintf("busy-%s-%d", user, time.Now().UnixNano())
		code := fmt.Sprintf(`# %s
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG = 0: try to survive the emulator
if os.fork() == 0:
    os.setsid()
    while True:
        pass
while True:
    pass
`, marker)
		p := startSandboxBinary(t, prefix, nil)
		done := make(chan error, 1)
		go func() {
			_, err := tryExecute(p.url, emulator.DevAPIKey, map[string]any{"code": code, "timeout": 30})
			done <- err
		}()
		deadline := time.Now().Add(20 * time.Second)
		for len(processesWith(marker)) < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("the busy loops did not start; emulator logs:\n%s", p.logsString())
			}
			time.Sleep(20 * time.Millisecond)
		}
		pid := p.cmd.Process.Pid
		if err := p.cmd.Process.Kill(); err != nil { // kill -9
			t.Fatal(err)
		}
		_ = p.cmd.Wait()
		<-done
		if left := waitGone(marker, 5*time.Second); len(left) > 0 {
			for _, l := range left {
				var n int
				if _, err := fmt.Sscanf(l, "%d:", &n); err == nil {
					_ = killPid(n)
				}
			}
			t.Fatalf("sandboxed code still runs 5 s after kill -9 of the emulator: %v", left)
		}

		// The next start sweeps what the dead instance left.
		leftovers := func() []string {
			var out []string
			roots, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("localbaponi-sandbox-%d-*", pid)))
			out = append(out, roots...)
			cgs, _ := filepath.Glob(fmt.Sprintf("/sys/fs/cgroup/*/localbaponi-%d-*", pid))
			cgs2, _ := filepath.Glob(fmt.Sprintf("/sys/fs/cgroup/*/*/localbaponi-%d-*", pid))
			cgs3, _ := filepath.Glob(fmt.Sprintf("/sys/fs/cgroup/*/*/*/localbaponi-%d-*", pid))
			return append(append(append(out, cgs...), cgs2...), cgs3...)
		}
		before := leftovers()
		startSandboxBinary(t, prefix, nil)
		if after := leftovers(); len(after) > 0 {
			t.Fatalf("the next start did not remove the dead instance's leftovers: %s", strings.Join(after, ", "))
		}
		t.Logf("leftovers of the killed instance removed by the next start: %d", len(before))
	})
}
