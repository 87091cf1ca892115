//go:build linux

package hardening

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/localbaponi/localbaponi/emulator"
)

// quotaView is what a size limit looks like to code in one file view.
type quotaView struct {
	// fs is the view; opt is the --sandbox-fs that gives it ("": none,
	// the default).
	fs, opt, errno, strerror string
	// manyFiles is the error of a run whose many small files reach the
	// limit: fuse refuses the write past it, bind's watcher ends the run.
	manyFiles string
}

var quotaViews = []quotaView{
	{"fuse", "", "ENOSPC", "No space left on device", "Disk quota reached"},
	{"bind", "bind", "EFBIG", "File too large", "Disk quota exceeded"},
}

// TestDefect5DiskQuota: code used to write 2 GiB into /home/baponi in 2 s.
// With an 8 MiB thread and volume limit (thread_quota_mib, quota_mib):
//   - fuse view (the default where FUSE can be mounted, as here): the
//     write past the limit fails with ENOSPC, whether it grows one file or
//     adds many, and the space never holds more than the limit (no
//     overshoot);
//   - bind view (--sandbox-fs bind): one file cannot grow past what the limit leaves (EFBIG:
//     the per-process file size limit), many files together end the run
//     with an error naming the limit;
//
// in both the result names the limit; an upload_url that would go over is
// refused with 400 validation_error naming the limit, and the sandbox's
// /tmp and /dev/shm are capped (ENOSPC).
func TestDefect5DiskQuota(t *testing.T) {
	requirePython(t)
	cfg := emulator.DevConfig()
	cfg.Orgs[0].ThreadQuotaMiB = 8
	for i := range cfg.Orgs[0].Volumes {
		if cfg.Orgs[0].Volumes[i].Slug == emulator.DevRWVolume {
			cfg.Orgs[0].Volumes[i].QuotaMiB = 8
		}
	}
	t.Run("nobody", func(t *testing.T) { diskQuotaAsNobody(t) })
	for _, v := range quotaViews {
		t.Run(v.fs, func(t *testing.T) {
			emu := startNS(t, emulator.Options{Config: &cfg, Sandbox: emulator.SandboxOptions{FS: v.opt}})
			diskQuota(t, emu, v)
		})
	}
	emu := startNS(t, emulator.Options{Config: &cfg})
	key := emu.APIKey()

	// upload_url over the limit: 400 naming the limit.
	for _, c := range []struct{ source, id, limit string }{
		{"thread", "q3", "thread_quota_mib"}, {"volume", emulator.DevRWVolume, "quota_mib"},
	} {
		code, body := apiCall(t, http.MethodPost, emu.URL(), key, "/v1/files/upload_url",
			map[string]any{"source": c.source, "id": c.id, "path": "over.bin", "content_length": 9 << 20})
		var env struct{ Error, Message string }
		_ = json.Unmarshal(body, &env)
		if code != http.StatusBadRequest || env.Error != "validation_error" || !strings.Contains(env.Message, c.limit) || !strings.Contains(env.Message, "8 MiB") {
			t.Errorf("upload_url of 9 MiB into %s %s: %d %s", c.source, c.id, code, body)
		}
	}
	if code, body := apiCall(t, http.MethodPost, emu.URL(), key, "/v1/files/upload_url",
		map[string]any{"source": "thread", "id": "q3", "path": "fits.bin", "content_length": 1 << 20}); code != http.StatusOK {
		t.Errorf("upload_url of 1 MiB into an empty thread: %d %s", code, body)
	}

	// /tmp and /dev/shm are capped: filling them fails with ENOSPC (an
	// emulator with the default limits, so no file size limit gets first).
	dflt := startNS(t, emulator.Options{})
	res := execute(t, dflt.URL(), dflt.APIKey(), map[string]any{"timeout": 60, "code": `
import errno
out = []
for d in ['/tmp', '/dev/shm']:
    n = 0
    try:
        with open(d + '/fill', 'wb') as f:
            for i in range(2048):
                f.write(b'x' * (1 << 20)); f.flush(); n += 1
        out.append('%s:no-limit' % d)
    except OSError as e:
        out.append('%s:%s' % (d, errno.errorcode[e.errno]))
    import os; os.unlink(d + '/fill')
print(' '.join(out))
`})
	if !res.Success || res.Stdout != "/tmp:ENOSPC /dev/shm:ENOSPC\n" {
		t.Errorf("filling /tmp and /dev/shm: %s", res)
	}
}

