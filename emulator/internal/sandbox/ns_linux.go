//go:build linux

package sandbox

// The parent side of the namespace runner: it plans the sandbox, starts the
// re-executed child in its namespaces, puts it in a cgroup, feeds it the
// plan and collects what the code prints.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/localbaponi/localbaponi/emulator/internal/sandbox/spacefs"
)

// nsRunner is the namespace runner of one Runner.
type nsRunner struct {
	r       *Runner
	root    string // empty host directory: the mount point of each sandbox's root
	ops     []op   // the sandbox skeleton
	hostUID int    // host ids the sandbox user maps to
	hostGID int
	asRoot  bool
	cg      *cgroups // nil: no writable cgroup; rlimits instead
	seq     atomic.Uint64
	spawns  atomic.Int64 // children spawned so far

	warm      chan *proc // children spawned ahead (at most warmChildren)
	mu        sync.Mutex
	closed    bool
	refilling bool
	refills   sync.WaitGroup
	// refilled is closed when the refill in flight has put its child in
	// warm (or failed); claimed: a take waits for that child.
	refilled chan struct{}
	claimed  bool

	// view is the file view runs get: fuse or bind, or auto until the
	// probe decides (fuse if it could mount FUSE, else bind and viewWhy
	// says why).
	view, viewWhy string
	premount      atomic.Bool  // spawn children with their FUSE mount made
	lateMounts    atomic.Int64 // runs whose child mounted it when it learned its run
	fuseOnce      sync.Once    // the warning that FUSE fell back to binds
	fuseWhy       string       // its reason (written once, under fuseOnce)
}

// etcFiles are the host's /etc entries the interpreters need (dynamic
// linker, certificates, time zone); nothing else of /etc is visible.
var etcFiles = []string{
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl", "ca-certificates",
	"ca-certificates.conf", "pki", "localtime", "timezone", "mime.types", "os-release",
	"protocols", "services", "nsswitch.conf",
}

// devFiles are bound from the host's /dev.
var devFiles = []string{"null", "zero", "full", "random", "urandom", "tty"}

func newNSRunner(r *Runner) (*nsRunner, error) {
	if _, err := os.Stat(r.child); err != nil {
		return nil, fmt.Errorf("cannot execute the sandbox child: %w", err)
	}
	n := &nsRunner{r: r, asRoot: os.Geteuid() == 0, warm: make(chan *proc, warmChildren), view: r.opts.FS}
	n.premount.Store(true)
	if n.asRoot {
		n.hostUID, n.hostGID = r.opts.HostUID, r.opts.HostGID
	} else {
		n.hostUID, n.hostGID = os.Geteuid(), os.Getegid()
	}
	sweepRoots()
	root, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", rootPrefix, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("sandbox root: %w", err)
	}
	n.root = root
	// The child, already uid 1000 of its namespace, must reach the mount point.
	if err := os.Chmod(root, 0o755); err != nil {
		_ = n.close()
		return nil, fmt.Errorf("sandbox root: %w", err)
	}
	if err := n.plan(); err != nil {
		_ = n.close()
		return nil, err
	}
	n.cg = newCgroups(r.log)
	// The probe (a sandboxed run of /bin/true) is the Runner's to run: at
	// the first use with auto isolation, here-and-now with namespaces.
	// No child is spawned ahead yet: an emulator that never executes code
	// (most of those a test starts) should not keep one. The first run
	// spawns its own and starts keeping one ahead.
	return n, nil
}

// rootPrefix starts the name of a runner's sandbox root in the temporary
// directory; the emulator's pid follows.
const rootPrefix = "localbaponi-sandbox-"

// sweepRoots removes the sandbox roots (empty mount points) of runners
// whose emulator died without closing them.
func sweepRoots() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), rootPrefix+"*"))
	for _, d := range dirs {
		// <pid>-<random>: a name without the second dash is another
		// program's (or an older version's, whose random part is digits).
		pid, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(d), rootPrefix), "-")
		if n, err := strconv.Atoi(pid); !ok || err != nil || n <= 0 || n > 1<<22 {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); err == nil {
			continue // alive (or its pid was reused: the directory waits)
		}
		_ = os.Remove(d) // only if empty: never a tree
	}
}

