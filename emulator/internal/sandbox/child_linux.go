//go:build linux

package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/localbaponi/localbaponi/emulator/internal/buildrev"
	"github.com/localbaponi/localbaponi/emulator/internal/sandbox/child"
)

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

// selfExe is the default sandbox child: the emulator's own binary.
const selfExe = "/proc/self/exe"

// childBinary checks a separate sandbox child binary (Options.Binary) and
// returns the path to execute. The emulator runs it with its own
// privileges (often root) to build every sandbox, so it is trusted as
// the emulator itself is: it must be a regular executable file owned by
// root or by the emulator's user and writable by no one else, and it
// must speak the emulator's protocol (and, where both builds stamped a
// source revision, come from the same one).
func childBinary(path string) (string, error) {
	if path == "" {
		return selfExe, nil
	}
	const flag = "--sandbox-binary"
	path, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("sandbox: %s: %w", flag, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", fmt.Errorf("sandbox: %s %s: %w", flag, path, err)
	}
	euid := uint32(os.Geteuid())
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return "", fmt.Errorf("sandbox: %s %s: not a regular file", flag, path)
	case st.Mode&0o111 == 0:
		return "", fmt.Errorf("sandbox: %s %s: not executable", flag, path)
	case st.Uid != 0 && st.Uid != euid:
		return "", fmt.Errorf("sandbox: %s %s: owned by uid %d; must be owned by root or by the emulator's user (uid %d)", flag, path, st.Uid, euid)
	case st.Mode&0o022 != 0:
		return "", fmt.Errorf("sandbox: %s %s: mode %04o lets others write it; it runs with the emulator's privileges", flag, path, st.Mode&0o7777)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Env = []string{childEnv + "=" + child.ProtocolQuery}
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return "", fmt.Errorf("sandbox: %s %s: did not say its protocol in 10 s: not a localbaponi-sandbox binary?", flag, path)
	}
	if err != nil || len(out) == 0 {
		return "", fmt.Errorf("sandbox: %s %s: asking it for its protocol: %v %q: not a localbaponi-sandbox binary?", flag, path, err, out)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	proto, rev := child.Protocol(), buildrev.Revision()
	theirs, theirRev := lines[0], ""
	if len(lines) > 1 {
		theirRev = lines[1]
	}
	if theirs != proto {
		return "", fmt.Errorf("sandbox: %s %s: speaks %q, this emulator %q: build it from the same source (go build ./emulator/cmd/localbaponi-sandbox)", flag, path, theirs, proto)
	}
	if rev != "" && theirRev != "" && rev != theirRev {
		return "", fmt.Errorf("sandbox: %s %s: built from revision %s, this emulator from %s: build both from the same source", flag, path, theirRev, rev)
	}
	return path, nil
}
