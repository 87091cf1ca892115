// Package sandbox runs untrusted code (python, node, bash) for the execute
// endpoint.
//
// On Linux the runner re-executes its own binary (/proc/self/exe) into new
// user, mount, pid, net, ipc and uts namespaces. A package init recognises
// the re-exec (an environment marker), builds a private root — the system
// directories and the interpreter read-only, the thread directory at
// /home/baponi, volumes at /volumes/<slug>, a fresh /proc, /tmp and /dev —
// brings up loopback only, drops every capability and execs the interpreter
// as uid 1000 ("baponi"). Because the hook is a package init, it works inside
// any binary that imports this package, `go test` binaries included, with no
// setup by the user.
//
// Identity: inside the sandbox code runs as uid/gid 1000. When the emulator
// runs as root that id is mapped to an unprivileged host id (65534 by
// default), so code cannot plant a setuid-root file in a thread directory.
// The runner never walks or chowns a tree that code can write (a symlink
// swapped in by a concurrent run could lead such a walk onto host files):
// it gives only the top directory of a home or writable volume to that id,
// through a descriptor, and whoever puts files there (the store) creates
// them with that owner (FileOwner). The emulator, being root, can still read
// and delete everything code leaves. When the
// emulator runs unprivileged, the id is mapped to the emulator's own uid/gid,
// so files code writes belong to the emulator's user.
//
// Where namespaces cannot be created, the runner falls back to a plain
// subprocess (HOME and working directory = the thread directory) and says so
// in Mode and Reason; it never pretends to isolate.
package sandbox

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Isolation modes (Options.Isolation, Runner.Mode).
const (
	IsolationAuto       = "auto"       // namespaces when they work, else the fallback
	IsolationNamespaces = "namespaces" // namespaces or refuse to start
	IsolationNone       = "none"       // plain subprocess, no isolation
)

// File views (Options.FS, Result.FileView).
const (
	FSAuto = "auto"
	FSFuse = "fuse"
	FSBind = "bind"
)

// Statuses of a Result (SPEC R-8 names).
const (
	StatusSuccess   = "success"
	StatusFailed    = "failed"
	StatusTimeout   = "timeout"
	StatusOOM       = "oom"
	StatusCancelled = "cancelled"
)

// Exit codes the runner reports when it ended the code itself.
const (
	ExitTimeout = 124 // as GNU timeout(1)
	ExitKilled  = 137 // 128 + SIGKILL: the OOM killer or a cancellation
)

// Defaults applied to a zero Spec field.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMemoryLimit = 512 << 20
	DefaultOutputCap   = 1 << 20
	DefaultPidsLimit   = 256
)

// Languages the runner knows, in the execute API's spelling (SPEC R-2).
var languages = map[string][]string{
	"python": {"python3", "python"},
	"node":   {"node", "nodejs"},
	"bash":   {"bash"},
}

// Mount is a volume bind-mounted at /volumes/<Slug>.
type Mount struct {
	HostDir  string
	Slug     string
	ReadOnly bool
	// Quota is the most a writable volume may hold, in bytes (0: no
	// limit); Used is what it held before the run.
	Quota, Used int64
}

// Spec is one execution.
type Spec struct {
	// Language is "python", "node" or "bash".
	Language string
	Code     []byte
	// Interpreter overrides the runner's interpreter for this run (a path).
	Interpreter string
	// HomeDir is the host directory mounted read-write at /home/baponi; ""
	// gives a fresh empty home that is discarded afterwards.
	HomeDir string
	// HomeQuota is the most HomeDir may hold, in bytes (0: no limit);
	// HomeUsed is what it held before the run. See Runner.Run for how the
	// limits are held.
	HomeQuota, HomeUsed int64
	Volumes             []Mount
	// Env is added to the sandbox's own clean environment.
	Env map[string]string
	// Timeout kills the whole process tree (default 30 s).
	Timeout time.Duration
	// MemoryLimit in bytes (default 512 MiB).
	MemoryLimit int64
	// OutputCap caps stdout and stderr each, in bytes (default 1 MiB).
	OutputCap int
	// Stdout and Stderr, if set, receive the output as it is produced
	// (up to OutputCap and the truncation note). Called from one goroutine
	// per stream.
	Stdout, Stderr io.Writer
}

// Result is the outcome of a run.
type Result struct {
	ExitCode int
	// Status is success, failed, timeout, oom or cancelled.
	Status string
	// Error is a platform message (not the code's own stderr); "" when none.
	Error     string
	Stdout    []byte
	Stderr    []byte
	Truncated bool
	Duration  time.Duration
	// Started is the real time at which the code was handed to the
	// interpreter, after the sandbox was prepared; files changed after it
	// were changed by the code. Zero if the code never started.
	Started time.Time
	// FileView is how the run's thread and volumes were shown to code:
	// "fuse" or "bind" ("" when it had none, or in isolation none).
	FileView string
}