// plan builds the skeleton shared by every run: system directories and a
// minimal /etc read-only, /dev, /proc and /tmp.
func (n *nsRunner) plan() error {
	// Host paths that are symlinks (/bin → usr/bin) stay symlinks.
	addPath := func(host, target string) error {
		fi, err := os.Lstat(host)
		if err != nil {
			return nil // absent on this system
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			link, err := os.Readlink(host)
			if err != nil {
				return err
			}
			n.ops = append(n.ops, op{Kind: "symlink", Target: target, Link: link})
			return nil
		}
		n.ops = append(n.ops, op{Kind: "bind", Source: host, Target: target})
		return nil
	}
	for _, d := range systemDirs {
		if err := addPath(d, d); err != nil {
			return err
		}
	}
	for _, e := range etcFiles {
		if err := addPath("/etc/"+e, "/etc/"+e); err != nil {
			return err
		}
	}
	files := map[string]string{
		"/etc/passwd":      "root:x:0:0:root:/root:/usr/sbin/nologin\nbaponi:x:1000:1000:baponi:/home/baponi:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		"/etc/group":       "root:x:0:\nbaponi:x:1000:\nnogroup:x:65534:\n",
		"/etc/hosts":       "127.0.0.1\tlocalhost baponi\n::1\tlocalhost ip6-localhost ip6-loopback\n",
		"/etc/hostname":    "baponi\n",
		"/etc/resolv.conf": "# no network in the sandbox\n",
	}
	for _, name := range []string{"/etc/passwd", "/etc/group", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"} {
		n.ops = append(n.ops, op{Kind: "file", Target: name, Data: []byte(files[name]), Mode: 0o644})
	}
	n.ops = append(n.ops, op{Kind: "tmpfs", Target: "/dev", Opts: "mode=0755,size=64k"})
	for _, d := range devFiles {
		if _, err := os.Stat("/dev/" + d); err == nil {
			n.ops = append(n.ops, op{Kind: "bind", Source: "/dev/" + d, Target: "/dev/" + d, RW: true, Dev: true})
		}
	}
	for link, to := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		n.ops = append(n.ops, op{Kind: "symlink", Target: "/dev/" + link, Link: to})
	}
	n.ops = append(n.ops,
		op{Kind: "tmpfs", Target: "/dev/shm", Opts: "mode=1777,size=64m"},
		op{Kind: "proc", Target: "/proc"},
		op{Kind: "dir", Target: "/run/baponi"},
	)
	return nil
}

// probe builds a complete sandbox once, without running anything in it.
// With the auto file view, the sandbox has a home to serve over FUSE, and
// whether the child could mount it decides the view of every run.
func (n *nsRunner) probe() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	spec := Spec{Language: "bash", Code: []byte("true"), Timeout: 20 * time.Second,
		MemoryLimit: DefaultMemoryLimit, OutputCap: 4096}
	if n.view == FSAuto {
		// Named like a sandbox root, so that a sweep removes it (empty)
		// should the emulator die now.
		home, err := os.MkdirTemp("", fmt.Sprintf("%s%d-probe-", rootPrefix, os.Getpid()))
		if err != nil {
			return fmt.Errorf("sandbox: probe home: %w", err)
		}
		defer os.Remove(home)
		spec.HomeDir = home
	}
	p, err := n.spawn()
	if err != nil {
		return err
	}
	res, err := n.start(ctx, p, spec, &interp{path: "/bin/true"}, true)
	if err != nil {
		return err
	}
	if n.view == FSAuto {
		n.view = res.FileView
		if n.view != FSFuse {
			n.view, n.viewWhy = FSBind, n.fuseWhy
		}
	}
	if res.Status != StatusSuccess {
		msg := res.Error
		if msg == "" {
			msg = fmt.Sprintf("exit code %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr)))
		}
		return fmt.Errorf("namespace probe failed: %s", msg)
	}
	return nil
}

