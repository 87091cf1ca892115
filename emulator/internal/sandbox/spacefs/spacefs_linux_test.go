//go:build linux

package spacefs

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/localbaponi/localbaponi/emulator/internal/sandbox/child"
)

// serverEnv makes the test binary a space server (TestMain): the server
// runs in a process of its own, as in the emulator, because a process
// that serves a FUSE mount and uses it too can deadlock (a thread blocked
// on the mount cannot stop for the Go runtime's stop-the-world, which the
// serving goroutines then wait for).
const serverEnv = "SPACEFS_TEST_SERVE"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(serverEnv); cfg != "" {
		os.Exit(serveForTest(cfg))
	}
	os.Exit(m.Run())
}

// testServe is what the test passes to its server process.
type testServe struct {
	Mnt, Back string
	O         Options
	// Mux is the spaces (their Back and O), served as the entries "0",
	// "1", … of the mount at Mnt (ServeMux, Attach), as the sandbox does.
	Mux []testServe
	// Hold, when set, is a directory: the server holds every FSYNC until
	// the file "release" is in it, and makes the file "held" there while
	// it holds one.
	Hold string
}

// serveForTest mounts and serves the spaces, says "ready", answers "stat"
// lines on stdin with the first space's "<used> <hit>", and ends at EOF.
func serveForTest(cfg string) int {
	var c testServe
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		fmt.Println("bad config:", err)
		return 2
	}
	return serveMuxForTest(c)
}

func serveMuxForTest(c testServe) int {
	if c.Hold != "" {
		testBeforeServe = func(req []byte) {
			if len(req) < 8 || binary.NativeEndian.Uint32(req[4:8]) != opFsync {
				return
			}
			_ = os.WriteFile(filepath.Join(c.Hold, "held"), nil, 0o644)
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if _, err := os.Stat(filepath.Join(c.Hold, "release")); err == nil {
					return
				}
			}
		}
	}
	dev, err := child.MountFUSE("", c.Mnt)
	if err != nil {
		fmt.Println("mount:", err)
		return 3
	}
	m, err := ServeMux(dev)
	if err != nil {
		fmt.Println("serve:", err)
		return 2
	}
	var opts []Options
	for _, s := range c.Mux {
		root, err := os.OpenFile(s.Back, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
		if err != nil {
			fmt.Println(err)
			return 2
		}
		s.O.Root = root
		opts = append(opts, s.O)
	}
	fss, err := m.Attach(opts)
	if err != nil {
		fmt.Println("attach:", err)
		return 2
	}
	if _, err := m.Attach(nil); !errors.Is(err, ErrAttached) {
		fmt.Println("a second Attach:", err)
		return 2
	}
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		fmt.Println(fss[0].Used(), fss[0].QuotaHit())
	}
	_ = unix.Unmount(c.Mnt, unix.MNT_DETACH)
	select {
	case <-fss[0].Done():
		return 0
	case <-time.After(10 * time.Second):
		return 4
	}
}

// server is a space served by another process of the test binary.
type server struct {
	pid int
	in  io.WriteCloser
	out *bufio.Reader
}

func (s *server) stat(t *testing.T) (int64, bool) {
	t.Helper()
	if _, err := io.WriteString(s.in, "stat\n"); err != nil {
		t.Fatal(err)
	}
	line, err := s.out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var used int64
	var hit bool
	if _, err := fmt.Sscan(line, &used, &hit); err != nil {
		t.Fatalf("server said %q: %v", line, err)
	}
	return used, hit
}

// Used is what the server counts the space holds.
func (s *server) Used(t *testing.T) int64 { u, _ := s.stat(t); return u }

// QuotaHit is whether the server refused a change for the size limit.
func (s *server) QuotaHit(t *testing.T) bool { _, h := s.stat(t); return h }

// mountT serves a new space (a directory of its own) at a mount point of
// the test's, as root in the host's mount namespace, from a server
// process, and unmounts it at the end. It returns the mount point and the
// backing directory.
func mountT(t *testing.T, o Options) (string, string, *server) {
	t.Helper()
	mnt, backs, s := mountSpacesT(t, []Options{o})
	return filepath.Join(mnt, "0"), backs[0], s
}

// mountSpacesT serves spaces as the entries "0", "1", … of one mount (a
// Mux, as the sandbox does) and returns the mount point and the spaces'
// backing directories.
func mountSpacesT(t *testing.T, opts []Options) (string, []string, *server) {
	t.Helper()
	return mountSpacesCfgT(t, opts, "")
}

