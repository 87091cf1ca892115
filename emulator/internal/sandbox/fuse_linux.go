//go:build linux

package sandbox

// The FUSE view of namespaces mode (Options.FS): the child mounts a FUSE
// file system at /home/baponi and at each /volumes/<slug> in its own mount
// namespace and hands the /dev/fuse descriptors back over its fd 5; the
// emulator serves each with spacefs for the run's lifetime. Code then sees
// no host path in mountinfo (the mount's root is "/") and a write past a
// size limit fails with ENOSPC, exactly. The mounts exist only in the
// run's mount namespace: they go away with its last process, and with the
// emulator (its descriptors close, the child dies of its parent-death
// signal).

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/localbaponi/localbaponi/emulator/internal/sandbox/spacefs"
)

// space is a thread directory or volume of one run.
type space struct {
	host, inside string
	readOnly     bool
	quota, used  int64
	limitName    string
}

// servedSpace is a space served over FUSE during a run.
type servedSpace struct {
	space
	fs *spacefs.FS // nil: the mount was gone before it was served
}

// serveSpaces receives the child's FUSE descriptors once its root is
// built and serves them. It returns nil, nil when the child ended before
// (its error pipe says why). The spaces the child could not mount were
// bound instead (auto); it logs why once.
func (n *nsRunner) serveSpaces(p *proc, spaces []space) ([]*servedSpace, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*len(spaces)))
	k, oobn, _, _, err := unix.Recvmsg(int(p.fuseSock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receive the FUSE descriptors: %w", err)
	}
	if k == 0 {
		return nil, nil // the child is gone
	}
	var fds []int
	if oobn > 0 {
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return nil, fmt.Errorf("receive the FUSE descriptors: %w", err)
		}
		for _, m := range msgs {
			got, err := unix.ParseUnixRights(&m)
			if err == nil {
				fds = append(fds, got...)
			}
		}
	}
	closeFrom := func(i int) {
		for _, fd := range fds[i:] {
			unix.Close(fd)
		}
	}
	var reply fuseReply
	if err := json.Unmarshal(buf[:k], &reply); err != nil || len(reply.Spaces) != len(fds) {
		closeFrom(0)
		return nil, fmt.Errorf("the sandbox's FUSE reply: %d descriptors for %q (%v)", len(fds), buf[:k], err)
	}
	if reply.Why != "" {
		n.fuseOnce.Do(func() {
			n.fuseWhy = reply.Why
			n.r.log.Warn("sandbox: FUSE cannot be mounted in the run's namespace; the thread and volumes are bind mounts (host paths show in mountinfo, size limits end in EFBIG)",
				"reason", reply.Why)
		})
	}
	var served []*servedSpace
	for i, idx := range reply.Spaces {
		if idx < 0 || idx >= len(spaces) {
			closeFrom(i)
			return served, fmt.Errorf("the sandbox's FUSE reply names space %d of %d", idx, len(spaces))
		}
		s := spaces[idx]
		root, err := os.OpenFile(s.host, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			closeFrom(i)
			return served, fmt.Errorf("serve %s: %w", s.inside, err)
		}
		fs, err := spacefs.Serve(fds[i], spacefs.Options{
			Root: root, ReadOnly: s.readOnly, Used: s.used,
			Quota: map[bool]int64{true: 0, false: s.quota}[s.readOnly],
			Chown: n.asRoot, UID: n.hostUID, GID: n.hostGID,
			InsideUID: sandboxUID, InsideGID: sandboxGID, RootMapped: n.asRoot,
		})
		if errors.Is(err, spacefs.ErrUnmounted) {
			// The run ended before it needed the space: it was mounted
			// (the run's view is fuse), but there is nothing to serve.
			served = append(served, &servedSpace{space: s})
			continue
		}
		if err != nil {
			closeFrom(i + 1)
			return served, fmt.Errorf("serve %s: %w", s.inside, err)
		}
		served = append(served, &servedSpace{space: s, fs: fs})
	}
	return served, nil
}

// unservedLimits drops from limited the spaces a FUSE server holds.
func unservedLimits(limited []limitedDir, served []*servedSpace) []limitedDir {
	if len(served) == 0 {
		return limited
	}
	return slices.DeleteFunc(slices.Clone(limited), func(d limitedDir) bool {
		return slices.ContainsFunc(served, func(s *servedSpace) bool { return s.inside == d.inside })
	})
}

// concludeSpaces notes, in a failed run's error, the size limit that a
// FUSE server held against the code, and returns the run's file view.
// The servers end on their own when the run's mount namespace goes away.
func (n *nsRunner) concludeSpaces(res *Result, spec Spec, served []*servedSpace) string {
	for _, s := range served {
		if s.fs == nil {
			continue
		}
		go func() {
			select {
			case <-s.fs.Done():
			case <-time.After(time.Minute):
				n.r.log.Warn("sandbox: a FUSE server still runs a minute after its run ended", "mount", s.inside)
			}
		}()
		if res.Status == StatusFailed && s.fs.QuotaHit() && !strings.Contains(res.Error, s.inside) {
			res.Error = joinNote(res.Error, fmt.Sprintf("Disk quota reached: %s holds %d MiB, %s is %d MiB; writes past it fail with ENOSPC (No space left on device)",
				s.inside, s.fs.Used()>>20, s.limitName, s.quota>>20))
		}
	}
	switch {
	case len(served) > 0:
		return FSFuse
	case spec.HomeDir != "" || len(spec.Volumes) > 0:
		return FSBind
	}
	return ""
}
