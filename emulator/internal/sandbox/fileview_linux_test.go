package sandbox

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// fuseUsable reports whether this process can open /dev/fuse (the sandbox
// opens it in a user namespace, which the kernel allows where the device
// itself is usable).
func fuseUsable() (bool, string) {
	fd, err := unix.Open("/dev/fuse", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, err.Error()
	}
	unix.Close(fd)
	return true, ""
}

// warnings counts the warnings logged through it, by message.
type warnings struct {
	mu sync.Mutex
	n  map[string]int
}

func (w *warnings) Enabled(context.Context, slog.Level) bool { return true }
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *warnings) WithGroup(string) slog.Handler            { return w }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.n[r.Message]++
	}
	return nil
}

// containing is how many warnings were logged with part in their message.
func (w *warnings) containing(part string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for msg, k := range w.n {
		if strings.Contains(msg, part) {
			n += k
		}
	}
	return n
}

// writeHome is a run that writes a file in its home and shows how
// /home/baponi is mounted.
func writeHome(home string) Spec {
	return Spec{Language: "bash", HomeDir: home,
		Code: []byte(`echo hi > /home/baponi/out && grep ' /home/baponi ' /proc/self/mountinfo`)}
}

// The default file view is auto, and the namespace probe decides it once:
// where the sandbox can mount FUSE, runs with a thread get the FUSE view
// (mountinfo shows the space's entry "/0" of the one FUSE mount as root,
// type fuse.localbaponi, no host path).
func TestFileViewDefaultIsAutoAndPicksFuse(t *testing.T) {
	if ok, why := fuseUsable(); !ok {
		t.Skipf("/dev/fuse cannot be opened here (%s): TestFileViewAutoFallsBackToBind covers this host", why)
	}
	r := newRunner(t, Options{})
	if r.opts.FS != FSAuto {
		t.Fatalf("default file view %q, want %q", r.opts.FS, FSAuto)
	}
	if v, why := r.FileView(), r.FileViewReason(); v != FSFuse || why != "" {
		t.Fatalf("FileView %q (%q) after the probe, want fuse", v, why)
	}
	home := t.TempDir()
	res := run(t, r, writeHome(home))
	mustSucceed(t, res)
	if res.FileView != FSFuse {
		t.Fatalf("run's file view %q, want fuse", res.FileView)
	}
	if f := strings.Fields(string(res.Stdout)); len(f) < 9 || f[3] != "/0" || !strings.Contains(string(res.Stdout), " - fuse.localbaponi ") {
		t.Fatalf("/home/baponi is not the FUSE view: %s", res.Stdout)
	}
	if strings.Contains(string(res.Stdout), home) {
		t.Fatalf("mountinfo shows the host path %s: %s", home, res.Stdout)
	}
	if b, err := os.ReadFile(filepath.Join(home, "out")); err != nil || string(b) != "hi\n" {
		t.Fatalf("the file written through FUSE: %q %v", b, err)
	}
}

// Where FUSE cannot be mounted (here: a device that does not exist, as in a
// container without /dev/fuse), auto falls back to bind mounts: the probe
// says why once, in the log and in FileViewReason, and runs work with the
// thread bound.
func TestFileViewAutoFallsBackToBind(t *testing.T) {
	logs := &warnings{n: map[string]int{}}
	const dev = "/nonexistent/fuse-device"
	r := newRunner(t, Options{FS: FSAuto, fuseDevice: dev, Logger: slog.New(logs)})
	if v := r.FileView(); v != FSBind {
		t.Fatalf("FileView %q, want bind", v)
	}
	if why := r.FileViewReason(); !strings.Contains(why, dev) {
		t.Fatalf("FileViewReason %q does not name the device", why)
	}
	home := t.TempDir()
	for range 2 {
		res := run(t, r, writeHome(home))
		mustSucceed(t, res)
		if res.FileView != FSBind {
			t.Fatalf("run's file view %q, want bind", res.FileView)
		}
		if strings.Contains(string(res.Stdout), "fuse") {
			t.Fatalf("/home/baponi is a FUSE mount: %s", res.Stdout)
		}
	}
	if b, err := os.ReadFile(filepath.Join(home, "out")); err != nil || string(b) != "hi\n" {
		t.Fatalf("the file written through the bind: %q %v", b, err)
	}
	if n := logs.containing("FUSE cannot be mounted"); n != 1 {
		t.Fatalf("the fallback was logged %d times, want once: %v", n, logs.n)
	}
}