// mountSpacesCfgT is mountSpacesT with testServe.Hold.
func mountSpacesCfgT(t *testing.T, opts []Options, hold string) (string, []string, *server) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting FUSE in the test's own namespace needs root (the sandbox tests cover the unprivileged case)")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse")
	}
	base := t.TempDir()
	mnt := filepath.Join(base, "mnt")
	must(t, os.Mkdir(mnt, 0o755))
	var spaces []testServe
	var backs []string
	for i, o := range opts {
		backing := filepath.Join(base, fmt.Sprintf("space%d", i))
		must(t, os.Mkdir(backing, 0o755))
		if o.InsideUID == 0 {
			o.InsideUID, o.InsideGID = 1000, 1000
		}
		spaces = append(spaces, testServe{Back: backing, O: o})
		backs = append(backs, backing)
	}
	cfg, _ := json.Marshal(testServe{Mnt: mnt, Mux: spaces, Hold: hold})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serverEnv+"="+string(cfg))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	must(t, err)
	outR, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	s := &server{pid: cmd.Process.Pid, in: in, out: bufio.NewReader(outR)}
	t.Cleanup(func() {
		_ = unix.Unmount(mnt, unix.MNT_DETACH)
		in.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the server process: %v", err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Error("the server did not end after the unmount")
		}
	})
	line, err := s.out.ReadString('\n')
	if line == "mount: " || strings.HasPrefix(line, "mount:") {
		t.Skipf("cannot mount FUSE here: %s", line)
	}
	if err != nil || line != "ready\n" {
		t.Fatalf("the server process said %q (%v)", line, err)
	}
	return mnt, backs, s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

