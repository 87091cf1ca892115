//go:build linux

// Package child is the sandbox child of the namespace runner (package
// sandbox): the re-executed binary, already in its new namespaces with the
// capabilities of its user namespace, builds the sandbox, becomes uid 1000
// without any capability and execs the interpreter. It runs in this
// package's init, before main or the test runner, so any binary importing
// package sandbox can be re-executed as a sandbox.
//
// It is a package of its own, with few imports, because the Go runtime
// runs package inits in dependency order with ties broken by import path:
// a package that depends on little is initialized early, before the
// binary's heavy packages (cloud SDKs, protobuf registries, compiled
// regular expressions). In package sandbox the child started only after
// ~190 of them, which cost every run ~4 ms of CPU in the emulator binary.
// Keep its imports to the standard library's basics and x/sys/unix: no
// path/filepath, log/slog or os/exec, which are initialized late.
package child

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Env marks the re-executed binary (or the separate child binary) as a
// sandbox child ("1"), or asks it for its protocol (ProtocolQuery).
const Env = "LOCALBAPONI_SANDBOX_CHILD"

// FuseRootEnv, set for a child of a FUSE view, is the directory (the
// sandbox root's mount point) on which the child mounts the FUSE file
// system of its spaces as soon as it starts, before its run is known;
// FuseDeviceEnv is the FUSE device to open ("": /dev/fuse).
const FuseRootEnv, FuseDeviceEnv = "LOCALBAPONI_SANDBOX_FUSE_ROOT", "LOCALBAPONI_SANDBOX_FUSE_DEVICE"

// Descriptors of the child: the config pipe, the error pipe and the
// socket on which it hands the emulator its FUSE descriptors.
const (
	configFD = 3
	errorFD  = 4
	fuseFD   = 5
)

// UID and GID are the sandbox user's ids inside the sandbox.
const UID, GID = 1000, 1000

// FusePlaceholders is how many entries ("0", "1", …) of its FUSE mount a
// child looks up while it waits for its run: binding a run's spaces then
// asks the server nothing (spacefs.Mux answers them before Attach).
const FusePlaceholders = 8

// exitSetupFailed is the child's exit code when it could not build the
// sandbox; the reason is on the error pipe.
const exitSetupFailed = 125

// Op is one step of building the sandbox's root, in order.
type Op struct {
	Kind   string // bind, symlink, file, tmpfs, proc, dir
	Source string `json:",omitempty"` // bind: host path
	Target string // absolute path inside the sandbox
	Link   string `json:",omitempty"` // symlink target
	Data   []byte `json:",omitempty"` // file content
	Mode   uint32 `json:",omitempty"` // file or tmpfs mode
	RW     bool   `json:",omitempty"` // bind: writable (else read-only)
	Dev    bool   `json:",omitempty"` // bind: a device node (no nodev)
	Opts   string `json:",omitempty"` // tmpfs options
	// fuse: a FUSE mount of space Index (host directory Source), served
	// by the emulator; with Fallback, Source is bound instead when FUSE
	// cannot be mounted. Limited: the space has a size limit.
	Index    int  `json:",omitempty"`
	Fallback bool `json:",omitempty"`
	Limited  bool `json:",omitempty"`
}

// FuseReply is what a child of a FUSE view tells the emulator as soon as
// it starts: nothing, with the /dev/fuse descriptor of its FUSE mount and
// an O_PATH descriptor of the mount's root (SCM_RIGHTS, in that order), or
// why it could not mount one (no descriptor). The mount's entry "<i>" is
// the run's space i (a fuse op's Index). The emulator holds the root
// descriptor until the run is over: the file system outlives the run's
// namespace, and its teardown is not part of the run's end.
type FuseReply struct {
	Why string `json:",omitempty"`
}

// childFuse is the child's FUSE mount until its root is built.
var childFuse struct {
	root        int    // an O_PATH descriptor of the mount's root; -1: none
	why         string // why there is none
	limitedBind bool   // a space with a size limit fell back to a bind
}