func (n *nsRunner) close() error {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.refills.Wait()
	for len(n.warm) > 0 { // no refill is left to add one
		(<-n.warm).discard()
	}
	var errs []error
	if n.cg != nil {
		errs = append(errs, n.cg.close())
	}
	if n.root != "" {
		errs = append(errs, os.Remove(n.root))
	}
	return errors.Join(errs...)
}

// proc is a started child, in its namespaces and cgroup, waiting for the
// config of the run it will become.
type proc struct {
	cmd                       *exec.Cmd
	cfgW, errR, outR, errOutR *os.File
	fuseSock                  *os.File // the emulator's end of the child's fd 5 (closed once spawned: read by receiveMount)
	cg                        *cgroup
	joinErr                   error
	// A child of a FUSE view mounts it as it starts: once mounted is
	// closed, mux serves it (no spaces yet), or fuseWhy says why the child
	// could not mount it, or fuseErr why it cannot be served.
	mounted   chan struct{}
	released  sync.Once
	sockOwned bool // fuseSock is closed by the goroutine receiving the mount
	sockOnce  sync.Once
	mux       *spacefs.Mux
	fuseHold  *os.File // the mount's root (O_PATH): keeps it past the run
	fuseWhy   string
	fuseErr   error
}

// closeSock closes the emulator's end of the child's descriptor socket,
// unless the goroutine receiving the child's mount owns it.
func (p *proc) closeSock() {
	if !p.sockOwned {
		p.sockOnce.Do(func() { p.fuseSock.Close() })
	}
}

// discard kills a child that will not be used and releases what it holds.
func (p *proc) discard() {
	_ = p.cmd.Process.Kill()
	p.cfgW.Close()
	_ = p.cmd.Wait()
	p.errR.Close()
	p.outR.Close()
	p.errOutR.Close()
	p.releaseMount()
	p.closeSock()
	if p.cg != nil {
		p.cg.remove()
	}
}

// spawn starts a child. Moving a process into a cgroup v1 costs 10-20 ms
// here (the kernel waits for an RCU grace period), and the Go runtime of the
// child takes a few ms to start: both happen before a run is asked for,
// because the runner keeps children spawned ahead (see take).
func (n *nsRunner) spawn() (*proc, error) {
	n.spawns.Add(1)
	p := &proc{}
	if n.cg != nil {
		var err error
		if p.cg, err = n.cg.create(n.seq.Add(1), int64(n.r.opts.PidsLimit)); err != nil {
			n.r.log.Warn("sandbox: cgroup unavailable for this run; using rlimits", "err", err)
			p.cg = nil
		}
	}
	var child []*os.File
	closeAll := func(fs ...*os.File) {
		for _, f := range fs {
			if f != nil {
				f.Close()
			}
		}
	}
	fail := func(err error) (*proc, error) {
		closeAll(child...)
		closeAll(p.cfgW, p.errR, p.outR, p.errOutR, p.fuseSock)
		if p.cg != nil {
			p.cg.remove()
		}
		return nil, fmt.Errorf("sandbox: start: %w", err)
	}
	var ends [4][2]*os.File
	for i := range ends {
		r, w, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		ends[i] = [2]*os.File{r, w}
	}
	// config: child reads; errors: child writes; stdout, stderr: child writes.
	p.cfgW, p.errR, p.outR, p.errOutR = ends[0][1], ends[1][0], ends[2][0], ends[3][0]
	child = []*os.File{ends[0][0], ends[1][1], ends[2][1], ends[3][1]}
	// The FUSE descriptors come back on a socket (SCM_RIGHTS).
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail(err)
	}
	if err := unix.SetNonblock(sp[0], true); err != nil {
		unix.Close(sp[0])
		unix.Close(sp[1])
		return fail(err)
	}
	p.fuseSock = os.NewFile(uintptr(sp[0]), "sandbox-fuse") // non-blocking: read through the poller
	childSock := os.NewFile(uintptr(sp[1]), "sandbox-fuse-child")
	child = append(child, childSock)
	env := []string{childEnv + "=1"}
	// A child mounts its FUSE view before its run is known when the
	// runner's last run had spaces (most runs of one emulator do, or none
	// do); else it mounts it if its run needs one (lateMount).
	fuse := n.view != FSBind && n.premount.Load()
	if fuse {
		env = append(env, fuseRootEnv+"="+n.root, fuseDeviceEnv+"="+n.r.opts.fuseDevice)
	}
	p.cmd = &exec.Cmd{
		Path:        n.r.child,
		Args:        []string{"baponi-sandbox"},
		Env:         env,
		Dir:         "/",
		Stdout:      ends[2][1],
		Stderr:      ends[3][1],
		ExtraFiles:  []*os.File{ends[0][0], ends[1][1], childSock}, // fds 3, 4 and 5
		SysProcAttr: n.sysProcAttr(),
	}
	if err := p.cmd.Start(); err != nil {
		return fail(err)
	}
	closeAll(child...)
	if p.cg != nil {
		p.joinErr = p.cg.join(p.cmd.Process.Pid)
	}
	if fuse {
		// Not waited for here: the child's runtime starts and mounts while
		// the run it will be is asked for (attachSpaces waits).
		p.mounted, p.sockOwned = make(chan struct{}), true
		go func() {
			defer close(p.mounted)
			defer p.fuseSock.Close()
			n.receiveMount(p)
		}()
	}
	return p, nil
}

