//go:build unix && !linux

package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
)

// childConfig is the light child's config; there is none off Linux.
type childConfig struct {
	Home, Dir           string
	Argv, Env           []string
	AddrSpace, FileSize uint64
	LimitFileSize       bool
	Probe               bool
}

func (r *Runner) lightStart(childConfig, *os.File, *os.File) (*exec.Cmd, string, error) {
	return nil, "", errors.New("mount namespaces need Linux")
}

func (r *Runner) lightHome() (bool, string) {
	return false, "mount namespaces need Linux; this is " + runtime.GOOS
}
