//go:build unix

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// ending is what a runner saw of how a run ended, besides the process's
// wait status.
type ending struct {
	timedOut  bool
	oom       bool   // the cgroup killed the code for memory
	cancelled bool   // the run's context was cancelled
	setupErr  string // the sandbox could not be built around the code
	overQuota string // the watcher ended the run: a mount held too much
	// traced: the code made itself the emulator's tracee (isolation none)
	// and stopped; the runner ended it.
	traced bool
	// sizes, if set, tells a failed run that ran into a size limit.
	sizes *sizeBaseline
}

// conclude sets res's status, exit code and error once the code's process
// was waited for (werr is what Wait returned). The first that applies wins:
// a timeout, a size limit, running out of memory, a cancel, a sandbox that could not be
// built, a signal, the exit status. Only a failed wait is an error.
func (res *Result) conclude(end ending, werr error, ps *os.ProcessState, spec Spec) error {
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return fmt.Errorf("sandbox: wait: %w", werr)
	}
	ws, _ := ps.Sys().(syscall.WaitStatus)
	switch {
	case end.timedOut:
		res.Status, res.ExitCode = StatusTimeout, ExitTimeout
		res.Error = fmt.Sprintf("Execution timed out after %s", spec.Timeout)
	case end.overQuota != "":
		res.Status, res.ExitCode = StatusFailed, ExitKilled
		res.Error = end.overQuota
	case end.oom:
		res.Status, res.ExitCode = StatusOOM, ExitKilled
		res.Error = fmt.Sprintf("Memory limit exceeded (%d MiB)", spec.MemoryLimit>>20)
	case end.cancelled:
		res.Status, res.ExitCode = StatusCancelled, ExitKilled
		res.Error = "Execution cancelled"
	case end.setupErr != "":
		res.Status, res.ExitCode = StatusFailed, -1
		res.Error = "sandbox: " + end.setupErr
	case end.traced:
		res.Status, res.ExitCode = StatusFailed, ExitKilled
		res.Error = "ptrace is not allowed: the code made itself the emulator's tracee (PTRACE_TRACEME) and stopped; the run was ended"
	case ws.Signaled():
		res.Status, res.ExitCode = StatusFailed, 128+int(ws.Signal())
		res.Error = fmt.Sprintf("Process killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
	case ws.ExitStatus() == 0:
		res.Status = StatusSuccess
	default:
		res.Status, res.ExitCode = StatusFailed, ws.ExitStatus()
	}
	// Code that failed after a write past a size limit (EFBIG, or SIGXFSZ
	// where the interpreter does not ignore it) gets told which limit.
	if res.Status == StatusFailed && end.overQuota == "" && end.setupErr == "" && end.sizes != nil {
		res.Error = joinNote(res.Error, end.sizes.reached())
	}
	return nil
}
