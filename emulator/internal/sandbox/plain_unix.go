//go:build unix

package sandbox

// The fallback runner: a plain subprocess in its own process group, with
// HOME and the working directory set to the thread directory. It limits
// time and output, but it does not isolate anything; the runner says so.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/rmtree"
	"github.com/localbaponi/localbaponi/emulator/internal/sandbox/child"
)

// missingPathsNote explains, for a failed run of the fallback, why the
// sandbox's fixed paths are not there when the code names them: reason is
// why the runner does not isolate; homeMounted says the light mode gave
// the code /home/baponi (volumes are never mounted: /volumes cannot be
// made on the host without privileges), whyNot why it could not. "" when
// the code names none of the missing paths.
func missingPathsNote(code []byte, reason string, homeMounted bool, whyNot string) string {
	paths := []string{"/home/baponi", "/volumes/"}
	if homeMounted {
		paths = paths[1:]
	}
	var missing []string
	for _, p := range paths {
		if bytes.Contains(code, []byte(p)) {
			if _, err := os.Stat(p); err != nil {
				missing = append(missing, p)
			}
		}
	}
	if len(missing) == 0 {
		return ""
	}
	if homeMounted {
		return fmt.Sprintf("isolation none (%s): volumes are not mounted, %s does not exist; /home/baponi is the thread directory", reason, missing[0])
	}
	return fmt.Sprintf("isolation none (%s): %s does not exist, because nothing can be mounted there without privileges here (%s); "+
		"the thread directory is the working directory and $HOME, volumes are not mounted", reason, strings.Join(missing, " and "), whyNot)
}

func joinNote(err, note string) string {
	switch {
	case note == "":
		return err
	case err == "":
		return note
	}
	return err + "; " + note
}

func runPlain(ctx context.Context, r *Runner, spec Spec, it *interp) (Result, error) {
	began := time.Now()
	home := spec.HomeDir
	if home == "" {
		tmp, err := os.MkdirTemp("", "localbaponi-home-")
		if err != nil {
			return Result{}, fmt.Errorf("sandbox: temporary home: %w", err)
		}
		defer rmtree.RemoveAll(tmp) // code may leave a very deep tree
		home = tmp
	}
	file := ""
	if len(spec.Code) > inlineCodeMax {
		dir, err := os.MkdirTemp("", "localbaponi-code-")
		if err != nil {
			return Result{}, fmt.Errorf("sandbox: code file: %w", err)
		}
		defer rmtree.RemoveAll(dir)
		file = filepath.Join(dir, scriptName(spec.Language))
		if err := os.WriteFile(file, spec.Code, 0o644); err != nil {
			return Result{}, fmt.Errorf("sandbox: code file: %w", err)
		}
	}
	sizes := baseline(limitedDirs(spec))
	args := argv(spec.Language, it.path, spec.Code, file)
	out, errOut := newCapture(spec.OutputCap, spec.Stdout), newCapture(spec.OutputCap, spec.Stderr)
	outR, outW, err := os.Pipe()
	if err != nil {
		return Result{}, fmt.Errorf("sandbox: pipe: %w", err)
	}
	errOutR, errOutW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return Result{}, fmt.Errorf("sandbox: pipe: %w", err)
	}
	// The interpreter starts with 0, 1 and 2 only, not with descriptors
	// the emulator inherited without close-on-exec.
	if cerr := child.CloseOnExecAbove3(); cerr != nil {
		r.log.Warn("sandbox: marking inherited descriptors close-on-exec", "err", cerr)
	}
	var cmd *exec.Cmd
	light, whyNot := r.lightHome()
	setupErr := ""
	if light {
		// /home/baponi is the thread directory; the child sets the limits.
		fsize, limitFiles := fileSizeLimit(limitedDirs(spec))
		cmd, setupErr, err = r.lightStart(childConfig{
			Home: home, Argv: args, Env: baseEnv("/home/baponi", it, spec.Env), Dir: "/home/baponi",
			AddrSpace: addressSpaceLimit(spec.Language, spec.MemoryLimit), FileSize: fsize, LimitFileSize: limitFiles,
		}, outW, errOutW)
	} else {
		cmd = &exec.Cmd{
			Path:        it.path,
			Args:        args,
			Env:         baseEnv(home, it, spec.Env),
			Dir:         home,
			Stdout:      outW,
			Stderr:      errOutW,
			SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
		}
		err = cmd.Start()
	}
	outW.Close()
	errOutW.Close()
	if err != nil {
		outR.Close()
		errOutR.Close()
		return Result{ExitCode: -1, Status: StatusFailed, Error: "start interpreter: " + err.Error(),
			Stdout: []byte{}, Stderr: []byte{}, Duration: time.Since(began)}, nil
	}
	if !light {
		limitPlain(cmd.Process.Pid, spec, r)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); out.drain(outR) }()
	go func() { defer wg.Done(); errOut.drain(errOutR) }()
	pgid := cmd.Process.Pid
	killGroup := func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }
	var timedOut, cancelled atomic.Bool
	var overQuota atomic.Pointer[string]
	stopWatch := watchQuota(ctx, limitedDirs(spec), func(msg string) { overQuota.Store(&msg); killGroup() })
	defer stopWatch()
	timer := time.AfterFunc(spec.Timeout, func() { timedOut.Store(true); killGroup() })
	defer timer.Stop()
	stop := context.AfterFunc(ctx, func() { cancelled.Store(true); killGroup() })
	defer stop()
	werr := cmd.Wait()
	// A child that made itself our tracee (ptrace(PTRACE_TRACEME)) stops
	// at its next signal or exec, and wait reports the stop as if it had
	// ended: nobody here will ever resume it. End it now, and reap it
	// (it would stay a zombie, its group's other processes running on).
	traced := false
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Stopped() {
		traced = true
		killGroup()
		for {
			var st syscall.WaitStatus
			_, err := syscall.Wait4(pgid, &st, 0, nil)
			if err == syscall.EINTR || (err == nil && !st.Exited() && !st.Signaled()) {
				continue
			}
			break
		}
	}
	timer.Stop()
	stopWatch()
	// What the code left running in its group goes with it, as in the
	// sandbox; a process that left the group (setsid) may keep the pipes
	// open, so stop reading after a grace period.
	killGroup()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		r.log.Warn("sandbox: a process of the code outlived it (fallback mode cannot contain it)")
	}
	outR.Close()
	errOutR.Close()
	<-done
	res := Result{Duration: time.Since(began), Started: began}
	res.Stdout, res.Truncated = out.bytes()
	var t2 bool
	res.Stderr, t2 = errOut.bytes()
	res.Truncated = res.Truncated || t2
	end := ending{timedOut: timedOut.Load(), cancelled: cancelled.Load(), sizes: &sizes, traced: traced, setupErr: setupErr}
	if q := overQuota.Load(); q != nil {
		end.overQuota = *q
	}
	if err := res.conclude(end, werr, cmd.ProcessState, spec); err != nil {
		return Result{}, err
	}
	if res.Status != StatusSuccess {
		res.Error = joinNote(res.Error, missingPathsNote(spec.Code, r.reason, light, whyNot))
	}
	return res, nil
}