// Config is everything the child needs, sent over the config pipe.
type Config struct {
	Root      string // empty host directory to mount the new root on
	Ops       []Op
	Argv      []string
	Env       []string
	Dir       string
	NProc     uint64 // RLIMIT_NPROC; 0: unchanged
	AddrSpace uint64 // RLIMIT_AS; 0: unchanged
	Probe     bool   // build the sandbox, then exit 0 instead of exec
	// FileSize is the RLIMIT_FSIZE of the code when LimitFileSize: no
	// file can grow past what the tightest size limit leaves.
	FileSize      uint64
	LimitFileSize bool
	// FuseSpaces is the number of fuse ops: the child applies FileSize
	// only if a space with a size limit fell back to a bind (the FUSE
	// server holds the limits of the others exactly).
	FuseSpaces int
	// FuseRoot and FuseDevice are set for a child spawned without its
	// FUSE mount whose run has spaces: it mounts it now (mountSpaces) and
	// waits for the emulator to serve the spaces.
	FuseRoot, FuseDevice string
	// SetIDs makes the child switch to uid/gid 1000 and drop supplementary
	// groups after building the sandbox (it started as root of its user
	// namespace, mapped to the host's root, to reach root-only paths).
	SetIDs bool
	// Home, when set, is the fallback's light mode (isolation none): no
	// new root, only a private mount namespace in which a tmpfs covers
	// /home and this host directory is bound at /home/baponi. Root and Ops
	// are unused.
	Home string
}

func init() {
	if os.Getenv(Env) != "1" {
		return // not a child; or ProtocolQuery, which main answers
	}
	runChild()
}