// diskQuota runs the one-file and many-files halves in one file view.
func diskQuota(t *testing.T, emu *emulator.Emulator, v quotaView) {
	key := emu.APIKey()
	// One big file: the write past the limit fails inside the sandbox.
	res := execute(t, emu.URL(), key, map[string]any{"thread_id": "q1", "timeout": 30, "code": `
import errno
f = open('/home/baponi/big.bin', 'wb')
n = 0
try:
    for i in range(40):
        f.write(b'x' * (1 << 20)); f.flush(); n += 1
    print('wrote', n, 'MiB')
except OSError as e:
    print(errno.errorcode[e.errno], 'after', n, 'MiB')
`})
	if !res.Success || !strings.HasPrefix(res.Stdout, v.errno+" after ") {
		t.Errorf("a 40 MiB file under an 8 MiB limit: %s", res)
	}
	if v.fs == "fuse" && res.Stdout != "ENOSPC after 8 MiB\n" {
		t.Errorf("the FUSE view did not take exactly 8 MiB: %s", res)
	}
	// Uncaught, that write fails the run, and the result names the limit
	// the code ran into.
	for i, c := range []struct{ dir, limit string }{
		{"/home/baponi", "thread_quota_mib"}, {"/volumes/" + emulator.DevRWVolume, "quota_mib"},
	} {
		thread := []string{"q4", "q4v"}[i]
		res = execute(t, emu.URL(), key, map[string]any{"thread_id": thread, "timeout": 30,
			"code": "open('" + c.dir + "/big.bin', 'wb').write(b'x' * (40 << 20))"})
		if res.Success || res.Error == nil || !strings.Contains(*res.Error, v.errno) || !strings.Contains(*res.Error, c.limit) ||
			!strings.Contains(*res.Error, c.dir) || !strings.Contains(*res.Error, "8 MiB") || !strings.Contains(res.Stderr, v.strerror) {
			t.Errorf("an uncaught write of 40 MiB into %s under an 8 MiB limit: %s", c.dir, res)
		}
		if res := execute(t, emu.URL(), key, map[string]any{"thread_id": thread, "timeout": 30, "language": "bash", "code": "rm " + c.dir + "/big.bin"}); !res.Success {
			t.Fatalf("removing the big file: %s", res)
		}
	}
	// Many files: the run fails with an error naming the limit; with
	// fuse, the space holds at most its limit.
	for i, dir := range []string{"/home/baponi", "/volumes/" + emulator.DevRWVolume} {
		thread := []string{"q2", "q2v"}[i]
		res = execute(t, emu.URL(), key, map[string]any{"thread_id": thread, "timeout": 30, "code": `
import time
for i in range(40):
    open('` + dir + `/f%d' % i, 'wb').write(b'x' * (1 << 20))
time.sleep(10)
print('not stopped')
`})
		if res.Success || res.Error == nil || !strings.Contains(*res.Error, v.manyFiles) ||
			!strings.Contains(*res.Error, dir) || !strings.Contains(*res.Error, "8 MiB") {
			t.Errorf("40 files of 1 MiB in %s under an 8 MiB limit: %s", dir, res)
		}
		if v.fs == "fuse" {
			res = execute(t, emu.URL(), key, map[string]any{"thread_id": thread, "timeout": 30, "code": `
import os
print(sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk('` + dir + `') for f in fs))
`})
			if !res.Success || res.Stdout != fmt.Sprintf("%d\n", 8<<20) {
				t.Errorf("after 40 files of 1 MiB, %s should hold exactly its 8 MiB limit: %s", dir, res)
			}
			res = execute(t, emu.URL(), key, map[string]any{"thread_id": thread, "timeout": 30, "language": "bash", "code": "rm " + dir + "/f*"})
			if !res.Success {
				t.Fatalf("removing the small files: %s", res)
			}
		}
	}
	// Later runs of the full thread still start (reading is fine).
	if res := execute(t, emu.URL(), key, map[string]any{"thread_id": "q1", "timeout": 30, "code": "import os; print(len(os.listdir('/home/baponi')) > 0)"}); !res.Success || res.Stdout != "True\n" {
		t.Errorf("a read-only run of the full thread: %s", res)
	}
}

// diskQuotaAsNobody runs the one-file and many-files halves against the
// localbaponi binary running as the unprivileged user nobody (the default
// view: fuse).
func diskQuotaAsNobody(t *testing.T) {
	prefix := asNobody(t)
	requireFuseAsNobody(t)
	dir, err := os.MkdirTemp("", "localbaponi-quota-") // readable by nobody, unlike t.TempDir's parent
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	_ = os.Chmod(dir, 0o755)
	conf := filepath.Join(dir, "quota.yaml")
	yaml := "orgs:\n  - id: org_local\n    thread_quota_mib: 8\n    keys:\n      - key: " + emulator.DevAPIKey + "\n"
	if err := os.WriteFile(conf, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startSandboxBinary(t, prefix, nil, "--config", conf)
	res := execute(t, p.url, emulator.DevAPIKey, map[string]any{"thread_id": "n1", "timeout": 30, "code": `
import errno
try:
    open('/home/baponi/big.bin', 'wb').write(b'x' * (40 << 20))
    print('no limit')
except OSError as e:
    print(errno.errorcode[e.errno])
`})
	if !res.Success || res.Stdout != "ENOSPC\n" {
		t.Errorf("as nobody, a 40 MiB file under an 8 MiB limit: %s", res)
	}
	res = execute(t, p.url, emulator.DevAPIKey, map[string]any{"thread_id": "n3", "timeout": 30,
		"code": "open('/home/baponi/big.bin', 'wb').write(b'x' * (40 << 20))"})
	if res.Success || res.Error == nil || !strings.Contains(*res.Error, "ENOSPC") || !strings.Contains(*res.Error, "thread_quota_mib") {
		t.Errorf("as nobody, an uncaught write of 40 MiB under an 8 MiB limit: %s", res)
	}
	res = execute(t, p.url, emulator.DevAPIKey, map[string]any{"thread_id": "n2", "timeout": 30, "code": `
import time
for i in range(40):
    open('/home/baponi/f%d' % i, 'wb').write(b'x' * (1 << 20))
time.sleep(10)
`})
	if res.Success || res.Error == nil || !strings.Contains(*res.Error, "Disk quota reached") {
		t.Errorf("as nobody, 40 files of 1 MiB under an 8 MiB limit: %s", res)
	}
}
