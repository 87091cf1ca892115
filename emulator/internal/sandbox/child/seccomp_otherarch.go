//go:build linux && !amd64 && !arm64

package child

// auditArch 0: the runner has no filter for this architecture and says so
// (seccompProgram returns an error; the run fails rather than run unfiltered).
const auditArch = 0

const nrMask = 0

var archDeniedSyscalls = []uintptr{}