// TestSemantics: the ordinary file operations through the view reach the
// space, with the owner and mode asked for.
func TestSemantics(t *testing.T) {
	mnt, back, _ := mountT(t, Options{Chown: true, UID: 65534, GID: 65534, RootMapped: true})
	p := func(s string) string { return filepath.Join(mnt, s) }
	h := func(s string) string { return filepath.Join(back, s) }

	must(t, os.WriteFile(p("a.txt"), []byte("hello"), 0o640))
	if b, err := os.ReadFile(h("a.txt")); err != nil || string(b) != "hello" {
		t.Fatalf("host copy: %q %v", b, err)
	}
	var st unix.Stat_t
	must(t, unix.Lstat(h("a.txt"), &st))
	if st.Uid != 65534 || st.Gid != 65534 || st.Mode&0o7777 != 0o640 {
		t.Errorf("created file on the host: uid %d gid %d mode %o", st.Uid, st.Gid, st.Mode&0o7777)
	}
	must(t, unix.Lstat(p("a.txt"), &st))
	if st.Uid != 1000 || st.Gid != 1000 {
		t.Errorf("the sandbox user's file shows as %d:%d in the view", st.Uid, st.Gid)
	}
	// append, read back, truncate
	f, err := os.OpenFile(p("a.txt"), os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.WriteString(" world")
	must(t, err)
	must(t, f.Close())
	if b, _ := os.ReadFile(p("a.txt")); string(b) != "hello world" {
		t.Errorf("after append: %q", b)
	}
	must(t, os.Truncate(p("a.txt"), 4))
	if b, _ := os.ReadFile(h("a.txt")); string(b) != "hell" {
		t.Errorf("after truncate: %q", b)
	}
	// O_TRUNC on open
	must(t, os.WriteFile(p("a.txt"), []byte("xy"), 0o600))
	if b, _ := os.ReadFile(h("a.txt")); string(b) != "xy" {
		t.Errorf("after rewrite: %q", b)
	}
	// chmod, utimes
	must(t, os.Chmod(p("a.txt"), 0o604))
	must(t, unix.Lstat(h("a.txt"), &st))
	if st.Mode&0o7777 != 0o604 {
		t.Errorf("chmod: mode %o", st.Mode&0o7777)
	}
	when := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	must(t, os.Chtimes(p("a.txt"), when, when))
	if fi, err := os.Stat(h("a.txt")); err != nil || !fi.ModTime().Equal(when) {
		t.Errorf("utimes: %v %v", fi.ModTime(), err)
	}
	// mkdir, nested files, readdir, rename, rmdir
	must(t, os.MkdirAll(p("d/e"), 0o750))
	must(t, unix.Lstat(h("d/e"), &st))
	if st.Uid != 65534 || st.Mode&0o7777 != 0o750 {
		t.Errorf("mkdir on the host: uid %d mode %o", st.Uid, st.Mode&0o7777)
	}
	for i := range 5 {
		must(t, os.WriteFile(p(fmt.Sprintf("d/e/f%d", i)), []byte{byte(i)}, 0o644))
	}
	ents, err := os.ReadDir(p("d/e"))
	must(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"f0", "f1", "f2", "f3", "f4"}) {
		t.Errorf("readdir: %v", names)
	}
	must(t, os.Rename(p("d/e/f0"), p("d/moved")))
	if _, err := os.Stat(h("d/moved")); err != nil {
		t.Errorf("rename: %v", err)
	}
	must(t, os.Rename(p("d/e"), p("e2")))
	if b, err := os.ReadFile(p("e2/f3")); err != nil || !bytes.Equal(b, []byte{3}) {
		t.Errorf("after a directory rename: %v %v", b, err)
	}
	must(t, os.Remove(p("e2/f1")))
	if _, err := os.Stat(h("e2/f1")); !os.IsNotExist(err) {
		t.Errorf("unlink: %v", err)
	}
	if err := os.Remove(p("e2")); errnoOf(err) != unix.ENOTEMPTY {
		t.Errorf("rmdir of a full directory: %v", err)
	}
	must(t, os.RemoveAll(p("e2")))
	if _, err := os.Stat(h("e2")); !os.IsNotExist(err) {
		t.Errorf("rmdir: %v", err)
	}
	// symlinks are stored as they are; the server never follows them
	must(t, os.Symlink("/etc/passwd", p("ln")))
	if l, err := os.Readlink(h("ln")); err != nil || l != "/etc/passwd" {
		t.Errorf("symlink on the host: %q %v", l, err)
	}
	if l, err := os.Readlink(p("ln")); err != nil || l != "/etc/passwd" {
		t.Errorf("readlink: %q %v", l, err)
	}
	must(t, unix.Lstat(h("ln"), &st))
	if st.Uid != 65534 {
		t.Errorf("symlink owner %d", st.Uid)
	}
	// hard links and devices are refused
	if err := os.Link(p("a.txt"), p("hard")); errnoOf(err) != unix.EPERM {
		t.Errorf("link: %v", err)
	}
	if err := unix.Mknod(p("fifo"), unix.S_IFIFO|0o644, 0); errnoOf(err) != unix.EPERM {
		t.Errorf("mknod fifo: %v", err)
	}
	// RENAME_EXCHANGE and NOREPLACE
	must(t, os.WriteFile(p("x"), []byte("X"), 0o644))
	must(t, os.WriteFile(p("y"), []byte("Y"), 0o644))
	must(t, unix.Renameat2(unix.AT_FDCWD, p("x"), unix.AT_FDCWD, p("y"), unix.RENAME_EXCHANGE))
	if b, _ := os.ReadFile(p("x")); string(b) != "Y" {
		t.Errorf("exchange: x=%q", b)
	}
	if err := unix.Renameat2(unix.AT_FDCWD, p("x"), unix.AT_FDCWD, p("y"), unix.RENAME_NOREPLACE); errnoOf(err) != unix.EEXIST {
		t.Errorf("noreplace: %v", err)
	}
	// mmap write, from another process: a page fault on a FUSE mapping
	// served by this process would deadlock with the Go runtime's
	// stop-the-world (in the sandbox, code is always another process).
	if py, err := exec.LookPath("python3"); err == nil {
		must(t, os.WriteFile(p("m"), make([]byte, 4096), 0o644))
		out, err := exec.Command(py, "-c", `import mmap, sys
with open(sys.argv[1], 'r+b') as f:
    m = mmap.mmap(f.fileno(), 4096)
    m[0:6] = b'mapped'
    m.flush(); m.close()`, p("m")).CombinedOutput()
		if err != nil {
			t.Fatalf("mmap write: %v: %s", err, out)
		}
		if b, _ := os.ReadFile(h("m")); !bytes.HasPrefix(b, []byte("mapped")) {
			t.Errorf("mmap write did not reach the host: %q", b[:8])
		}
	}
}

