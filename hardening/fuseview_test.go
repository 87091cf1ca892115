//go:build linux

package hardening

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator"
)

// TestFuseViewUploadDuringRun: through the FUSE view, the ordinary file
// operations work (python, mmap included), and a file the Files API
// uploads while code runs shows to it at once.
func TestFuseViewUploadDuringRun(t *testing.T) {
	requirePython(t)
	emu := startNS(t, emulator.Options{Sandbox: emulator.SandboxOptions{FS: "fuse"}})
	type result struct {
		res execResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := tryExecute(emu.URL(), emu.APIKey(), map[string]any{"thread_id": "sem", "timeout": 60, "code": fuseSemanticsCode})
		done <- result{res, err}
	}()
	// Upload once the code is waiting for it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := emu.ReadFile(emulator.Thread("sem"), "ready"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the code never got ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := emu.WriteFile(emulator.Thread("sem"), "late.txt", []byte("uploaded")); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := "hello world|hello|0o600|1000000000|b.txt|/etc/hostname:baponi|link EPERM|mapped|uid 1000|late uploaded\n"
	if !r.res.Success || r.res.Stdout != want {
		t.Fatalf("through the FUSE view:\n got %s\nwant stdout %q", r.res, want)
	}
	if b, err := emu.ReadFile(emulator.Thread("sem"), "d/e/b.txt"); err != nil || string(b) != "hello" {
		t.Errorf("what code wrote, read through the store: %q %v", b, err)
	}
}

const fuseSemanticsCode = `
import os, mmap, errno, time
os.chdir('/home/baponi')
out = []
open('a.txt', 'w').write('hello')
with open('a.txt', 'a') as f: f.write(' world')
out.append(open('a.txt').read())
os.makedirs('d/e', exist_ok=True)
os.rename('a.txt', 'd/e/b.txt')
os.truncate('d/e/b.txt', 5)
out.append(open('d/e/b.txt').read())
os.chmod('d/e/b.txt', 0o600)
out.append(oct(os.stat('d/e/b.txt').st_mode & 0o777))
os.utime('d/e/b.txt', (1000000000, 1000000000))
out.append(str(int(os.stat('d/e/b.txt').st_mtime)))
out.append(','.join(sorted(os.listdir('d/e'))))
os.symlink('/etc/hostname', 'ln')
out.append(os.readlink('ln') + ':' + open('ln').read().strip())
try:
    os.link('d/e/b.txt', 'hard'); out.append('link ok')
except OSError as e:
    out.append('link ' + errno.errorcode[e.errno])
with open('m', 'wb') as f: f.write(b'\0' * 4096)
with open('m', 'r+b') as f:
    m = mmap.mmap(f.fileno(), 4096); m[0:6] = b'mapped'; m.flush(); m.close()
out.append(open('m', 'rb').read(6).decode())
os.unlink('m'); os.remove('ln')
os.makedirs('gone/x'); os.rmdir('gone/x'); os.rmdir('gone')
out.append('uid %d' % os.stat('d').st_uid)
open('ready', 'w').close()
end = time.time() + 20
while time.time() < end and not os.path.exists('late.txt'):
    time.sleep(0.05)
out.append('late ' + (open('late.txt').read() if os.path.exists('late.txt') else 'missing'))
print('|'.join(out))
`

// TestFuseViewKill9: kill -9 of an emulator serving a run's FUSE view
// leaves no sandboxed process and no FUSE mount behind, as root and as
// nobody.
func TestFuseViewKill9(t *testing.T) {
	requirePython(t)
	asEachUser(t, "", "the root half", func(t *testing.T, user string, prefix []string) {
		if user == "nobody" {
			requireFuseAsNobody(t)
		}
		marker := fmt.Sprintf("fusebusy-%s-%d", user, time.Now().UnixNano())
		code := fmt.Sprintf(`# %s
f = open('/home/baponi/held', 'w')
f.write('x'); f.flush()
while True:
    pass
`, marker)
		p := startSandboxBinary(t, prefix, nil, "--sandbox-fs", "fuse")
		done := make(chan error, 1)
		go func() {
			_, err := tryExecute(p.url, emulator.DevAPIKey, map[string]any{"code": code, "thread_id": "k9", "timeout": 30})
			done <- err
		}()
		deadline := time.Now().Add(20 * time.Second)
		for len(processesWith(marker)) < 1 || len(fuseHomeMounts()) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the run did not start with a FUSE home (processes %v, mounts %v); emulator logs:\n%s",
					processesWith(marker), fuseHomeMounts(), p.logsString())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = p.cmd.Wait()
		<-done
		if left := waitGone(marker, 5*time.Second); len(left) > 0 {
			t.Fatalf("sandboxed code still runs 5 s after kill -9 of the emulator: %v", left)
		}
		end := time.Now().Add(5 * time.Second)
		for len(fuseHomeMounts()) > 0 && time.Now().Before(end) {
			time.Sleep(20 * time.Millisecond)
		}
		if m := fuseHomeMounts(); len(m) > 0 {
			t.Fatalf("a FUSE /home/baponi is still mounted 5 s after kill -9 of the emulator: %v", m)
		}
	})
}

