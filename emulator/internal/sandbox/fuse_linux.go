//go:build linux

package sandbox

// The FUSE view of namespaces mode (Options.FS): as soon as it starts,
// before its run is known, a child mounts one FUSE file system on the
// sandbox root's mount point in its own mount namespace and hands the
// /dev/fuse descriptor back over its fd 5; the emulator serves it with a
// spacefs.Mux (INIT answered while the child waits for a run). When the
// run comes, its thread and volumes become the mount's entries "0", "1", …
// (attachSpaces) and the child binds each at /home/baponi or
// /volumes/<slug>; the root tmpfs covers the mount point, and pivot_root
// drops it. Code then sees no host path in mountinfo (a mount's root is
// "/<n>") and a write past a size limit fails with ENOSPC, exactly. The
// mount exists only in the run's mount namespace. The child also hands
// the emulator a descriptor of the mount's root, which keeps the file
// system until the run is over (its teardown is not part of the run's
// end); the file system goes away when the emulator lets it go after the
// run, or dies (its descriptors close, the child dies of its parent-death
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
	fs *spacefs.FS
}

// receiveMount receives what a child of a FUSE view sends as soon as it
// starts (mountSpaces): the /dev/fuse descriptor of its mount, which is
// served at once (INIT), and a descriptor of the mount's root, held until
// the run is over; or why there is none.
func (n *nsRunner) receiveMount(p *proc) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*2))
	// The socket is non-blocking: the wait is a parked goroutine, not a
	// thread blocked in recvmsg(2).
	var k, oobn int
	rc, err := p.fuseSock.SyscallConn()
	if err == nil {
		rerr := rc.Read(func(fd uintptr) bool {
			k, oobn, _, _, err = unix.Recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
			return err != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
	}
	if err != nil || k == 0 {
		p.fuseErr = fmt.Errorf("receive the FUSE descriptor: the sandbox ended (%v)", err)
		return
	}
	var fds []int
	if oobn > 0 {
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if got, err := unix.ParseUnixRights(&m); err == nil {
					fds = append(fds, got...)
				}
			}
		}
	}
	var reply fuseReply
	if err := json.Unmarshal(buf[:k], &reply); err != nil || (len(fds) == 2) == (reply.Why != "") {
		for _, f := range fds {
			unix.Close(f)
		}
		p.fuseErr = fmt.Errorf("the sandbox's FUSE reply %q with %d descriptors: %v", buf[:k], len(fds), err)
		return
	}
	if reply.Why != "" {
		p.fuseWhy = reply.Why
		n.fuseOnce.Do(func() {
			n.fuseWhy = reply.Why
			n.r.log.Warn("sandbox: FUSE cannot be mounted in the run's namespace; the thread and volumes are bind mounts (host paths show in mountinfo, size limits end in EFBIG)",
				"reason", reply.Why)
		})
		return
	}
	p.fuseHold = os.NewFile(uintptr(fds[1]), "sandbox-fuse-root")
	if p.mux, err = spacefs.ServeMux(fds[0]); err != nil {
		p.fuseErr = fmt.Errorf("serve the FUSE view: %w", err)
	}
}

// releaseMount lets the child's FUSE file system go: the last reference
// to it was the descriptor the emulator held; the kernel tears it down
// (and its server ends) in the background, after the run.
func (p *proc) releaseMount() {
	if p.mounted == nil {
		return
	}
	p.released.Do(func() {
		go func() {
			<-p.mounted // the child is gone or going: its socket ends
			if p.fuseHold != nil {
				p.fuseHold.Close()
			}
		}()
	})
}

// attachSpaces makes the run's spaces the entries of its child's FUSE
// mount, before the child is sent its run (and binds them). It returns nil,
// nil when the child could not mount FUSE and the view allows bind mounts
// instead (auto).
func (n *nsRunner) attachSpaces(p *proc, spaces []space) ([]*servedSpace, error) {
	if p.mounted == nil {
		return nil, errors.New("sandbox: the child has no FUSE view")
	}
	<-p.mounted
	return n.attach(p, spaces)
}

// lateMount is attachSpaces for a child spawned without its FUSE mount
// (the runner's runs had no spaces lately): the child mounts it when it
// learns its run (childConfig.FuseRoot) and waits; the emulator serves it,
// attaches the spaces and tells the child to go on.
func (n *nsRunner) lateMount(p *proc, spaces []space) ([]*servedSpace, error) {
	n.lateMounts.Add(1)
	n.receiveMount(p)
	p.mounted = make(chan struct{})
	close(p.mounted)
	served, err := n.attach(p, spaces)
	if p.mux != nil {
		ok := byte(1)
		if err != nil {
			ok = 0
		}
		if _, werr := p.fuseSock.Write([]byte{ok}); werr != nil && err == nil {
			err = fmt.Errorf("sandbox: tell the child its FUSE view is served: %w", werr)
		}
	}
	return served, err
}

// attach makes the spaces the entries of the child's FUSE mount, once it
// was received.
func (n *nsRunner) attach(p *proc, spaces []space) ([]*servedSpace, error) {
	switch {
	case p.fuseErr != nil:
		return nil, p.fuseErr
	case p.mux == nil && p.fuseWhy != "" && n.r.opts.FS == FSAuto:
		return nil, nil
	case p.mux == nil:
		return nil, fmt.Errorf("sandbox: no FUSE view: %s", p.fuseWhy)
	}
	opts := make([]spacefs.Options, len(spaces))
	for i, s := range spaces {
		root, err := os.OpenFile(s.host, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			for _, o := range opts[:i] {
				o.Root.Close()
			}
			return nil, fmt.Errorf("serve %s: %w", s.inside, err)
		}
		opts[i] = spacefs.Options{
			Root: root, ReadOnly: s.readOnly, Used: s.used,
			Quota: map[bool]int64{true: 0, false: s.quota}[s.readOnly],
			Chown: n.asRoot, UID: n.hostUID, GID: n.hostGID,
			InsideUID: sandboxUID, InsideGID: sandboxGID, RootMapped: n.asRoot,
		}
	}
	fss, err := p.mux.Attach(opts)
	if err != nil {
		return nil, fmt.Errorf("serve the FUSE view: %w", err)
	}
	served := make([]*servedSpace, len(spaces))
	for i, s := range spaces {
		served[i] = &servedSpace{space: s, fs: fss[i]}
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
// The server ends on its own once the run is over (releaseMount).
func (n *nsRunner) concludeSpaces(res *Result, spec Spec, served []*servedSpace) string {
	if len(served) > 0 {
		// One server serves them all: it ends when the kernel tears the
		// file system down, after releaseMount.
		done := served[0].fs.Done()
		go func() {
			select {
			case <-done:
			case <-time.After(time.Minute):
				n.r.log.Warn("sandbox: a FUSE server still runs a minute after its run ended")
			}
		}()
	}
	for _, s := range served {
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
