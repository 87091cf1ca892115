//go:build linux

package sandbox

import "github.com/localbaponi/localbaponi/emulator/internal/sandbox/child"

// The child's side lives in package child (see its doc: why it is a
// package of its own); these are its names here.
type (
	childConfig = child.Config
	op          = child.Op
	fuseReply   = child.FuseReply
)

const (
	childEnv                   = child.Env
	fuseRootEnv, fuseDeviceEnv = child.FuseRootEnv, child.FuseDeviceEnv
	sandboxUID, sandboxGID     = child.UID, child.GID
)
