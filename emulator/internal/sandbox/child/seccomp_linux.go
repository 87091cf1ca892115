//go:build linux

package child

// The seccomp filter installed in the child after the sandbox is built and
// just before exec: a deny list in the spirit of Docker's and nsjail's
// default profiles. Denied calls fail with EPERM (clone3 with ENOSYS, so
// that the C library falls back to clone, whose flags the filter can see);
// a system call made through another architecture's ABI (i386 or x32 on
// x86_64, arm32 compat on arm64) kills the process, because its numbers
// mean other calls.

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// deniedSyscalls are refused with EPERM on every architecture: kernel
// keyrings, BPF and perf, tracing other processes, mounting, kexec and
// modules, handle-based opens, userfaultfd, io_uring, namespaces,
// clock and system state.
var deniedSyscalls = append([]uintptr{
	unix.SYS_ACCT, unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY, unix.SYS_KEYCTL,
	unix.SYS_BPF, unix.SYS_PERF_EVENT_OPEN, unix.SYS_FANOTIFY_INIT, unix.SYS_LOOKUP_DCOOKIE,
	unix.SYS_PTRACE, unix.SYS_PROCESS_VM_READV, unix.SYS_PROCESS_VM_WRITEV, unix.SYS_PIDFD_GETFD,
	unix.SYS_PROCESS_MADVISE, unix.SYS_KCMP,
	unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_CHROOT, unix.SYS_MOUNT_SETATTR,
	unix.SYS_FSOPEN, unix.SYS_FSCONFIG, unix.SYS_FSMOUNT, unix.SYS_FSPICK, unix.SYS_MOVE_MOUNT, unix.SYS_OPEN_TREE,
	unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD, unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE, unix.SYS_DELETE_MODULE,
	unix.SYS_NAME_TO_HANDLE_AT, unix.SYS_OPEN_BY_HANDLE_AT,
	unix.SYS_USERFAULTFD,
	unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER,
	unix.SYS_UNSHARE, unix.SYS_SETNS,
	unix.SYS_REBOOT, unix.SYS_SWAPON, unix.SYS_SWAPOFF, unix.SYS_SYSLOG, unix.SYS_VHANGUP,
	unix.SYS_QUOTACTL, unix.SYS_QUOTACTL_FD, unix.SYS_NFSSERVCTL,
	unix.SYS_SETTIMEOFDAY, unix.SYS_CLOCK_SETTIME, unix.SYS_CLOCK_ADJTIME, unix.SYS_ADJTIMEX,
	unix.SYS_SETHOSTNAME, unix.SYS_SETDOMAINNAME, unix.SYS_PERSONALITY,
}, archDeniedSyscalls...)

// nsCloneFlags are the clone flags that create namespaces: refused, so code
// cannot build a new user namespace (and gain capabilities in it) from
// inside.
const nsCloneFlags = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// Offsets in struct seccomp_data (little-endian: the low half of an
// argument comes first).
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16
)

// bpfInsn is an instruction with symbolic jump targets, resolved by assemble.
type bpfInsn struct {
	code   uint16
	k      uint32
	jt, jf string // labels; "" means the next instruction
	label  string // this instruction's label
}

func stmt(code uint16, k uint32) bpfInsn { return bpfInsn{code: code, k: k} }

func jump(code uint16, k uint32, jt, jf string) bpfInsn {
	return bpfInsn{code: code, k: k, jt: jt, jf: jf}
}

func labelled(l string, i bpfInsn) bpfInsn { i.label = l; return i }

// seccompProgram returns the filter for this architecture, or an error on
// one the runner does not know.
func seccompProgram() ([]unix.SockFilter, error) {
	if auditArch == 0 {
		return nil, fmt.Errorf("seccomp: no filter for this architecture")
	}
	const (
		ldW  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jset = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
	)
	p := []bpfInsn{
		stmt(ldW, offArch),
		jump(jeq, auditArch, "", "kill"),
		stmt(ldW, offNr),
	}
	if nrMask != 0 {
		p = append(p, jump(jset, nrMask, "kill", "")) // x32 on x86_64
	}
	p = append(p,
		jump(jeq, uint32(unix.SYS_CLONE), "clone", ""),
		jump(jeq, uint32(unix.SYS_CLONE3), "enosys", ""),
		jump(jeq, uint32(unix.SYS_PRCTL), "prctl", ""),
	)
	for _, nr := range deniedSyscalls {
		p = append(p, jump(jeq, uint32(nr), "eperm", ""))
	}
	p = append(p,
		stmt(ret, unix.SECCOMP_RET_ALLOW),
		// clone(flags, ...): flags is the first argument on both ABIs.
		labelled("clone", stmt(ldW, offArg0)),
		jump(jset, nsCloneFlags, "eperm", "allow"),
		// prctl(PR_SET_PDEATHSIG, ...) would let pid 1 of the sandbox
		// outlive the emulator.
		labelled("prctl", stmt(ldW, offArg0)),
		jump(jeq, unix.PR_SET_PDEATHSIG, "eperm", "allow"),
		labelled("allow", stmt(ret, unix.SECCOMP_RET_ALLOW)),
		labelled("eperm", stmt(ret, unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM))),
		labelled("enosys", stmt(ret, unix.SECCOMP_RET_ERRNO|uint32(unix.ENOSYS))),
		labelled("kill", stmt(ret, unix.SECCOMP_RET_KILL_PROCESS)),
	)
	return assemble(p)
}

// assemble resolves labels into relative jump offsets.
func assemble(p []bpfInsn) ([]unix.SockFilter, error) {
	at := map[string]int{}
	for i, in := range p {
		if in.label != "" {
			at[in.label] = i
		}
	}
	off := func(i int, l string) (uint8, error) {
		if l == "" {
			return 0, nil
		}
		j, ok := at[l]
		if !ok || j <= i || j-i-1 > 255 {
			return 0, fmt.Errorf("seccomp: bad jump to %q from %d", l, i)
		}
		return uint8(j - i - 1), nil
	}
	out := make([]unix.SockFilter, len(p))
	for i, in := range p {
		jt, err := off(i, in.jt)
		if err != nil {
			return nil, err
		}
		jf, err := off(i, in.jf)
		if err != nil {
			return nil, err
		}
		out[i] = unix.SockFilter{Code: in.code, Jt: jt, Jf: jf, K: in.k}
	}
	return out, nil
}

// installSeccomp installs the filter prog on the calling thread, which must
// be the one that execs (the caller has locked it) and must have
// no_new_privs.
func installSeccomp(prog []unix.SockFilter) error {
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); errno != 0 {
		return fmt.Errorf("seccomp: %w", errno)
	}
	return nil
}