// Asked for explicitly, the FUSE view does not fall back: a run that
// cannot mount it fails and says why.
func TestFileViewFuseDoesNotFallBack(t *testing.T) {
	const dev = "/nonexistent/fuse-device"
	r := newRunner(t, Options{FS: FSFuse, fuseDevice: dev})
	if v := r.FileView(); v != FSFuse {
		t.Fatalf("FileView %q, want fuse", v)
	}
	res := run(t, r, writeHome(t.TempDir()))
	if res.Status == StatusSuccess || !strings.Contains(res.Error, dev) {
		t.Fatalf("a run without its FUSE view: status %s error %q, want a failure naming %s", res.Status, res.Error, dev)
	}
	// A run without a thread needs no FUSE mount.
	mustSucceed(t, run(t, r, Spec{Language: "bash", Code: []byte("true")}))
}

// Quick runs with many volumes that they never touch succeed with the
// fuse view (when each space had a mount and a server of its own, a run
// that ended before a volume's server answered INIT failed with "init: no
// such device"; the conformance suite's quick bash runs met it).
func TestFileViewUntouchedVolumesDoNotFailTheRun(t *testing.T) {
	if ok, why := fuseUsable(); !ok {
		t.Skipf("/dev/fuse cannot be opened here (%s)", why)
	}
	r := newRunner(t, Options{FS: FSFuse})
	var vols []Mount
	for i := range 12 {
		vols = append(vols, Mount{HostDir: t.TempDir(), Slug: fmt.Sprintf("v%d", i), ReadOnly: i%2 == 1})
	}
	for i := range 20 {
		res := run(t, r, Spec{Language: "bash", Code: []byte("echo $((6*7))"), Volumes: vols})
		mustSucceed(t, res)
		if string(res.Stdout) != "42\n" || res.FileView != FSFuse {
			t.Fatalf("run %d: stdout %q, file view %q", i, res.Stdout, res.FileView)
		}
	}
}

// A child is spawned with its FUSE mount made when the runner's last run
// had spaces; one spawned without it (after runs without spaces) mounts it
// when its run turns out to need one. Runs with and without spaces, in an
// order that takes both paths, all get their view and their files.
func TestFileViewMountedAheadOrWhenNeeded(t *testing.T) {
	if ok, why := fuseUsable(); !ok {
		t.Skipf("/dev/fuse cannot be opened here (%s)", why)
	}
	r := newRunner(t, Options{FS: FSFuse})
	home := t.TempDir()
	vol := Mount{HostDir: t.TempDir(), Slug: "data"}
	for i, spaces := range []bool{false, true, true, true, false, false, true, true} {
		spec := Spec{Language: "bash", Code: []byte(fmt.Sprintf("echo %d > /tmp/x && echo ok", i))}
		if spaces {
			spec = Spec{Language: "bash", HomeDir: home, Volumes: []Mount{vol},
				Code: []byte(fmt.Sprintf("echo %d > /home/baponi/h%d && echo %d > /volumes/data/v%d && echo ok", i, i, i, i))}
		}
		res := run(t, r, spec)
		mustSucceed(t, res)
		if string(res.Stdout) != "ok\n" || (spaces && res.FileView != FSFuse) {
			t.Fatalf("run %d: stdout %q, file view %q", i, res.Stdout, res.FileView)
		}
		if spaces {
			for _, p := range []string{filepath.Join(home, fmt.Sprintf("h%d", i)), filepath.Join(vol.HostDir, fmt.Sprintf("v%d", i))} {
				if b, err := os.ReadFile(p); err != nil || string(b) != fmt.Sprintf("%d\n", i) {
					t.Fatalf("run %d: %s: %q %v", i, p, b, err)
				}
			}
		}
	}
	if n := r.ns.lateMounts.Load(); n == 0 {
		t.Fatal("no run's child mounted its view when it learned its run: the test missed that path")
	}
}
