//go:build linux

package hardening

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/localbaponi/localbaponi/emulator"
)

// fdProbe is code that reports which descriptors above 2 it holds and tries
// to read and write through each of them.
const fdProbe = `
import os
found = []
for fd in range(3, 256):
    try:
        os.fstat(fd)
    except OSError:
        continue
    got = ''
    try:
        got = os.pread(fd, 64, 0).decode(errors='replace')
    except OSError as e:
        got = 'read:' + str(e.errno)
    try:
        os.write(fd, b'PWNED-BY-SANDBOX\n')
        got += ' wrote'
    except OSError as e:
        pass
    found.append('%d=%s' % (fd, got))
print('fds above 2: ' + (','.join(found) if found else 'none'))
`

// inheritedFiles opens, without close-on-exec, a host file with a secret
// and a host file open for appending, as a shell or CI runner might leave
// them to the emulator.
func inheritedFiles(t *testing.T) (secret, log *os.File, logPath string) {
	t.Helper()
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o755)
	sp, lp := filepath.Join(dir, "secret"), filepath.Join(dir, "log")
	if err := os.WriteFile(sp, []byte("HOST-SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lp, []byte("host log\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(lp, 0o666)
	open := func(p string, flags int) *os.File {
		fd, err := syscall.Open(p, flags, 0) // no O_CLOEXEC
		if err != nil {
			t.Fatal(err)
		}
		f := os.NewFile(uintptr(fd), p)
		t.Cleanup(func() { f.Close() })
		return f
	}
	return open(sp, syscall.O_RDONLY), open(lp, syscall.O_WRONLY|syscall.O_APPEND), lp
}

func checkFds(t *testing.T, how string, res execResult, logPath string) {
	t.Helper()
	if !res.Success {
		t.Fatalf("%s: probe failed: %s", how, res)
	}
	if got := strings.TrimSpace(res.Stdout); got != "fds above 2: none" {
		t.Errorf("%s: sandboxed code holds descriptors it must not: %s", how, got)
	}
	if b, _ := os.ReadFile(logPath); string(b) != "host log\n" {
		t.Errorf("%s: code wrote to a host file through an inherited descriptor: %q", how, b)
	}
}

// TestDefect2InheritedFds: descriptors the emulator inherited without
// close-on-exec (opened here before the emulator starts), and the
// sandbox's own config pipe, must not be open in sandboxed code. Covered:
// the emulator in this process (namespaces and the plain fallback), and the
// localbaponi binary started with the descriptors as fds 3 and 4, as root
// and as the unprivileged user nobody.
func TestDefect2InheritedFds(t *testing.T) {
	requirePython(t)
	secret, log, logPath := inheritedFiles(t)
	_, _ = secret, log

	t.Run("in-process/namespaces", func(t *testing.T) {
		emu := startNS(t, emulator.Options{})
		checkFds(t, "namespaces", execute(t, emu.URL(), emu.APIKey(), map[string]any{"code": fdProbe, "timeout": 20}), logPath)
	})
	t.Run("in-process/none", func(t *testing.T) {
		emu := emulator.RunT(t, emulator.Options{Sandbox: emulator.SandboxOptions{Isolation: "none"}})
		checkFds(t, "none", execute(t, emu.URL(), emu.APIKey(), map[string]any{"code": fdProbe, "timeout": 20}), logPath)
	})
	asEachUser(t, "binary/", "the binary runs as the test's user in the nobody case", func(t *testing.T, user string, prefix []string) {
		p := startSandboxBinary(t, prefix, []*os.File{secret, log})
		res := execute(t, p.url, emulator.DevAPIKey, map[string]any{"code": fdProbe, "timeout": 20})
		checkFds(t, fmt.Sprintf("binary as %s", user), res, logPath)
	})
}
