package emulator

import (
	"errors"
	"fmt"

	"github.com/localbaponi/localbaponi/emulator/internal/api"
	"github.com/localbaponi/localbaponi/emulator/internal/execution"
	"github.com/localbaponi/localbaponi/emulator/internal/sandbox"
)

// SandboxOptions configure code execution (/v1/sandbox/execute).
type SandboxOptions struct {
	// Isolation is "auto" (default: namespaces where available, else a
	// plain subprocess with a warning), "namespaces" or "none".
	Isolation string
	// Python, Node and Bash are interpreter paths; default: found on PATH.
	Python, Node, Bash string
	// FS is how namespaces mode shows the thread and volumes to code:
	// "auto" (default: fuse where the sandbox can mount it, else bind),
	// "fuse" or "bind" (--sandbox-fs).
	FS string
	// Binary is a separate sandbox child binary (--sandbox-binary; built
	// from ./emulator/cmd/localbaponi-sandbox) to run instead of
	// re-executing the emulator's own. "": the emulator's own.
	Binary string
}

// execHandle holds the sandbox runner and the execution service.
type execHandle struct {
	runner *sandbox.Runner
	svc    *execution.Service
}

// startRunner makes the sandbox runner. It runs before the store writes
// anything (volume seeds), so that everything the store creates in a space
// already belongs to the sandbox user (FileOwner): the runner never chowns
// a tree that code can write.
func (e *Emulator) startRunner() error {
	o := e.opts.Sandbox
	r, err := sandbox.NewRunner(sandbox.Options{
		Isolation: o.Isolation, Python: o.Python, Node: o.Node, Bash: o.Bash, FS: o.FS, Binary: o.Binary,
		Logger: e.log.With("component", "sandbox"),
	})
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	if uid, gid, ok := r.FileOwner(); ok {
		e.local.SetFileOwner(uid, gid)
	}
	e.exec = &execHandle{runner: r}
	return nil
}

// startExec starts the execution service. With a remote store, code runs
// in a local copy of its spaces (e.local), kept in step by e.mirror.
func (e *Emulator) startExec(s *api.Server) error {
	r := e.exec.runner
	cfg := execution.Config{Runner: r, Store: e.local, Clock: e.clock, Logger: e.log.With("component", "execution"),
		Deliver: e.deliverWebhook}
	if e.mirror != nil {
		cfg.Mirror = e.mirror
	}
	svc := execution.New(cfg)
	e.exec.svc = svc
	s.Exec = svc
	return nil
}

// stopExec cancels the running executions, waits for them (and for their
// webhook deliveries), and closes the sandbox runner.
func (e *Emulator) stopExec() error {
	if e.exec == nil {
		return nil
	}
	var errs []error
	if e.exec.svc != nil {
		if err := e.exec.svc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("emulator: close executions: %w", err))
		}
	}
	if err := e.exec.runner.Close(); err != nil {
		errs = append(errs, fmt.Errorf("emulator: close sandbox: %w", err))
	}
	e.exec = nil
	return errors.Join(errs...)
}

func (e *Emulator) execInfo(m map[string]any) {
	if e.exec == nil {
		return
	}
	iso := map[string]any{"mode": e.exec.runner.Mode()}
	if reason := e.exec.runner.Reason(); reason != "" {
		iso["reason"] = reason
	}
	if fs := e.exec.runner.FileView(); fs != "" {
		iso["sandbox_fs"] = fs
		if why := e.exec.runner.FileViewReason(); why != "" {
			iso["sandbox_fs_reason"] = why
		}
	}
	if bin := e.exec.runner.Binary(); bin != "" {
		iso["sandbox_binary"] = bin
	}
	m["isolation"] = iso
}