// runChild never returns: it execs the interpreter or exits.
func runChild() {
	// Per-thread state (no_new_privs, the seccomp filter, the parent-death
	// signal, ambient capabilities) must be set on the thread that execs.
	runtime.LockOSThread()
	errPipe := os.NewFile(errorFD, "sandbox-errors")
	unix.CloseOnExec(errorFD) // EOF on exec tells the parent the code started
	fail := func(format string, args ...any) {
		fmt.Fprintf(errPipe, format, args...)
		os.Exit(exitSetupFailed)
	}
	childFuse.root = -1
	if root := os.Getenv(FuseRootEnv); root != "" {
		if err := mountSpaces(root, os.Getenv(FuseDeviceEnv), true); err != nil {
			fail("%v", err)
		}
	}
	var cfg Config
	if err := json.NewDecoder(os.NewFile(configFD, "sandbox-config")).Decode(&cfg); err != nil {
		fail("read sandbox config: %v", err)
	}
	if cfg.FuseRoot != "" {
		if err := mountSpaces(cfg.FuseRoot, cfg.FuseDevice, false); err != nil {
			fail("%v", err)
		}
	}
	// The parent put this process in its run's cgroup before sending the
	// config: a cgroup namespace rooted there makes /proc/self/cgroup say
	// "/" instead of the host's cgroup path (the emulator's pid and
	// instance, the host's layout). A kernel without cgroup namespaces
	// (EINVAL) only loses that disclosure fix, not the run.
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil && err != unix.EINVAL {
		fail("new cgroup namespace: %v", err)
	}
	if cfg.Home != "" {
		if err := homeOnly(cfg.Home); err != nil {
			fail("%v", err)
		}
	} else {
		if err := buildRoot(&cfg); err != nil {
			fail("%v", err)
		}
		if err := loopbackUp(); err != nil {
			fail("bring up loopback: %v", err)
		}
		if err := unix.Sethostname([]byte("baponi")); err != nil {
			fail("set hostname: %v", err)
		}
	}
	if cfg.Probe {
		// With a FUSE view, the lookups of its first entries (mountSpaces)
		// went through the emulator's server: it answers.
		os.Exit(0)
	}
	if cfg.NProc > 0 {
		// Counted per user namespace: bounds this run's processes and threads
		// (a fork bomb) even without a pids cgroup.
		if err := unix.Setrlimit(unix.RLIMIT_NPROC, &unix.Rlimit{Cur: cfg.NProc, Max: cfg.NProc}); err != nil {
			fail("limit processes: %v", err)
		}
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		fail("disable core dumps: %v", err)
	}
	if cfg.SetIDs {
		// Leaving uid 0 clears every capability; from here on, nothing
		// the child does is root on the host.
		if err := syscall.Setgroups([]int{}); err != nil {
			fail("drop groups: %v", err)
		}
		if err := syscall.Setresgid(GID, GID, GID); err != nil {
			fail("set gid: %v", err)
		}
		if err := syscall.Setresuid(UID, UID, UID); err != nil {
			fail("set uid: %v", err)
		}
	}
	// Give up every capability: ambient ones would survive exec. Together
	// with uid 1000 (not root in this namespace) the code starts with none,
	// and no_new_privs keeps setuid files from giving any back.
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		fail("drop ambient capabilities: %v", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail("set no_new_privs: %v", err)
	}
	if err := unix.Chdir(cfg.Dir); err != nil {
		fail("chdir %s: %v", cfg.Dir, err)
	}
	// The code starts with exactly 0, 1 and 2: the config pipe and any
	// descriptor the emulator inherited without close-on-exec go away at
	// exec (the error pipe too, which tells the parent the code started).
	if err := CloseOnExecAbove3(); err != nil {
		fail("close inherited descriptors: %v", err)
	}
	// This process is pid 1 of the sandbox: when it dies, the kernel kills
	// every process in it. It must die with the emulator, but the switch to
	// uid 1000 cleared the parent-death signal set at clone, so it is set
	// again; if the emulator died before that, nobody reads the error pipe
	// any more (POLLERR) and the child gives up. The seccomp filter keeps
	// the code from clearing the signal.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		fail("set parent-death signal: %v", err)
	}
	if pfd := []unix.PollFd{{Fd: errorFD, Events: unix.POLLOUT}}; func() bool {
		n, err := unix.Poll(pfd, 0)
		return err == nil && n > 0 && pfd[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0
	}() {
		os.Exit(exitSetupFailed) // the emulator is gone
	}
	prog, err := seccompProgram()
	if err != nil {
		fail("%v", err)
	}
	if cfg.LimitFileSize && (cfg.FuseSpaces == 0 || childFuse.limitedBind) {
		// A write past the limit fails with EFBIG instead of killing the
		// code with SIGXFSZ (an ignored signal stays ignored across exec).
		signal.Ignore(syscall.SIGXFSZ)
		if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: cfg.FileSize, Max: cfg.FileSize}); err != nil {
			fail("limit file size: %v", err)
		}
	}
	// execve's arguments are built now: under the address-space limit
	// below, the Go heap may be unable to grow, and unix.Exec allocates
	// (the runtime died with "cannot allocate memory" there when no cgroup
	// was writable, as in a container).
	argv0, argv, envv, err := execArgs(cfg.Argv, cfg.Env)
	if err != nil {
		fail("start %s: %v", cfg.Argv[0], err)
	}
	if cfg.AddrSpace > 0 {
		// Last, just before exec: the Go runtime cannot live under a small
		// address-space limit.
		if err := unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: cfg.AddrSpace, Max: cfg.AddrSpace}); err != nil {
			fail("limit memory: %v", err)
		}
	}
	if err := installSeccomp(prog); err != nil {
		fail("%v", err)
	}
	_, _, errno := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(argv0)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	fail("start %s: %v", cfg.Argv[0], errno)
}

// execArgs converts execve's arguments to NUL-terminated C arrays.
func execArgs(argv, env []string) (*byte, []*byte, []*byte, error) {
	argv0, err := syscall.BytePtrFromString(argv[0])
	if err != nil {
		return nil, nil, nil, err
	}
	av, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return nil, nil, nil, err
	}
	ev, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return nil, nil, nil, err
	}
	return argv0, av, ev, nil
}

// homeOnly is the light mode's whole setup: in this process's private
// mount namespace, a tmpfs on /home (the host's /home disappears from the
// code's view) with home bound read-write at /home/baponi.
func homeOnly(home string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := unix.Mount("tmpfs", "/home", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=64k"); err != nil {
		return fmt.Errorf("mount a tmpfs on /home: %w", err)
	}
	return bind(home, "/home/baponi", true, false)
}