// warmChildren is how many children the runner keeps spawned ahead. A
// run takes one; while another is ready, the one it took is replaced only
// once the run has ended. Spawning forks the emulator (its page tables
// are copied and its pages write-protected until the child execs, so the
// emulator's next writes fault) and the child then starts a Go runtime:
// with one child kept ahead, all of it happened at the start of every
// run, beside the run's own setup and the requests of its FUSE view.
const warmChildren = 2

// take returns a spawned child: one kept ahead if there is one, else a
// new one. after: another child is still ready, so this one's
// replacement is spawned when the run ends (the caller calls refill);
// otherwise it is under way already.
func (n *nsRunner) take() (p *proc, after bool, err error) {
	if p := n.warmChild(); p != nil {
		if len(n.warm) > 0 {
			return p, true, nil
		}
		n.refill()
		return p, false, nil
	}
	defer n.refill()
	// A refill in flight started before this run was asked for: its child
	// comes sooner than a new one would. One take waits for it; others
	// (concurrent runs) spawn their own.
	n.mu.Lock()
	var refilled chan struct{}
	if n.refilling && !n.claimed {
		n.claimed, refilled = true, n.refilled
	}
	n.mu.Unlock()
	if refilled != nil {
		<-refilled
		if p := n.warmChild(); p != nil {
			return p, false, nil
		}
	}
	p, err = n.spawn()
	return p, false, err
}

// warmChild returns the child kept ahead, if there is one still alive.
func (n *nsRunner) warmChild() *proc {
	select {
	case p := <-n.warm:
		if p.alive() {
			return p
		}
		p.discard() // killed while it waited (e.g. its parent thread exited: Pdeathsig)
	default:
	}
	return nil
}

// alive reports whether a spawned child is still waiting, without reaping it.
func (p *proc) alive() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, p.cmd.Process.Pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return err == nil && info.Signo == 0 // no state change to report
}