// fuseHomeMounts lists the processes that see a FUSE /home/baponi.
func fuseHomeMounts() []string {
	var out []string
	files, _ := filepath.Glob("/proc/[0-9]*/mountinfo")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if fl := strings.Fields(line); len(fl) > 4 && fl[4] == "/home/baponi" && strings.Contains(line, " - fuse.localbaponi ") {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// TestFuseViewSymlinkRace: defect 1's attack against the FUSE server. One
// execution swaps a directory of a shared volume with a symlink to a host
// directory (renameat2(RENAME_EXCHANGE) in a loop) while other executions
// of the same organisation write, append, chmod, truncate, utime, create
// and remove below that directory through their FUSE views. The server
// (root) must never act on the host directory: its files keep their owner,
// mode, times and content, and nothing is added to it.
func TestFuseViewSymlinkRace(t *testing.T) {
	requireRoot(t, "the server acts as root only when the emulator runs as root")
	requirePython(t)
	emu := startNS(t, emulator.Options{Sandbox: emulator.SandboxOptions{FS: "fuse"}})
	target := t.TempDir()
	const files = 50
	for i := range files {
		if err := os.WriteFile(filepath.Join(target, fmt.Sprintf("f%d", i)), []byte("host"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	before := hostTree(t, target)
	vol := "/volumes/" + emulator.DevRWVolume
	racer := fmt.Sprintf(`
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
os.chdir(%q)
os.makedirs('d', exist_ok=True)
for i in range(%d):
    open('d/f%%d' %% i, 'w').write('mine')
if not os.path.islink('l'):
    os.symlink(%q, 'l')
end = time.time() + 5
n = 0
while time.time() < end:
    if libc.renameat2(-100, b'd', -100, b'l', 2) == 0:  # RENAME_EXCHANGE
        n += 1
print(n)
`, vol, files, target)
	victim := fmt.Sprintf(`
import os, time
end = time.time() + 4
n = 0
while time.time() < end:
    for i in range(%d):
        p = %q + '/d/f%%d' %% i
        for op in (lambda: open(p, 'a').write('x'), lambda: os.chmod(p, 0o666), lambda: os.truncate(p, 1),
                   lambda: os.utime(p, (1, 1)), lambda: open(p + '.new', 'w').write('n'), lambda: os.unlink(p + '.new')):
            try:
                op(); n += 1
            except OSError:
                pass
print(n)
`, files, vol)
	done := make(chan execResult, 1)
	go func() {
		done <- execute(t, emu.URL(), emu.APIKey(), map[string]any{"code": racer, "timeout": 30})
	}()
	time.Sleep(500 * time.Millisecond)
	var ops int
	for range 2 {
		res := execute(t, emu.URL(), emu.APIKey(), map[string]any{"code": victim, "timeout": 30})
		if !res.Success {
			t.Fatalf("victim: %s", res)
		}
		var n int
		fmt.Sscan(res.Stdout, &n)
		ops += n
	}
	racerRes := <-done
	if !racerRes.Success {
		t.Fatalf("racer: %s", racerRes)
	}
	t.Logf("%s exchanges, %d operations below the swapped directory", strings.TrimSpace(racerRes.Stdout), ops)
	if ops < 100 {
		t.Fatalf("only %d operations succeeded: the race did not run", ops)
	}
	if after := hostTree(t, target); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("the host directory changed:\nbefore %v\nafter  %v", before, after)
	}
}

// hostTree describes every entry below dir: name, owner, mode, times and
// content.
func hostTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		b := []byte{}
		if fi.Mode().IsRegular() {
			b, _ = os.ReadFile(p)
		}
		out = append(out, fmt.Sprintf("%s %d:%d %o %d.%d %q", p, st.Uid, st.Gid, st.Mode, st.Mtim.Sec, st.Mtim.Nsec, b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