// buildRoot mounts a tmpfs on cfg.Root, fills it per cfg.Ops and makes it
// the root of this mount namespace.
func buildRoot(cfg *Config) error {
	// Nothing done here may propagate back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	root := cfg.Root
	if err := unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=16m"); err != nil {
		return fmt.Errorf("mount root tmpfs on %s: %w", root, err)
	}
	for _, o := range cfg.Ops {
		if err := apply(root, o); err != nil {
			return fmt.Errorf("%s %s: %w", o.Kind, o.Target, err)
		}
	}
	if childFuse.root >= 0 {
		unix.Close(childFuse.root)
		childFuse.root = -1
	}
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir to new root: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on the new one; detaching it
	// leaves only the new root (no put_old directory needed).
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("make root read-only: %w", err)
	}
	return nil
}

func apply(root string, o Op) error {
	t := joinPath(root, o.Target)
	switch o.Kind {
	case "dir":
		return os.MkdirAll(t, 0o755)
	case "symlink":
		if err := os.MkdirAll(dirOf(t), 0o755); err != nil {
			return err
		}
		return os.Symlink(o.Link, t)
	case "file":
		if err := os.MkdirAll(dirOf(t), 0o755); err != nil {
			return err
		}
		return os.WriteFile(t, o.Data, os.FileMode(o.Mode))
	case "tmpfs":
		if err := os.MkdirAll(t, 0o755); err != nil {
			return err
		}
		return unix.Mount("tmpfs", t, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, o.Opts)
	case "proc":
		if err := os.MkdirAll(t, 0o755); err != nil {
			return err
		}
		return unix.Mount("proc", t, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	case "bind":
		return bind(o.Source, t, o.RW, o.Dev)
	case "fuse":
		if childFuse.root < 0 {
			if !o.Fallback {
				return fmt.Errorf("no FUSE mount: %s", childFuse.why)
			}
			// FUSE could not be mounted (auto: mountSpaces said why).
			childFuse.limitedBind = childFuse.limitedBind || o.Limited
			return bind(o.Source, t, o.RW, false)
		}
		if err := os.MkdirAll(t, 0o755); err != nil {
			return err
		}
		// The space's entry in the FUSE mount, reached through the
		// descriptor of its root (the root tmpfs covers the mount point);
		// the kernel knows the first entries already (mountSpaces).
		src := fmt.Sprintf("/proc/self/fd/%d/%d", childFuse.root, o.Index)
		if err := unix.Mount(src, t, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind the FUSE view: %w", err)
		}
		flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_NOSUID | unix.MS_NODEV)
		if !o.RW {
			flags |= unix.MS_RDONLY
		}
		if err := unix.Mount("", t, "", flags, ""); err != nil {
			return fmt.Errorf("remount the FUSE view (%s): %w", mountFlagNames(flags), err)
		}
		return nil
	}
	return fmt.Errorf("unknown op %q", o.Kind)
}

// mountSpaces mounts the FUSE file system of the run's spaces on root
// (the sandbox root's mount point: the root tmpfs covers it later), in
// this child's own mount namespace, keeps a descriptor of its root for the
// binds of its entries, and hands the emulator the /dev/fuse descriptor.
// It runs as soon as the child starts, before its run is known: the
// emulator answers INIT while the child waits for a run, and a run's
// spaces cost it only their binds. A FUSE mount that fails is not an
// error here: the emulator is told why, and decides (auto binds instead).
//
// Ahead (before its run is known), it also looks up the mount's first
// entries; else (its run is known) it waits for the emulator to say that
// the run's spaces are served.
func mountSpaces(root, device string, ahead bool) error {
	// Nothing done here may propagate back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	var reply FuseReply
	fd, err := MountFUSE(device, root)
	if err == nil {
		childFuse.root, err = unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			unix.Close(fd)
			return fmt.Errorf("open the FUSE mount: %w", err)
		}
	} else {
		childFuse.why, reply.Why = err.Error(), err.Error()
	}
	msg, _ := json.Marshal(&reply)
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd, childFuse.root)
	}
	err = unix.Sendmsg(fuseFD, msg, oob, nil, 0)
	if fd >= 0 {
		unix.Close(fd)
	}
	if err != nil {
		return fmt.Errorf("hand the FUSE descriptor to the emulator: %w", err)
	}
	if !ahead {
		if childFuse.root >= 0 {
			b := []byte{0}
			if k, err := unix.Read(fuseFD, b); err != nil || k != 1 || b[0] != 1 {
				return fmt.Errorf("the emulator did not serve the FUSE view (%v)", err)
			}
		}
		return nil
	}
	// The kernel keeps the root's first entries from now on: binding a
	// run's spaces then asks the server nothing (FusePlaceholders).
	for i := range FusePlaceholders {
		if childFuse.root < 0 {
			break
		}
		if e, err := unix.Openat(childFuse.root, strconv.Itoa(i), unix.O_PATH|unix.O_CLOEXEC, 0); err == nil {
			unix.Close(e)
		}
	}
	return nil
}

