package emulator

import "github.com/localbaponi/localbaponi/emulator/internal/api"

// SandboxOptions configure code execution (/v1/sandbox/execute).
type SandboxOptions struct {
	// Isolation is "auto" (default: namespaces where available, else a
	// plain subprocess with a warning), "namespaces" or "none".
	Isolation string
	// Python, Node and Bash are interpreter paths; default: found on PATH.
	Python, Node, Bash string
}

// execHandle holds the execution service (wired by the execute work).
type execHandle struct{}

func (e *Emulator) startExec(s *api.Server) error { return nil }

func (e *Emulator) stopExec() {}

func (e *Emulator) execInfo(m map[string]any) {}