// Options configures a Runner. The zero value means auto isolation and
// interpreters found on PATH.
type Options struct {
	// Isolation is "auto" (default), "namespaces" or "none".
	Isolation string
	// Python, Node and Bash override the interpreters found on PATH.
	Python, Node, Bash string
	// HostUID and HostGID are the host ids the sandbox user is mapped to
	// when the emulator runs as root (default 65534, "nobody").
	HostUID, HostGID int
	// PidsLimit bounds the number of processes and threads of one run
	// (default 256).
	PidsLimit int
	// FS is how namespaces mode shows a thread directory and volumes to
	// code: FSAuto (default: FUSE where the sandbox can mount it, else
	// bind mounts, decided once by the namespace probe), FSFuse (a FUSE
	// file system served by the emulator; a run fails if it cannot be
	// mounted) or FSBind (bind mounts). Isolation none is not affected.
	FS string
	// Binary is a separate sandbox child binary to run instead of
	// re-executing the emulator's own (--sandbox-binary): the child of a
	// small binary starts in less CPU than one of the emulator's (see
	// childBinary for what it must be). "": the emulator's own.
	Binary string
	Logger *slog.Logger

	// fuseDevice is the FUSE device the sandbox opens ("": /dev/fuse);
	// tests name one that does not exist to see auto fall back.
	fuseDevice string
}

// Runner runs code. Safe for concurrent use; each Run is independent.
type Runner struct {
	opts   Options
	log    *slog.Logger
	mode   string
	reason string

	child string // what a sandbox child executes (childBinary)

	mu      sync.Mutex
	interps map[string]*interp // language → resolved interpreter (nil: missing)

	// stateMu guards ns, mode and reason while the deferred namespace probe
	// may change them (auto isolation: see settle).
	stateMu sync.Mutex
	settled bool      // the probe ran, or is not needed
	ns      *nsRunner // nil in the fallback

	// The fallback's light mode (light_linux.go): probed once.
	homeOnce sync.Once
	homeOK   bool
	homeWhy  string
}

// interp is a resolved interpreter: the real binary, not a shim.
type interp struct {
	path  string   // real path of the binary
	binds []string // host directories it needs that are outside the system ones
}