// refill spawns the next child in the background, unless one is already
// being spawned or the runner is closed; and then another, until
// warmChildren are ready.
func (n *nsRunner) refill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || n.refilling {
		return
	}
	n.refilling, n.claimed = true, false
	refilled := make(chan struct{})
	n.refilled = refilled
	n.refills.Add(1)
	go func() {
		defer n.refills.Done()
		defer close(refilled)
		p, err := n.spawn()
		if err != nil {
			n.r.log.Warn("sandbox: spawning the next sandbox", "err", err)
		}
		n.mu.Lock()
		n.refilling = false
		kept := err != nil
		if err == nil && !n.closed {
			select {
			case n.warm <- p:
				kept = true
			default:
			}
		}
		more := err == nil && kept && !n.closed && len(n.warm) < cap(n.warm)
		n.mu.Unlock()
		if !kept {
			p.discard() // before Done: close waits for it
		}
		if more {
			n.refill() // before Done: close waits for it too
		}
	}()
}

func (n *nsRunner) run(ctx context.Context, spec Spec, it *interp) (Result, error) {
	began := time.Now()
	p, after, err := n.take()
	if err != nil {
		return Result{}, err
	}
	res, err := n.start(ctx, p, spec, it, false)
	if after {
		n.refill()
	}
	res.Duration = time.Since(began)
	return res, err
}