// bind mounts the host file or directory src at t, nosuid, read-only unless
// rw, and nodev unless dev.
func bind(src, t string, rw, dev bool) error {
	var st unix.Stat_t
	if err := unix.Stat(src, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := os.MkdirAll(t, 0o755); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(dirOf(t), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(t, nil, 0o644); err != nil {
			return err
		}
	}
	if err := unix.Mount(src, t, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	// A remount must keep the flags the kernel locked on the source mount
	// (atime, nosuid, nodev, noexec, ro), or it is refused in a user namespace.
	var sfs unix.Statfs_t
	if err := unix.Statfs(t, &sfs); err != nil {
		return err
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_NOSUID)
	if !dev {
		flags |= unix.MS_NODEV
	}
	for _, f := range [][2]int64{
		{unix.ST_RDONLY, unix.MS_RDONLY}, {unix.ST_NOEXEC, unix.MS_NOEXEC}, {unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if sfs.Flags&f[0] != 0 {
			flags |= uintptr(f[1])
		}
	}
	if !rw {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount("", t, "", flags, ""); err != nil {
		return fmt.Errorf("remount (%s): %w", mountFlagNames(flags), err)
	}
	return nil
}

func mountFlagNames(f uintptr) string {
	var n []string
	for _, x := range []struct {
		f    uintptr
		name string
	}{{unix.MS_RDONLY, "ro"}, {unix.MS_NOSUID, "nosuid"}, {unix.MS_NODEV, "nodev"}, {unix.MS_NOEXEC, "noexec"},
		{unix.MS_NOATIME, "noatime"}, {unix.MS_RELATIME, "relatime"}} {
		if f&x.f != 0 {
			n = append(n, x.name)
		}
	}
	return strings.Join(n, ",")
}

// loopbackUp brings up lo in the new network namespace: the only interface
// there, so code can talk to itself but not to anything else.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// MountFUSE opens the FUSE device (device; "" is /dev/fuse) and mounts a
// FUSE file system named "localbaponi" at target (nosuid, nodev), for the
// caller's mount namespace, and returns the device descriptor to serve
// (close-on-exec). Every process of the caller's user namespace may use
// it; the kernel checks permissions against the attributes the server
// returns. (Read-only spaces are bound read-only, and their server refuses
// changes: the mount itself is never read-only.)
func MountFUSE(device, target string) (int, error) {
	if device == "" {
		device = "/dev/fuse"
	}
	fd, err := unix.Open(device, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", device, err)
	}
	data := fmt.Sprintf("fd=%d,rootmode=40000,user_id=%d,group_id=%d,default_permissions,allow_other", fd, os.Getuid(), os.Getgid())
	if err := unix.Mount("localbaponi", target, "fuse.localbaponi", unix.MS_NOSUID|unix.MS_NODEV, data); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("mount fuse on %s: %w", target, err)
	}
	return fd, nil
}

// joinPath is root/target for a clean absolute target (path/filepath is
// not imported here: see the package doc).
func joinPath(root, target string) string {
	return strings.TrimSuffix(root, "/") + "/" + strings.TrimPrefix(target, "/")
}

// dirOf is the directory of the clean path p.
func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return "/"
}
