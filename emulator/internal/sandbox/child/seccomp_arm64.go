//go:build linux && arm64

package child

import "golang.org/x/sys/unix"

// auditArch is the only architecture the filter lets through.
const auditArch = unix.AUDIT_ARCH_AARCH64

// nrMask: arm64 has no second ABI sharing its arch value.
const nrMask = 0

// archDeniedSyscalls are denied only where they exist.
var archDeniedSyscalls = []uintptr{}