// TestQuota: no change takes the space over its limit; each past it fails
// with ENOSPC, and the host holds at most the limit.
func TestQuota(t *testing.T) {
	const limit = 1 << 20
	mnt, back, srv := mountT(t, Options{Quota: limit, Used: 100 << 10})
	p := func(s string) string { return filepath.Join(mnt, s) }
	must(t, os.WriteFile(filepath.Join(back, "old"), make([]byte, 100<<10), 0o644)) // what Used says

	f, err := os.Create(p("big"))
	must(t, err)
	_, err = f.Write(make([]byte, limit-100<<10))
	must(t, err)
	if _, err := f.Write([]byte{1}); errnoOf(err) != unix.ENOSPC {
		t.Errorf("one byte past the limit: %v", err)
	}
	if err := f.Truncate(limit); errnoOf(err) != unix.ENOSPC {
		t.Errorf("truncate past the limit: %v", err)
	}
	if err := unix.Fallocate(int(f.Fd()), 0, 0, limit); errnoOf(err) != unix.ENOSPC {
		t.Errorf("fallocate past the limit: %v", err)
	}
	if _, err := f.WriteAt([]byte{1}, 10<<20); errnoOf(err) != unix.ENOSPC {
		t.Errorf("a write far past the end (a hole): %v", err)
	}
	f.Close()
	if !srv.QuotaHit(t) {
		t.Error("QuotaHit is false")
	}
	// Many small files stop exactly at the limit too.
	must(t, os.Remove(p("big")))
	var n int
	for n = 0; n < 100; n++ {
		if err := os.WriteFile(p(fmt.Sprintf("s%d", n)), make([]byte, 20<<10), 0o644); err != nil {
			if errnoOf(err) != unix.ENOSPC {
				t.Fatalf("small file %d: %v", n, err)
			}
			break
		}
	}
	if want := (limit - 100<<10) / (20 << 10); n != want {
		t.Errorf("%d small files fit, want %d", n, want)
	}
	if total := sumSizes(t, back); total > limit {
		t.Errorf("the space holds %d bytes, over its limit of %d", total, limit)
	}
	// Removing gives the room back; an overwrite counts only what grows.
	must(t, os.Remove(p("s0")))
	must(t, os.WriteFile(p("s1"), make([]byte, 40<<10), 0o644))
	if used, total := srv.Used(t), sumSizes(t, back); used != total {
		t.Errorf("the server counts %d bytes, the space holds %d", used, total)
	}
	var sf unix.Statfs_t
	must(t, unix.Statfs(mnt, &sf))
	if sf.Blocks*uint64(sf.Bsize) != limit {
		t.Errorf("statfs size %d, want the limit %d", sf.Blocks*uint64(sf.Bsize), limit)
	}
}

func sumSizes(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	must(t, filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			total += fi.Size()
		}
		return err
	}))
	return total
}

// TestReadOnly: a read-only space refuses every change with EROFS.
func TestReadOnly(t *testing.T) {
	mnt, back, _ := mountT(t, Options{ReadOnly: true})
	must(t, os.WriteFile(filepath.Join(back, "r"), []byte("data"), 0o644))
	if b, err := os.ReadFile(filepath.Join(mnt, "r")); err != nil || string(b) != "data" {
		t.Fatalf("read: %q %v", b, err)
	}
	for name, err := range map[string]error{
		"create": os.WriteFile(filepath.Join(mnt, "w"), nil, 0o644),
		"write":  os.WriteFile(filepath.Join(mnt, "r"), nil, 0o644),
		"mkdir":  os.Mkdir(filepath.Join(mnt, "d"), 0o755),
		"remove": os.Remove(filepath.Join(mnt, "r")),
		"chmod":  os.Chmod(filepath.Join(mnt, "r"), 0o600),
	} {
		if errnoOf(err) != unix.EROFS {
			t.Errorf("%s: %v, want EROFS", name, err)
		}
	}
}

