//go:build linux

package hardening

import (
	"strings"
	"testing"

	"github.com/localbaponi/localbaponi/emulator"
)

// seccompProbe calls each system call the sandbox's filter must refuse,
// through libc's syscall(), and prints name=errno for each.
const seccompProbe = `
import ctypes, errno, os, platform
libc = ctypes.CDLL(None, use_errno=True)
x86 = platform.machine() == 'x86_64'
nr = {  # x86_64, arm64
    'keyctl': (250, 219), 'add_key': (248, 217), 'request_key': (249, 218), 'bpf': (321, 280),
    'perf_event_open': (298, 241), 'ptrace': (101, 117), 'mount': (165, 40), 'umount2': (166, 39),
    'kexec_load': (246, 104), 'open_by_handle_at': (304, 265), 'userfaultfd': (323, 282),
    'unshare': (272, 97), 'setns': (308, 268), 'init_module': (175, 105), 'finit_module': (313, 273),
    'delete_module': (176, 106), 'pivot_root': (155, 41), 'io_uring_setup': (425, 425),
    'fsopen': (430, 430), 'open_tree': (428, 428), 'move_mount': (429, 429),
}
args = {'ptrace': (16, 999999)}  # PTRACE_ATTACH to no such pid: never TRACEME
out = []
for name, (a, b) in sorted(nr.items()):
    ctypes.set_errno(0)
    r = libc.syscall(a if x86 else b, *(args.get(name, ()) + (0,) * 6)[:6])
    e = ctypes.get_errno()
    out.append('%s=%s' % (name, errno.errorcode.get(e, str(e)) if r == -1 else 'ALLOWED'))
# clone with CLONE_NEWUSER (a new user namespace from inside)
ctypes.set_errno(0)
r = libc.syscall(56 if x86 else 220, 0x10000000 | 17, 0, 0, 0, 0)
out.append('clone_newuser=%s' % (errno.errorcode.get(ctypes.get_errno(), '?') if r == -1 else 'ALLOWED'))
if r == 0:
    os._exit(0)
# prctl(PR_SET_PDEATHSIG, 0)
ctypes.set_errno(0)
r = libc.prctl(1, 0, 0, 0, 0)
out.append('prctl_pdeathsig=%s' % (errno.errorcode.get(ctypes.get_errno(), '?') if r == -1 else 'ALLOWED'))
print(' '.join(out))
`

// TestDefect10Seccomp: sandboxed code must not reach the kernel interfaces
// that Docker's and nsjail's default profiles deny (keyrings, BPF, perf,
// ptrace, mounts, kexec, modules, handle-based opens, userfaultfd,
// io_uring, namespaces from inside, clearing the parent-death signal):
// each fails with EPERM. Ordinary work (fork, threads, files) still runs.
func TestDefect10Seccomp(t *testing.T) {
	requirePython(t)
	emu := startNS(t, emulator.Options{})
	checkSeccomp(t, emu.URL(), emu.APIKey())
	t.Run("nobody", func(t *testing.T) {
		p := startSandboxBinary(t, asNobody(t), nil)
		checkSeccomp(t, p.url, emulator.DevAPIKey)
	})
}

func checkSeccomp(t *testing.T, url, key string) {
	t.Helper()
	res := execute(t, url, key, map[string]any{"code": seccompProbe, "timeout": 20})
	if !res.Success {
		t.Fatalf("probe: %s", res)
	}
	for _, kv := range strings.Fields(res.Stdout) {
		name, got, _ := strings.Cut(kv, "=")
		if got != "EPERM" {
			t.Errorf("%s: %s, want EPERM", name, got)
		}
	}
	if n := len(strings.Fields(res.Stdout)); n < 20 {
		t.Fatalf("probe printed %d results: %q", n, res.Stdout)
	}
	ok := execute(t, url, key, map[string]any{"language": "python", "timeout": 20, "code": `
import os, threading, subprocess
t = threading.Thread(target=lambda: None); t.start(); t.join()
print(subprocess.run(['sh', '-c', 'echo $((6*7))'], capture_output=True, text=True).stdout.strip())
open('/tmp/x', 'w').write('y'); print(open('/tmp/x').read())
`})
	if !ok.Success || ok.Stdout != "42\ny\n" {
		t.Fatalf("ordinary code under the filter: %s", ok)
	}
}

// checkNoneHome: in isolation none, code writes /home/baponi and the file
// is in its thread (listed through the Files API), $HOME is /home/baponi,
// and the system calls the namespaces' filter refuses are refused too
// (ptrace(PTRACE_TRACEME) no longer stops the run).
func checkNoneHome(t *testing.T, url, key string) {
	t.Helper()
	res := execute(t, url, key, map[string]any{"thread_id": "none-home", "timeout": 30, "code": `
import ctypes, os
open('/home/baponi/n.txt', 'w').write('none')
print(os.environ['HOME'], os.getcwd(), ctypes.CDLL(None).ptrace(0, 0, 0, 0))
`})
	if !res.Success || res.Stdout != "/home/baponi /home/baponi -1\n" {
		t.Fatalf("isolation none, writing /home/baponi: %s", res)
	}
	code, body := apiCall(t, "POST", url, key, "/v1/files/list", map[string]any{"source": "thread", "id": "none-home"})
	if code != 200 || !strings.Contains(string(body), `"n.txt"`) {
		t.Errorf("the thread after the run: %d %s", code, body)
	}
	res = execute(t, url, key, map[string]any{"thread_id": "none-home", "timeout": 30, "code": seccompProbe})
	if !res.Success || strings.Contains(res.Stdout, "ALLOWED") {
		t.Errorf("isolation none, the filter: %s", res)
	}
}

// Defect 10, the fallback: isolation none gave code no /home/baponi (and
// no filter: PTRACE_TRACEME stopped the run). Where a mount namespace can
// be made without privileges — an unprivileged user namespace, as here,
// or root — /home/baponi is the thread and the filter applies.
func TestDefect10NoneModeHome(t *testing.T) {
	requirePython(t)
	emu := emulator.RunT(t, emulator.Options{Sandbox: emulator.SandboxOptions{Isolation: "none"}})
	checkNoneHome(t, emu.URL(), emu.APIKey())
	t.Run("nobody", func(t *testing.T) {
		p := startSandboxBinary(t, asNobody(t), nil, "--isolation", "none")
		checkNoneHome(t, p.url, emulator.DevAPIKey)
	})
}
