//go:build linux

package sandbox

// The fallback's light mode (isolation none): where a mount namespace can
// be made without privileges (an unprivileged user namespace, or root),
// the code still runs as a plain subprocess of the emulator's own user,
// with the host's filesystem, network and processes, but /home/baponi is
// its thread directory (a tmpfs covers /home in its private mount
// namespace), and it starts through the sandbox child: no_new_privs, the
// seccomp filter (no ptrace, mount, keyctl, bpf, new namespaces, ...), a
// parent-death signal and exactly fds 0-2.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// lightSetupWait bounds how long the light child may take to set up.
const lightSetupWait = 20 * time.Second

// lightStart starts the light child with cfg (cfg.Home set) writing to
// stdout and stderr. It returns once the child has exec'd the code (or,
// with cfg.Probe, exited); setupErr is the child's own message when it
// could not set up (it then exits), err a failure to start it at all.
func (r *Runner) lightStart(cfg childConfig, stdout, stderr *os.File) (cmd *exec.Cmd, setupErr string, err error) {
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, "", err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		cfgR.Close()
		cfgW.Close()
		return nil, "", err
	}
	defer errR.Close()
	cmd = &exec.Cmd{
		Path:        r.child,
		Args:        []string{"baponi-sandbox"},
		Env:         []string{childEnv + "=1"},
		Dir:         "/",
		Stdout:      stdout,
		Stderr:      stderr,
		ExtraFiles:  []*os.File{cfgR, errW}, // fds 3 and 4
		SysProcAttr: lightAttr(),
	}
	err = cmd.Start()
	cfgR.Close()
	errW.Close()
	if err != nil {
		cfgW.Close()
		return nil, "", err
	}
	if err := json.NewEncoder(cfgW).Encode(&cfg); err != nil {
		setupErr = "send sandbox config: " + err.Error()
	}
	cfgW.Close()
	_ = errR.SetReadDeadline(time.Now().Add(lightSetupWait))
	msg, rerr := io.ReadAll(errR) // EOF at exec (close-on-exec) or exit
	switch {
	case len(msg) > 0 && setupErr == "":
		setupErr = string(msg)
	case rerr != nil && setupErr == "":
		setupErr = "set up: " + rerr.Error()
	}
	return cmd, setupErr, nil
}

// lightAttr: a process group of its own (the fallback kills the group),
// a private mount namespace, and, unprivileged, a user namespace in which
// the emulator's user is itself, with CAP_SYS_ADMIN (ambient: kept across
// the re-exec) to mount; the child drops it before exec.
func lightAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Cloneflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() == 0 {
		return a
	}
	uid, gid := os.Geteuid(), os.Getegid()
	a.Cloneflags |= syscall.CLONE_NEWUSER
	a.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
	a.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
	a.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	a.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN}
	return a
}

// probeLight finds out once whether the light mode works here: a light
// child that sets up and exits.
func (r *Runner) probeLight() error {
	home, err := os.MkdirTemp("", "localbaponi-probe-")
	if err != nil {
		return err
	}
	defer os.Remove(home)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	if _, err := exec.LookPath("/bin/true"); err != nil {
		return err
	}
	cmd, setupErr, err := r.lightStart(childConfig{Home: home, Probe: true, Argv: []string{"/bin/true"}, Dir: "/home/baponi"}, null, null)
	if err != nil {
		return err
	}
	werr := cmd.Wait()
	if setupErr != "" {
		return errors.New(strings.TrimSpace(setupErr))
	}
	if werr != nil {
		return fmt.Errorf("light probe: %w", werr)
	}
	return nil
}

// lightHome reports whether the fallback gives code /home/baponi, probing
// once per runner; why says why not.
func (r *Runner) lightHome() (ok bool, why string) {
	r.homeOnce.Do(func() {
		if err := r.probeLight(); err != nil {
			r.homeWhy = err.Error()
			r.log.Info("sandbox: isolation none: no mount namespace for /home/baponi; the thread directory is the working directory", "reason", r.homeWhy)
			return
		}
		r.homeOK = true
	})
	return r.homeOK, r.homeWhy
}