// TestStoreChangesVisible: what the store writes or removes in the space
// while the view is mounted shows at once.
func TestStoreChangesVisible(t *testing.T) {
	mnt, back, _ := mountT(t, Options{})
	must(t, os.WriteFile(filepath.Join(mnt, "f"), []byte("one"), 0o644))
	if b, _ := os.ReadFile(filepath.Join(mnt, "f")); string(b) != "one" {
		t.Fatalf("%q", b)
	}
	// The store replaces files by renaming a new one over them.
	must(t, os.WriteFile(filepath.Join(back, ".tmp"), []byte("two!"), 0o644))
	must(t, os.Rename(filepath.Join(back, ".tmp"), filepath.Join(back, "f")))
	if b, err := os.ReadFile(filepath.Join(mnt, "f")); err != nil || string(b) != "two!" {
		t.Errorf("after the store replaced it: %q %v", b, err)
	}
	must(t, os.WriteFile(filepath.Join(back, "new"), []byte("n"), 0o644))
	if b, err := os.ReadFile(filepath.Join(mnt, "new")); err != nil || string(b) != "n" {
		t.Errorf("a new upload: %q %v", b, err)
	}
	must(t, os.Remove(filepath.Join(back, "f")))
	if _, err := os.Stat(filepath.Join(mnt, "f")); !os.IsNotExist(err) {
		t.Errorf("a deleted file: %v", err)
	}
	ents, _ := os.ReadDir(mnt)
	if len(ents) != 1 || ents[0].Name() != "new" {
		t.Errorf("listing: %v", ents)
	}
}

// TestRacerCannotLeaveTheSpace: a directory of the space is swapped with
// a symlink to a host directory (RENAME_EXCHANGE in a loop, through the
// view as code would, and on the host) while every kind of change is made
// below it through the view. No host file outside the space is read,
// written, created, chowned, chmodded or touched.
func TestRacerCannotLeaveTheSpace(t *testing.T) {
	mnt, back, _ := mountT(t, Options{Chown: true, UID: 65534, GID: 65534, RootMapped: true})
	outside := t.TempDir()
	const secret = "host secret"
	for i := range 20 {
		must(t, os.WriteFile(filepath.Join(outside, fmt.Sprintf("f%d", i)), []byte(secret), 0o600))
	}
	must(t, os.Mkdir(filepath.Join(outside, "sub"), 0o700))
	before := snapshot(t, outside)

	must(t, os.Mkdir(filepath.Join(mnt, "d"), 0o755))
	for i := range 20 {
		must(t, os.WriteFile(filepath.Join(mnt, "d", fmt.Sprintf("f%d", i)), []byte("mine"), 0o644))
	}
	must(t, os.Mkdir(filepath.Join(mnt, "d", "sub"), 0o755))
	must(t, os.Symlink(outside, filepath.Join(mnt, "l")))

	var stop atomic.Bool
	var swaps atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the racer, through the view
		defer wg.Done()
		for !stop.Load() {
			if unix.Renameat2(unix.AT_FDCWD, filepath.Join(mnt, "d"), unix.AT_FDCWD, filepath.Join(mnt, "l"), unix.RENAME_EXCHANGE) == nil {
				swaps.Add(1)
			}
		}
	}()
	// The victims resolve their paths in the view without following
	// symlinks (in the sandbox, the link's host target does not exist; in
	// this test's own view it would, and the kernel would follow it for
	// the client, not for the server). Each request then reaches the
	// server for a node below d, which the racer swaps meanwhile.
	mfd, err := unix.Open(mnt, unix.O_PATH|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(mfd)
	in := func(rel string, flags int, mode uint32) (int, error) {
		return unix.Openat2(mfd, rel, &unix.OpenHow{Flags: uint64(flags | unix.O_NOFOLLOW | unix.O_CLOEXEC), Mode: uint64(mode),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS})
	}
	var leaked atomic.Value
	var ops atomic.Int64
	for w := range 3 {
		wg.Add(1)
		go func() { // every operation, on nodes below d
			defer wg.Done()
			buf := make([]byte, 64)
			for i := 0; !stop.Load(); i++ {
				name := fmt.Sprintf("d/f%d", i%20)
				pfd, err := in(name, unix.O_PATH, 0)
				if err != nil {
					continue
				}
				proc := fmt.Sprintf("/proc/self/fd/%d", pfd)
				switch (i + w) % 9 {
				case 0:
					if fd, err := unix.Open(proc, unix.O_RDONLY, 0); err == nil {
						k, _ := unix.Read(fd, buf)
						if k > 0 && strings.Contains(string(buf[:k]), secret) {
							leaked.Store(name)
						}
						unix.Close(fd)
					}
				case 1:
					if fd, err := unix.Open(proc, unix.O_WRONLY|unix.O_TRUNC, 0); err == nil {
						_, _ = unix.Write(fd, []byte("mine"))
						unix.Close(fd)
					}
				case 2:
					_ = unix.Chmod(proc, 0o666)
				case 3:
					_ = unix.Truncate(proc, 0)
				case 4:
					_ = unix.UtimesNanoAt(pfd, "", []unix.Timespec{{Sec: 1}, {Sec: 1}}, unix.AT_EMPTY_PATH)
				case 5:
					if fd, err := in(fmt.Sprintf("d/new%d", i), unix.O_CREAT|unix.O_WRONLY, 0o644); err == nil {
						unix.Close(fd)
					}
				case 6, 7, 8:
					if dfd, err := in("d", unix.O_PATH|unix.O_DIRECTORY, 0); err == nil {
						switch (i + w) % 9 {
						case 6:
							_ = unix.Mkdirat(dfd, fmt.Sprintf("m%d", i), 0o777)
						case 7:
							_ = unix.Unlinkat(dfd, fmt.Sprintf("new%d", i-2), 0)
						case 8:
							_ = unix.Symlinkat("/", dfd, fmt.Sprintf("s%d", i))
						}
						unix.Close(dfd)
					}
				}
				unix.Close(pfd)
				ops.Add(1)
			}
		}()
	}
	// A second racer on the host side, as the store or another run's
	// bind view would.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if unix.Renameat2(unix.AT_FDCWD, filepath.Join(back, "d"), unix.AT_FDCWD, filepath.Join(back, "l"), unix.RENAME_EXCHANGE) == nil {
				swaps.Add(1)
			}
		}
	}()
	time.Sleep(3 * time.Second)
	stop.Store(true)
	wg.Wait()
	t.Logf("%d exchanges, %d operations below the swapped directory", swaps.Load(), ops.Load())
	if ops.Load() < 100 {
		t.Fatalf("only %d operations below the swapped directory", ops.Load())
	}
	if swaps.Load() < 10 {
		t.Fatalf("only %d exchanges: the race did not run", swaps.Load())
	}
	if l := leaked.Load(); l != nil {
		t.Errorf("a read through the view returned the host file's content (%s)", l)
	}
	if after := snapshot(t, outside); !slices.Equal(before, after) {
		t.Errorf("host files outside the space changed:\nbefore %v\nafter  %v", before, after)
	}
}

