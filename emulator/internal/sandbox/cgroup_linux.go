//go:build linux

package sandbox

// Memory and process limits through cgroup v1 controllers, nested under the
// emulator's own cgroup so that whatever limits the emulator itself still
// applies; on a cgroup v2 host, the unified hierarchy (cgroup2_linux.go).
// Without a writable cgroup the runner falls back to rlimits.

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroups holds the runner's parent cgroup directories, one per controller
// (v1), or its one cgroup (v2, see cgroup2_linux.go).
type cgroups struct {
	memory string // "" when the memory controller is not usable
	pids   string
	// v2 is the runner's cgroup in the unified hierarchy ("" on v1), with
	// the controllers delegated to it.
	v2                      string
	v2Memory, v2Pids, v2CPU bool
}

// cgroup is one run's cgroup.
type cgroup struct {
	memDir, pidsDir string
	v2Dir           string // cgroup v2: the run's one cgroup
	memory, pids    bool
}

// newCgroups creates the runner's parent cgroups; nil when none is writable.
func newCgroups(log *slog.Logger) *cgroups {
	if isCgroup2(cgroupMount) {
		own, ok := ownCgroupV2()
		if !ok {
			return nil
		}
		return newCgroupsV2(log, emulatorCgroupV2(filepath.Join(cgroupMount, own)), []string{"memory", "pids"})
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	name := fmt.Sprintf("localbaponi-%d-%s", os.Getpid(), hex.EncodeToString(suffix[:]))
	own := ownCgroups()
	c := &cgroups{}
	for _, ctrl := range []string{"memory", "pids"} {
		p, ok := own[ctrl]
		if !ok {
			continue
		}
		base := filepath.Join("/sys/fs/cgroup", ctrl, p)
		removeStale(base)
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			log.Debug("sandbox: cgroup not writable", "controller", ctrl, "dir", dir, "err", err)
			continue
		}
		if ctrl == "memory" {
			c.memory = dir
		} else {
			c.pids = dir
		}
	}
	if c.memory == "" && c.pids == "" {
		return nil
	}
	return c
}

// removeStale removes the cgroups of emulators that died without closing
// their runner (kill -9, a test binary killed by its timeout): they are
// named after the process. Processes still in them (code that outlived its
// emulator) are killed first: a cgroup holding processes cannot be removed.
func removeStale(base string) {
	sweepDeadInstances(base, func(run string) {
		killCgroup(run)
		_ = os.Remove(run)
	})
}

// sweepDeadInstances finds under parent the cgroups named
// localbaponi-<pid>-<suffix> whose process is gone, hands each of their
// run-* cgroups to removeRun, then removes the instance's own cgroup (v1
// and v2 share the naming).
func sweepDeadInstances(parent string, removeRun func(dir string)) {
	dirs, _ := filepath.Glob(filepath.Join(parent, "localbaponi-*"))
	for _, d := range dirs {
		pid, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(d), "localbaponi-"), "-")
		if _, err := strconv.Atoi(pid); err != nil || !ok {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); err == nil {
			continue // alive
		}
		runs, _ := filepath.Glob(filepath.Join(d, "run-*"))
		for _, r := range runs {
			removeRun(r)
		}
		_ = os.Remove(d)
	}
}

// killCgroup kills every process in the cgroup dir, for up to a second
// (a fork bomb may add processes while it kills).
func killCgroup(dir string) {
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			return
		}
		pids := strings.Fields(string(b))
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			if n, err := strconv.Atoi(p); err == nil && n > 1 {
				_ = syscall.Kill(n, syscall.SIGKILL)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ownCgroups reads the emulator's cgroup v1 paths from /proc/self/cgroup.
func ownCgroups() map[string]string {
	out := map[string]string{}
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, ctrl := range strings.Split(parts[1], ",") {
			if ctrl == "memory" || ctrl == "pids" {
				if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", ctrl, "cgroup.procs")); err == nil {
					out[ctrl] = parts[2]
				}
			}
		}
	}
	return out
}

// create makes one run's cgroups; the memory limit is set later (setMemory),
// when the run is known.
func (c *cgroups) create(seq uint64, pidsLimit int64) (*cgroup, error) {
	if c.v2 != "" {
		return c.createV2(seq, pidsLimit)
	}
	g := &cgroup{}
	name := "run-" + strconv.FormatUint(seq, 10)
	if c.memory != "" {
		g.memDir = filepath.Join(c.memory, name)
		if err := os.Mkdir(g.memDir, 0o755); err != nil {
			return nil, fmt.Errorf("create memory cgroup: %w", err)
		}
		g.memory = true
	}
	if c.pids != "" {
		g.pidsDir = filepath.Join(c.pids, name)
		if err := os.Mkdir(g.pidsDir, 0o755); err != nil {
			g.remove()
			return nil, fmt.Errorf("create pids cgroup: %w", err)
		}
		if err := write(g.pidsDir, "pids.max", pidsLimit); err != nil {
			g.remove()
			return nil, err
		}
		g.pids = true
	}
	return g, nil
}

// setMemory sets the run's memory limit.
func (g *cgroup) setMemory(limit int64) error {
	if g.v2Dir != "" {
		if err := write(g.v2Dir, "memory.max", limit); err != nil {
			return err
		}
		_ = write(g.v2Dir, "memory.swap.max", 0) // absent without swap accounting
		return nil
	}
	if err := write(g.memDir, "memory.limit_in_bytes", limit); err != nil {
		return err
	}
	// Without swap accounting this file is absent; the limit then covers
	// RAM only.
	_ = write(g.memDir, "memory.memsw.limit_in_bytes", limit)
	return nil
}

func write(dir, file string, v int64) error {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(strconv.FormatInt(v, 10)), 0o644); err != nil {
		return fmt.Errorf("cgroup %s: %w", file, err)
	}
	return nil
}

// join moves pid into the run's cgroups; the child waits for its config,
// which is sent only after this, so the code never runs outside them.
func (g *cgroup) join(pid int) error {
	for _, d := range []string{g.memDir, g.pidsDir, g.v2Dir} {
		if d == "" {
			continue
		}
		if err := write(d, "cgroup.procs", int64(pid)); err != nil {
			return err
		}
	}
	return nil
}

// oomKilled reports whether the kernel's OOM killer acted in the run's cgroup.
func (g *cgroup) oomKilled() bool {
	if g.v2Dir != "" {
		return g.oomKilledV2()
	}
	if g.memDir == "" {
		return false
	}
	b, err := os.ReadFile(filepath.Join(g.memDir, "memory.oom_control"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n > 0
		}
	}
	return false
}

// remove deletes the run's cgroups. The kernel refuses while the last
// processes are still being torn down, so it retries briefly.
func (g *cgroup) remove() {
	if g.v2Dir != "" {
		removeV2Dir(g.v2Dir)
	}
	for _, d := range []string{g.memDir, g.pidsDir} {
		if d == "" {
			continue
		}
		for i := 0; i < 50; i++ {
			if err := os.Remove(d); err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

func (c *cgroups) close() error {
	var errs []error
	for _, d := range []string{c.memory, c.pids, c.v2} {
		if d == "" {
			continue
		}
		var err error
		for i := 0; i < 50; i++ {
			if err = os.Remove(d); err == nil || errors.Is(err, os.ErrNotExist) {
				err = nil
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