// start turns a spawned child into one run (or, with probe, builds the
// sandbox and has the child exit).
func (n *nsRunner) start(ctx context.Context, p *proc, spec Spec, it *interp, probe bool) (res Result, err error) {
	began := time.Now()
	used := false
	defer func() {
		if !used {
			p.discard()
		}
	}()
	ops := append([]op(nil), n.ops...)
	addBind := func(host, target string, rw bool) error {
		if fi, err := os.Stat(host); err != nil || !fi.IsDir() {
			return fmt.Errorf("sandbox: %s is not a directory (%v)", host, err)
		}
		ops = append(ops, op{Kind: "bind", Source: host, Target: target, RW: rw})
		return nil
	}
	for _, b := range it.binds {
		if err := addBind(b, b, false); err != nil {
			return Result{}, err
		}
	}
	const home = "/home/baponi"
	// With a FUSE view, each space is a fuse op that the child mounts and
	// the emulator serves (fuse_linux.go); with bind, a bind.
	useFuse := n.view != FSBind
	var spaces []space
	addSpace := func(s space) error {
		if !useFuse {
			return addBind(s.host, s.inside, !s.readOnly)
		}
		if fi, err := os.Stat(s.host); err != nil || !fi.IsDir() {
			return fmt.Errorf("sandbox: %s is not a directory (%v)", s.host, err)
		}
		ops = append(ops, op{Kind: "fuse", Source: s.host, Target: s.inside, RW: !s.readOnly, Index: len(spaces),
			Fallback: n.r.opts.FS == FSAuto, Limited: !s.readOnly && s.quota > 0})
		spaces = append(spaces, s)
		return nil
	}
	// tmpfs pages count against the run's memory: /tmp and a home without a
	// thread each get half of it, so filling one fails with ENOSPC rather
	// than ending the run as out of memory.
	tmpSize := strconv.FormatInt(max(spec.MemoryLimit/2, 1<<20), 10)
	if spec.HomeDir != "" {
		if n.asRoot {
			if err := giveTop(spec.HomeDir, n.hostUID, n.hostGID); err != nil {
				return Result{}, err
			}
		}
		if err := addSpace(space{host: spec.HomeDir, inside: home, quota: spec.HomeQuota, used: spec.HomeUsed,
			limitName: "the thread's size limit (thread_quota_mib)"}); err != nil {
			return Result{}, err
		}
	} else {
		ops = append(ops, op{Kind: "tmpfs", Target: home,
			Opts: fmt.Sprintf("mode=0755,uid=%d,gid=%d,size=%s", sandboxUID, sandboxGID, tmpSize)})
	}
	for _, v := range spec.Volumes {
		if !v.ReadOnly && n.asRoot {
			if err := giveTop(v.HostDir, n.hostUID, n.hostGID); err != nil {
				return Result{}, err
			}
		}
		if err := addSpace(space{host: v.HostDir, inside: "/volumes/" + v.Slug, readOnly: v.ReadOnly, quota: v.Quota, used: v.Used,
			limitName: fmt.Sprintf("volume %s's size limit (quota_mib)", v.Slug)}); err != nil {
			return Result{}, err
		}
	}
	ops = append(ops, op{Kind: "tmpfs", Target: "/tmp", Opts: "mode=1777,size=" + tmpSize})
	file := ""
	if len(spec.Code) > inlineCodeMax {
		file = "/run/baponi/" + scriptName(spec.Language)
		ops = append(ops, op{Kind: "file", Target: file, Data: spec.Code, Mode: 0o644})
	}
	limited := limitedDirs(spec)
	fsize, limitFiles := fileSizeLimit(limited)
	cfg := childConfig{
		FileSize: fsize, LimitFileSize: limitFiles,
		Root:   n.root,
		Ops:    ops,
		Argv:   argv(spec.Language, it.path, spec.Code, file),
		Env:    baseEnv(home, it, spec.Env),
		Dir:    home,
		Probe:  probe,
		SetIDs: n.asRoot,

		FuseSpaces: len(spaces),
	}
	if probe {
		cfg.Argv = []string{it.path}
	}
	cg := p.cg
	if cg != nil && cg.memory {
		if err := cg.setMemory(spec.MemoryLimit); err != nil {
			return Result{}, err
		}
	}
	if cg == nil || !cg.pids {
		cfg.NProc = uint64(n.r.opts.PidsLimit)
	}
	if cg == nil || !cg.memory {
		cfg.AddrSpace = addressSpaceLimit(spec.Language, spec.MemoryLimit)
	}

	used = true
	if cg != nil {
		defer cg.remove()
	}
	out, errOut := newCapture(spec.OutputCap, spec.Stdout), newCapture(spec.OutputCap, spec.Stderr)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); defer p.outR.Close(); out.drain(p.outR) }()
	go func() { defer wg.Done(); defer p.errOutR.Close(); errOut.drain(p.errOutR) }()
	defer p.errR.Close()

	var timedOut, cancelled atomic.Bool
	var overQuota atomic.Pointer[string]
	kill := func() { _ = p.cmd.Process.Kill() } // pid 1 of the namespace: its death ends every process in it
	timer := time.AfterFunc(spec.Timeout, func() { timedOut.Store(true); kill() })
	defer timer.Stop()
	stop := context.AfterFunc(ctx, func() { cancelled.Store(true); kill() })
	defer stop()

	// The spaces are the entries of the child's FUSE mount before it
	// learns its run (and binds them). A child spawned without one (the
	// runner's runs had no spaces lately) mounts it when it learns its
	// run, and waits for them (lateMount).
	var served []*servedSpace
	setupErr := ""
	late := len(spaces) > 0 && p.mounted == nil
	if !probe {
		n.premount.Store(len(spaces) > 0)
	}
	switch {
	case late:
		cfg.FuseRoot, cfg.FuseDevice = n.root, n.r.opts.fuseDevice
	case len(spaces) > 0:
		var err error
		if served, err = n.attachSpaces(p, spaces); err != nil {
			setupErr = err.Error()
		}
	}
	// Files that code changes are those changed after this instant.
	codeStarted := time.Now()
	switch {
	case setupErr != "":
		kill()
	case p.joinErr != nil:
		kill()
		setupErr = p.joinErr.Error()
	default:
		if err := json.NewEncoder(p.cfgW).Encode(&cfg); err != nil {
			setupErr = "send sandbox config: " + err.Error()
		}
	}
	p.cfgW.Close()
	if late && setupErr == "" {
		var err error
		if served, err = n.lateMount(p, spaces); err != nil {
			kill()
			setupErr = err.Error()
		}
	}
	// The limits of spaces served over FUSE are held by their servers;
	// the others' by the file size limit and the watcher.
	limited = unservedLimits(limited, served)
	sizes := baseline(limited)
	stopWatch := watchQuota(ctx, limited, func(msg string) { overQuota.Store(&msg); kill() })
	defer stopWatch()
	// EOF when the child execs (the pipe is close-on-exec) or exits.
	if msg, _ := io.ReadAll(p.errR); len(msg) > 0 && setupErr == "" {
		setupErr = string(msg)
	}
	werr := p.cmd.Wait()
	p.releaseMount()
	p.closeSock()
	stopWatch()
	wg.Wait()
	timer.Stop()
	res = Result{Duration: time.Since(began), Started: codeStarted}
	res.Stdout, res.Truncated = out.bytes()
	var t2 bool
	res.Stderr, t2 = errOut.bytes()
	res.Truncated = res.Truncated || t2
	oom := cg != nil && cg.oomKilled()
	end := ending{timedOut: timedOut.Load(), oom: oom, cancelled: cancelled.Load(), setupErr: setupErr, sizes: &sizes}
	if q := overQuota.Load(); q != nil {
		end.overQuota = *q
	}
	if err := res.conclude(end, werr, p.cmd.ProcessState, spec); err != nil {
		return Result{}, err
	}
	res.FileView = n.concludeSpaces(&res, spec, served)
	return res, nil
}