// NewRunner makes a runner. With Isolation "auto" it probes namespaces once
// and falls back to a plain subprocess with one warning; with "namespaces"
// it returns an error if they cannot be used.
func NewRunner(opts Options) (*Runner, error) {
	r := &Runner{opts: opts, log: opts.Logger, interps: map[string]*interp{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.opts.HostUID == 0 {
		r.opts.HostUID = 65534
	}
	if r.opts.HostGID == 0 {
		r.opts.HostGID = 65534
	}
	if r.opts.PidsLimit <= 0 {
		r.opts.PidsLimit = DefaultPidsLimit
	}
	var err error
	if r.child, err = childBinary(opts.Binary); err != nil {
		return nil, err
	}
	switch r.opts.FS {
	case "":
		r.opts.FS = FSAuto
	case FSAuto, FSFuse, FSBind:
	default:
		return nil, fmt.Errorf("sandbox: --sandbox-fs %q: must be auto, fuse or bind", opts.FS)
	}
	switch opts.Isolation {
	case "", IsolationAuto:
		// The namespace runner (its directories, cgroups and a probe that
		// is a whole sandboxed run of /bin/true: most of a start's time)
		// is made at the first use: most emulators a test starts never
		// execute code. See settle.
		r.mode = IsolationNamespaces
		return r, nil
	case IsolationNamespaces:
		// Asked for explicitly: fail now, not at the first run.
		ns, err := newIsolatedRunner(r)
		if err != nil {
			return nil, fmt.Errorf("sandbox: --isolation namespaces: %w", err)
		}
		r.ns, r.mode = ns, IsolationNamespaces
	case IsolationNone:
		r.mode, r.reason = IsolationNone, "isolation disabled by configuration (--isolation none)"
	default:
		return nil, fmt.Errorf("sandbox: isolation %q: must be auto, namespaces or none", opts.Isolation)
	}
	r.settled = true
	return r, nil
}

// fallBack makes the runner run plain subprocesses because namespaces
// cannot be used, and says so loudly.
func (r *Runner) fallBack(err error) {
	r.mode, r.reason = IsolationNone, err.Error()
	r.log.Warn("sandbox: namespaces unavailable; code runs as a plain subprocess WITHOUT isolation",
		"reason", err.Error(),
		"fix", "run on Linux with user namespaces enabled (sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1, "+
			"or a container started with --privileged / seccomp allowing unshare), or pass --isolation none to silence this")
}

// newIsolatedRunner makes the namespace runner and probes it.
func newIsolatedRunner(r *Runner) (*nsRunner, error) {
	ns, err := newNSRunner(r)
	if err != nil {
		return nil, err
	}
	if err := ns.probe(); err != nil {
		_ = ns.close()
		return nil, err
	}
	return ns, nil
}

// settle makes the namespace runner of auto isolation at the first use,
// falling back to plain subprocesses if namespaces cannot be used, and
// returns the namespace runner to use (nil: plain). Safe for concurrent use.
func (r *Runner) settle() *nsRunner {
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	if !r.settled {
		r.settled = true
		ns, err := newIsolatedRunner(r)
		if err != nil {
			r.fallBack(err)
		}
		r.ns = ns
	}
	return r.ns
}

// Mode returns "namespaces" or "none": what Run really does. With auto
// isolation, the first call (or Run) probes namespaces.
func (r *Runner) Mode() string {
	r.settle()
	return r.mode
}

// FileView is the file view of namespaces mode, fuse or bind (auto is
// decided by the namespace probe); "" when the runner does not isolate.
// Each Result says what a run really got.
func (r *Runner) FileView() string {
	ns := r.settle()
	if ns == nil {
		return ""
	}
	return ns.view
}

// FileViewReason says why auto's file view is bind: why FUSE could not be
// mounted in the sandbox ("" when it is fuse, or bind by configuration).
func (r *Runner) FileViewReason() string {
	ns := r.settle()
	if ns == nil {
		return ""
	}
	return ns.viewWhy
}

// Binary is the separate sandbox child binary the runner executes
// (Options.Binary), or "" when it re-executes the emulator's own.
func (r *Runner) Binary() string {
	if r.opts.Binary == "" {
		return ""
	}
	return r.child
}

// Reason says why the runner is not isolating ("" when it is).
func (r *Runner) Reason() string {
	r.settle()
	return r.reason
}

// FileOwner returns the host uid and gid that files and directories in a
// home or writable volume must belong to for sandboxed code to change them
// (namespaces, run as root); ok is false when no such owner is needed. The
// runner gives only the top directory to it: whoever creates files there
// must create them with this owner.
//
// It does not wait for the deferred probe: an owner is given whenever
// namespaces are expected to work. Should the probe then fail, code runs as
// a plain subprocess of the emulator's own user, which can still change
// those files.
func (r *Runner) FileOwner() (uid, gid int, ok bool) {
	r.stateMu.Lock()
	settled, ns := r.settled, r.ns
	r.stateMu.Unlock()
	switch {
	case !settled && !chownsWhenRoot(): // auto, not yet made
		return 0, 0, false
	case !settled:
	case ns == nil || !ns.chowns():
		return 0, 0, false
	}
	return r.opts.HostUID, r.opts.HostGID, true
}

// Close releases the runner's directories, file descriptors and cgroups. A
// probe not yet run never runs.
func (r *Runner) Close() error {
	r.stateMu.Lock()
	r.settled = true
	ns := r.ns
	r.stateMu.Unlock()
	if ns != nil {
		return ns.close()
	}
	return nil
}

// NotAvailable is the Error of a run whose language has no interpreter.
func NotAvailable(language string) string {
	return fmt.Sprintf("Language '%s' not available in this image", language)
}

// Run runs spec.Code and returns when every process it started is gone. The
// error is for failures of the emulator itself; whatever the code does,
// including failing to start, is in the Result.
func (r *Runner) Run(ctx context.Context, spec Spec) (Result, error) {
	if spec.Language == "" {
		spec.Language = "python"
	}
	if _, ok := languages[spec.Language]; !ok {
		return Result{}, fmt.Errorf("sandbox: unknown language %q", spec.Language)
	}
	if spec.Timeout <= 0 {
		spec.Timeout = DefaultTimeout
	}
	if spec.MemoryLimit <= 0 {
		spec.MemoryLimit = DefaultMemoryLimit
	}
	if spec.OutputCap <= 0 {
		spec.OutputCap = DefaultOutputCap
	}
	it, err := r.interpreter(ctx, spec.Language, spec.Interpreter)
	if err != nil {
		return Result{}, err
	}
	if it == nil {
		return Result{ExitCode: -1, Status: StatusFailed, Error: NotAvailable(spec.Language),
			Stdout: []byte{}, Stderr: []byte{}}, nil
	}
	if ns := r.settle(); ns != nil {
		return ns.run(ctx, spec, it)
	}
	return runPlain(ctx, r, spec, it)
}

// interpreter resolves (once per language, unless overridden per run) the
// real interpreter binary. A nil interp means the language is unavailable.
func (r *Runner) interpreter(ctx context.Context, lang, override string) (*interp, error) {
	if override != "" {
		return resolve(ctx, lang, override)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if it, ok := r.interps[lang]; ok {
		return it, nil
	}
	configured := map[string]string{"python": r.opts.Python, "node": r.opts.Node, "bash": r.opts.Bash}[lang]
	var it *interp
	var err error
	if configured != "" {
		it, err = resolve(ctx, lang, configured)
	} else {
		for _, name := range languages[lang] {
			p, lerr := exec.LookPath(name)
			if lerr != nil {
				continue
			}
			if it, err = resolve(ctx, lang, p); it != nil || err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	r.interps[lang] = it
	if it == nil {
		r.log.Warn("sandbox: interpreter not found", "language", lang)
	} else {
		r.log.Debug("sandbox: interpreter", "language", lang, "path", it.path, "binds", it.binds)
	}
	return it, nil
}

// systemDirs are bound read-only into every sandbox; an interpreter below
// one of them needs nothing else.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// resolve finds the real binary behind path. A shim (a script such as
// pyenv's, which costs ~100 ms per start and lives outside the bound
// prefixes) is asked for the interpreter it runs. A missing or unusable
// path gives (nil, nil).
func resolve(ctx context.Context, lang, path string) (*interp, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, nil
	}
	if isScript(real) {
		var probe []string
		switch lang {
		case "python":
			probe = []string{"-c", "import sys; print(sys.executable)"}
		case "node":
			probe = []string{"-e", "console.log(process.execPath)"}
		}
		if probe != nil {
			cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			out, err := exec.CommandContext(cctx, path, probe...).Output()
			if err != nil {
				return nil, nil
			}
			if p := strings.TrimSpace(string(out)); p != "" {
				if rp, err := filepath.EvalSymlinks(p); err == nil {
					real = rp
				}
			}
		}
	}
	if fi, err := os.Stat(real); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return nil, nil
	}
	it := &interp{path: real}
	if !underSystemDir(real) {
		// A prefix install (pyenv, nvm, /opt/...): <prefix>/bin/<binary>,
		// with its libraries and standard library under <prefix>.
		it.binds = []string{filepath.Dir(filepath.Dir(real))}
	}
	return it, nil
}

func underSystemDir(p string) bool {
	for _, d := range systemDirs {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

func isScript(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [2]byte
	n, _ := io.ReadFull(f, b[:])
	return n == 2 && b == [2]byte{'#', '!'}
}

// inlineCodeMax is the largest code passed on the command line (-c / -e),
// safely under Linux's 128 KiB limit for one argument; larger code is run
// from a file.
const inlineCodeMax = 96 << 10

// argv returns the interpreter's arguments for inline code, or for a script
// file when file != "".
func argv(lang, bin string, code []byte, file string) []string {
	if file != "" {
		return []string{bin, file}
	}
	flag := "-c"
	if lang == "node" {
		flag = "-e"
	}
	return []string{bin, flag, string(code)}
}

// scriptName is the code file's name for a language.
func scriptName(lang string) string {
	return map[string]string{"python": "main.py", "node": "main.js", "bash": "main.sh"}[lang]
}

// baseEnv is the clean environment of the code: nothing is inherited from
// the emulator (an inherited NODE_EXTRA_CA_CERTS alone makes node 3× slower).
func baseEnv(home string, it *interp, extra map[string]string) []string {
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	if !underSystemDir(it.path) {
		path = filepath.Dir(it.path) + ":" + path
	}
	env := make([]string, 0, len(extra)+8)
	for k, v := range extra {
		switch k {
		case "PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD":
			continue
		}
		env = append(env, k+"="+v)
	}
	return append(env,
		"PATH="+path,
		"HOME="+home,
		"USER=baponi",
		"LOGNAME=baponi",
		"SHELL=/bin/bash",
		"PWD="+home,
		"LANG=C.UTF-8",
		"PYTHONUNBUFFERED=1", // so streamed output arrives as it is printed
	)
}

// addressSpaceLimit is the RLIMIT_AS used when no memory cgroup is
// available. It limits reservations, not use: node reserves far more than
// it touches and will not start under ~800 MiB, so it gets headroom.
func addressSpaceLimit(lang string, limit int64) uint64 {
	if lang == "node" {
		return uint64(limit) + 2<<30
	}
	return uint64(limit) + 64<<20
}