// snapshot describes every file below dir: name, owner, mode, size,
// times and content.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	must(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		must(t, unix.Lstat(p, &st))
		b := []byte{}
		if fi.Mode().IsRegular() {
			b, _ = os.ReadFile(p)
		}
		out = append(out, fmt.Sprintf("%s %d:%d %o %d %d.%d %q", p, st.Uid, st.Gid, st.Mode, st.Size, st.Mtim.Sec, st.Mtim.Nsec, b))
		return nil
	}))
	return out
}

// TestDeepTreeBoundedFds: a directory chain deeper than PATH_MAX made
// through the view costs the server no lasting descriptor.
func TestDeepTreeBoundedFds(t *testing.T) {
	mnt, back, srv := mountT(t, Options{})
	count := func() int { e, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", srv.pid)); return len(e) }
	before := count()
	dir, err := unix.Open(mnt, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	const depth = 1500 // 1500 * 4 bytes: past one openat2 chunk and PATH_MAX
	for i := range depth {
		if err := unix.Mkdirat(dir, "dir", 0o755); err != nil {
			t.Fatalf("level %d: %v", i, err)
		}
		next, err := unix.Openat(dir, "dir", unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			t.Fatalf("level %d: %v", i, err)
		}
		unix.Close(dir)
		dir = next
	}
	must(t, unix.Close(func() int {
		fd, err := unix.Openat(dir, "leaf", unix.O_CREAT|unix.O_WRONLY, 0o644)
		must(t, err)
		return fd
	}()))
	var st unix.Stat_t
	must(t, unix.Fstatat(dir, "leaf", &st, 0))
	unix.Close(dir)
	if after := count(); after > before+2 {
		t.Errorf("the server holds %d descriptors after building a %d-deep chain, %d before", after, depth, before)
	}
	// The leaf is really there, at that depth, on the host.
	p := back
	for range depth {
		p = filepath.Join(p, "dir")
	}
	if len(p) < 4096 {
		t.Fatalf("chain too short to pass PATH_MAX: %d", len(p))
	}
}
