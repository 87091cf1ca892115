//go:build linux

package hardening

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/localbaponi/localbaponi/emulator"
)

// leakProbe is python run in the sandbox that prints everything a curious
// program can read about where it runs: every process's mount tables,
// environment, cgroups, maps and descriptor links, /sys, its own working
// directory and environment. It ends with interpreter features that need
// /proc and /dev/shm (cpu count, a process pool), so hiding must not break
// them.
const leakProbe = `
import os, glob, multiprocessing
out = []
def rd(p):
    try:
        with open(p, 'rb') as f: out.append('== %s\n%s' % (p, f.read().decode('utf-8', 'replace')))
    except Exception as e: out.append('!! %s %r' % (p, e))
def rl(p):
    try: out.append('-> %s %s' % (p, os.readlink(p)))
    except Exception as e: out.append('!! %s %r' % (p, e))
for pid in ['self', 'thread-self', '1'] + [p for p in os.listdir('/proc') if p.isdigit()]:
    for f in ['mountinfo', 'mounts', 'mountstats', 'environ', 'cmdline', 'maps', 'cgroup', 'status', 'cpuset']:
        rd('/proc/%s/%s' % (pid, f))
    for l in ['root', 'cwd', 'exe']:
        rl('/proc/%s/%s' % (pid, l))
    for fd in glob.glob('/proc/%s/fd/*' % pid) + glob.glob('/proc/%s/map_files/*' % pid):
        rl(fd)
    for fd in glob.glob('/proc/%s/fdinfo/*' % pid):
        rd(fd)
for f in ['/proc/mounts', '/proc/self/net/unix', '/proc/locks', '/proc/self/task/1/mountinfo']:
    rd(f)
for p in glob.glob('/sys/**', recursive=True)[:5000]:
    rl(p)
out.append('cwd ' + os.getcwd())
out.append('env ' + repr(dict(os.environ)))
def sq(x): return x * x
with multiprocessing.Pool(2) as p: out.append('pool %r' % p.map(sq, [1, 2, 3]))
out.append('cpus %d' % os.cpu_count())
print('\n'.join(out))
`

// nodeProbe checks that node still runs normally in the sandbox and prints
// where it thinks it runs.
const nodeProbe = `
const cp = require('child_process'), os = require('os'), fs = require('fs');
console.log('execPath ' + process.execPath);
console.log('cwd ' + process.cwd());
console.log('cpus ' + os.cpus().length);
console.log('child ' + cp.execSync('echo hi').toString().trim());
console.log(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
`

// hostPathsIn returns the lines of out that show one of the host paths in
// secrets. Only the root field of a /home/baponi or /volumes/<slug>
// mountinfo line (the bound directory's path within its filesystem, which
// the kernel derives from the bind's source: SECURITY.md) is left out when
// allowRootField is set.
func hostPathsIn(out string, secrets []string, allowRootField bool) []string {
	var bad []string
	for _, line := range strings.Split(out, "\n") {
		check := line
		if f := strings.Fields(line); allowRootField && len(f) > 6 && strings.Contains(line, " - ") &&
			(f[4] == "/home/baponi" || strings.HasPrefix(f[4], "/volumes/")) {
			f[3] = "<root>"
			check = strings.Join(f, " ")
		}
		for _, s := range secrets {
			if strings.Contains(check, s) {
				bad = append(bad, line)
				break
			}
		}
	}
	return bad
}

// probeForHostPaths runs the probes on a thread (with the dev config's
// volumes) and fails on any host path in what the code could read. With
// fuse, the thread and the writable volume must be FUSE mounts.
func probeForHostPaths(t *testing.T, url, key string, secrets []string, allowRootField, fuse bool) {
	t.Helper()
	res := execute(t, url, key, map[string]any{"thread_id": "leak", "timeout": 60, "code": leakProbe})
	if !res.Success || !strings.Contains(res.Stdout, "\npool [1, 4, 9]\ncpus ") || !strings.Contains(res.Stdout, "== /proc/self/mountinfo\n") {
		t.Fatalf("the python probe did not run normally: %s", res)
	}
	if fuse {
		for _, mnt := range []string{"/home/baponi", "/volumes/" + emulator.DevRWVolume} {
			if !hasFuseMount(res.Stdout, mnt) {
				t.Errorf("%s is not a FUSE mount in the sandbox's mountinfo", mnt)
			}
		}
	}
	for _, l := range hostPathsIn(res.Stdout+res.Stderr, secrets, allowRootField) {
		t.Errorf("host path readable in the sandbox: %.300s", l)
	}
	res = execute(t, url, key, map[string]any{"thread_id": "leak", "language": "node", "timeout": 60, "code": nodeProbe})
	if !res.Success || !strings.Contains(res.Stdout, "\nchild hi\n") || !strings.Contains(res.Stdout, "cwd /home/baponi\n") {
		t.Fatalf("the node probe did not run normally: %s", res)
	}
	if p, _, _ := strings.Cut(strings.TrimPrefix(res.Stdout, "execPath "), "\n"); !strings.HasPrefix(p, "/") || strings.Contains(p, " ") {
		t.Errorf("node's process.execPath = %q", p)
	}
	for _, l := range hostPathsIn(res.Stdout+res.Stderr, secrets, allowRootField) {
		t.Errorf("host path readable by node in the sandbox: %.300s", l)
	}
	// A platform error (the run ended for its disk limit is one that names
	// a mount) speaks of sandbox paths only; so does a code's failure.
	res = execute(t, url, key, map[string]any{"thread_id": "leak", "language": "bash", "timeout": 30,
		"code": "cat /home/baponi/missing /volumes/" + emulator.DevRWVolume + "/missing; exit 3"})
	if res.Success || res.ExitCode != 3 {
		t.Fatalf("a failing bash run: %s", res)
	}
	if bad := hostPathsIn(res.String(), secrets, false); len(bad) > 0 {
		t.Errorf("host path in a failed run's result: %s", res)
	}
}