// sysProcAttr puts the child in its namespaces.
//
// As root: uid/gid 1000 inside maps to an unprivileged host id (65534), so
// whatever code writes belongs to nobody on the host; uid 0 inside maps to
// the host's root only so that the child can reach the interpreter and data
// directories below root-only paths (/root/.pyenv) while it builds the
// sandbox. It switches to 1000 before exec, which clears its capabilities.
//
// Unprivileged: the kernel allows mapping only the emulator's own ids, so
// 1000 inside is the emulator's user on the host; the child starts as 1000
// with the two capabilities it needs as ambient capabilities, and clears
// them before exec.
func (n *nsRunner) sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
			syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS,
		Pdeathsig: syscall.SIGKILL,
	}
	if n.asRoot {
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: sandboxUID, HostID: n.hostUID, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: sandboxGID, HostID: n.hostGID, Size: 1}}
		a.GidMappingsEnableSetgroups = true
		return a
	}
	a.UidMappings = []syscall.SysProcIDMap{{ContainerID: sandboxUID, HostID: n.hostUID, Size: 1}}
	a.GidMappings = []syscall.SysProcIDMap{{ContainerID: sandboxGID, HostID: n.hostGID, Size: 1}}
	a.Credential = &syscall.Credential{Uid: sandboxUID, Gid: sandboxGID, NoSetGroups: true}
	a.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN}
	return a
}

// giveTop gives the directory dir itself (not what is in it) to uid:gid,
// so that code running as the sandbox user can create files at the top of
// its home or of a writable volume. It is the only ownership change the
// runner makes: it never walks a tree that code can write. The path's
// components above dir are the emulator's own (code cannot replace them);
// the last one is opened with O_NOFOLLOW and the owner is changed through
// the descriptor. What lies inside belongs to whoever created it — the
// store gives what it creates to the sandbox user (Runner.FileOwner).
func giveTop(dir string, uid, gid int) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("sandbox: open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("sandbox: stat %s: %w", dir, err)
	}
	if int(st.Uid) == uid && int(st.Gid) == gid {
		return nil
	}
	if err := unix.Fchown(fd, uid, gid); err != nil {
		return fmt.Errorf("sandbox: give %s to the sandbox user: %w", dir, err)
	}
	return nil
}

// memoryCgroup reports whether runs get a memory cgroup (so that running
// out of memory shows as status oom, not as the interpreter's own error).
func (n *nsRunner) memoryCgroup() bool {
	return n != nil && n.cg != nil && (n.cg.memory != "" || n.cg.v2Memory)
}

// chowns reports whether the sandbox user is a host id other than the
// emulator's own (as root: an unprivileged host uid), so that files in a
// home must be given to it (Runner.FileOwner).
func (n *nsRunner) chowns() bool { return n.asRoot }

// chownsWhenRoot is what nsRunner.chowns will say, before one is made: as
// root, the sandbox user is another host uid that must own what code may
// change.
func chownsWhenRoot() bool { return os.Geteuid() == 0 }
