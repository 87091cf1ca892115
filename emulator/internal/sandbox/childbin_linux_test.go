//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildChildBinary builds ./emulator/cmd/localbaponi-sandbox into dir
// with the extra go build flags.
func buildChildBinary(t *testing.T, dir string, flags ...string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to build the child binary")
	}
	bin := filepath.Join(dir, "localbaponi-sandbox")
	args := append([]string{"build", "-o", bin}, flags...)
	args = append(args, "github.com/localbaponi/localbaponi/emulator/cmd/localbaponi-sandbox")
	if out, err := exec.Command(goTool, args...).CombinedOutput(); err != nil {
		t.Fatalf("go build the child binary: %v\n%s", err, out)
	}
	return bin
}

// A runner given a separate child binary builds its sandboxes with it:
// runs with a thread and a volume work through it, in the default view.
func TestSeparateChildBinaryRuns(t *testing.T) {
	bin := buildChildBinary(t, t.TempDir())
	r := newRunner(t, Options{Binary: bin})
	if r.child != bin {
		t.Fatalf("the runner executes %q, want %q", r.child, bin)
	}
	home, vol := t.TempDir(), Mount{HostDir: t.TempDir(), Slug: "data"}
	for i := range 3 {
		res := run(t, r, Spec{Language: "bash", HomeDir: home, Volumes: []Mount{vol},
			Code: []byte("echo hi > /home/baponi/h && echo v > /volumes/data/v && cat /home/baponi/h && id -u")})
		mustSucceed(t, res)
		if got := string(res.Stdout); got != "hi\n1000\n" {
			t.Fatalf("run %d: stdout %q", i, got)
		}
	}
	if b, err := os.ReadFile(filepath.Join(vol.HostDir, "v")); err != nil || string(b) != "v\n" {
		t.Fatalf("the volume's file: %q %v", b, err)
	}
	// The children waiting for the next runs are that binary.
	waitWarm(t, r.ns)
	for range warmChildren {
		p := <-r.ns.warm
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.cmd.Process.Pid))
		p.discard()
		if err != nil || exe != bin {
			t.Errorf("a child spawned ahead runs %q (%v), want %q", exe, err, bin)
		}
	}
}

// A child binary is refused, with a message naming --sandbox-binary and
// why, when it speaks another protocol, when others may write it, or
// when it is not a child binary at all.
func TestSeparateChildBinaryRefused(t *testing.T) {
	dir := t.TempDir()
	other := buildChildBinary(t, dir, "-ldflags", "-X github.com/localbaponi/localbaponi/emulator/internal/sandbox/child.protocol=localbaponi-sandbox/0")
	writable := filepath.Join(t.TempDir(), "writable")
	b, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(writable, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(writable, 0o775); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{other, `speaks "localbaponi-sandbox/0"`},
		{writable, "lets others write it"},
		{"/bin/true", "not a localbaponi-sandbox binary"},
		{filepath.Join(dir, "missing"), "no such file"},
		{dir, "not a regular file"},
	} {
		r, err := NewRunner(Options{Isolation: IsolationNone, Binary: c.path})
		if err == nil {
			r.Close()
			t.Errorf("%s: accepted", c.path)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "--sandbox-binary") || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %q, want it to name --sandbox-binary and say %q", c.path, msg, c.want)
		}
	}
}