// hasFuseMount reports whether mountinfo text shows mnt as the FUSE view
// (root "/<n>", the space's entry in the run's one FUSE mount, type
// fuse.localbaponi).
func hasFuseMount(out, mnt string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || f[4] != mnt || !strings.Contains(line, " - fuse.localbaponi ") {
			continue
		}
		if entry, ok := strings.CutPrefix(f[3], "/"); ok && entry != "" && strings.Trim(entry, "0123456789") == "" {
			return true
		}
	}
	return false
}

// secretPaths are the host paths code must not learn: the data directory,
// the sandbox roots in the temp directory and the emulator's cgroups (its
// pid is in their names).
func secretPaths(dataDir string, emulatorPid int) []string {
	secrets := []string{dataDir, filepath.Join(os.TempDir(), "localbaponi-sandbox-"), fmt.Sprintf("localbaponi-%d-", emulatorPid)}
	// The emulator's own cgroups ("4:memory:/a/b"), other than the root.
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", emulatorPid))
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.SplitN(line, ":", 3); len(f) == 3 && f[2] != "/" {
			secrets = append(secrets, f[2])
		}
	}
	return secrets
}

// Defect 9 (disclosure): sandboxed code read the host data directory in
// /proc/self/mountinfo and the emulator's cgroup paths (its pid, the host's
// layout) in /proc/self/cgroup. Now nothing a sandboxed program can read —
// any process's mount tables, environment, cgroups, maps, fd and root links,
// /sys — shows the data directory, the sandbox's temp roots or the
// emulator's cgroups. By default (the FUSE view, where it can be mounted)
// there is no exception. With bind mounts there is one, which the kernel
// imposes: the root field of the /home/baponi and /volumes/<slug> lines of
// mountinfo is the bound directory's path within its filesystem. When the
// data directory is the root of its own filesystem (the mitigation
// SECURITY.md gives), that field is "/orgs/..." and the data directory's
// path shows nowhere.
func TestDefect9NoHostPathsInTheSandbox(t *testing.T) {
	requirePython(t)
	base, err := os.MkdirTemp("/var/tmp", "lbp-secret-") // not in the temp dir, to tell the two apart
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	_ = os.Chmod(base, 0o755)

	// The default view where FUSE can be mounted (as here): no host path
	// anywhere, mountinfo's root field included.
	t.Run("namespaces", func(t *testing.T) {
		dataDir := filepath.Join(base, "data")
		emu := startNS(t, emulator.Options{DataDir: dataDir})
		probeForHostPaths(t, emu.URL(), emu.APIKey(), secretPaths(dataDir, os.Getpid()), false, true)
	})

	// Bind mounts (--sandbox-fs bind, or where FUSE cannot be mounted):
	// the root field is the one exception.
	t.Run("bind", func(t *testing.T) {
		dataDir := filepath.Join(base, "bind")
		emu := startNS(t, emulator.Options{DataDir: dataDir, Sandbox: emulator.SandboxOptions{FS: "bind"}})
		probeForHostPaths(t, emu.URL(), emu.APIKey(), secretPaths(dataDir, os.Getpid()), true, false)
	})

	t.Run("data dir on its own filesystem", func(t *testing.T) {
		requireRoot(t, "mounts a tmpfs as the data directory")
		dataDir := filepath.Join(base, "ownfs")
		if err := os.Mkdir(dataDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", dataDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=64m,mode=0755"); err != nil {
			t.Skipf("cannot mount a tmpfs: %v", err)
		}
		t.Cleanup(func() { _ = unix.Unmount(dataDir, unix.MNT_DETACH) }) // after the emulator stops
		emu := startNS(t, emulator.Options{DataDir: dataDir, Sandbox: emulator.SandboxOptions{FS: "bind"}})
		probeForHostPaths(t, emu.URL(), emu.APIKey(), secretPaths(dataDir, os.Getpid()), false, false)
	})

	t.Run("nobody", func(t *testing.T) {
		prefix := asNobody(t)
		requireFuseAsNobody(t)
		dataDir := filepath.Join(base, "nobody")
		if err := os.Mkdir(dataDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if prefix != nil {
			if err := os.Chown(dataDir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}
		p := startSandboxBinary(t, prefix, nil, "--data-dir", dataDir)
		probeForHostPaths(t, p.url, emulator.DevAPIKey, secretPaths(dataDir, p.cmd.Process.Pid), false, true)
	})
}
