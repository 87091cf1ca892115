//go:build linux

package sandbox

// cgroup v2 (the unified hierarchy), used where /sys/fs/cgroup is cgroup2:
// one cgroup per run below a runner cgroup below the emulator's own, with
// memory.max, memory.swap.max, pids.max and cpu.max. v2 lets a cgroup hand
// controllers to its children only if it holds no process itself, so this
// works where the emulator's cgroup already delegates them
// (cgroup.subtree_control) or can be made to; otherwise the runner says why
// in its debug log and falls back to rlimits, without moving the
// emulator's own processes.

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupMount is where the cgroup filesystem is mounted.
const cgroupMount = "/sys/fs/cgroup"

// cpuPerRun is the CPU time one run may use per period (cpu.max): one core.
const cpuPerRun = "100000 100000"

// isCgroup2 reports whether dir is a cgroup2 mount.
func isCgroup2(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// ownCgroupV2 is the emulator's cgroup in the unified hierarchy ("0::<path>").
func ownCgroupV2() (string, bool) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return p, true
		}
	}
	return "", false
}

func readWords(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// newCgroupsV2 makes the runner's cgroup below parent (the emulator's own
// cgroup in the hierarchy mounted at mount), with the controllers in need
// delegated to it; nil, with the reason logged, when that cannot be done.
func newCgroupsV2(log *slog.Logger, parent string, need []string) *cgroups {
	have := readWords(filepath.Join(parent, "cgroup.controllers"))
	for _, c := range need {
		if !slices.Contains(have, c) {
			log.Debug("sandbox: cgroup v2 controller not available to the emulator's cgroup; using rlimits",
				"controller", c, "cgroup", parent)
			return nil
		}
	}
	want := need
	if slices.Contains(have, "cpu") && !slices.Contains(want, "cpu") {
		want = append(slices.Clone(want), "cpu")
	}
	enable := func(dir string) error {
		on := readWords(filepath.Join(dir, "cgroup.subtree_control"))
		var add []string
		for _, c := range want {
			if !slices.Contains(on, c) {
				add = append(add, "+"+c)
			}
		}
		if len(add) == 0 {
			return nil
		}
		return os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(strings.Join(add, " ")), 0o644)
	}
	removeStaleV2(parent)
	// v2's "no internal processes" rule: a cgroup other than the root that
	// holds processes cannot hand domain controllers (memory) to children
	// (EBUSY), and a threaded one it does hand over (cpu, pids) leaves the
	// children "domain invalid", so that their own subtree_control refuses
	// it (EOPNOTSUPP; seen on a 7.2 kernel). When the only process in it is
	// the emulator (a container's pid 1, a systemd-run --scope -p
	// Delegate=yes), the emulator first moves itself to a leaf below it;
	// other processes are never moved.
	// The root cgroup (the only one without a cgroup.type) is exempt.
	_, err := os.Stat(filepath.Join(parent, "cgroup.type"))
	isRoot := err != nil
	err = nil
	if !isRoot && len(readWords(filepath.Join(parent, "cgroup.procs"))) > 0 {
		err = moveSelfToLeaf(parent)
	}
	if err == nil {
		err = enable(parent)
	}
	if err != nil {
		log.Debug("sandbox: cannot delegate cgroup v2 controllers below the emulator's cgroup (it holds processes other than the emulator; "+
			"run the emulator in a cgroup of its own, e.g. systemd-run --scope -p Delegate=yes); using rlimits",
			"cgroup", parent, "err", err)
		return nil
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	dir := filepath.Join(parent, fmt.Sprintf("localbaponi-%d-%s", os.Getpid(), hex.EncodeToString(suffix[:])))
	if err := os.Mkdir(dir, 0o755); err != nil {
		log.Debug("sandbox: cgroup v2 not writable; using rlimits", "dir", dir, "err", err)
		return nil
	}
	if err := enable(dir); err != nil {
		_ = os.Remove(dir)
		log.Debug("sandbox: cgroup v2 controllers not enabled; using rlimits", "dir", dir, "err", err)
		return nil
	}
	c := &cgroups{v2: dir}
	for _, ctrl := range want {
		switch ctrl {
		case "memory":
			c.v2Memory = true
		case "pids":
			c.v2Pids = true
		case "cpu":
			c.v2CPU = true
		}
	}
	return c
}

// emulatorCgroupV2 is the cgroup to make runners in, given the one the
// emulator is in: the parent of the leaf moveSelfToLeaf made, if the
// emulator was moved there by an earlier runner.
func emulatorCgroupV2(own string) string {
	if filepath.Base(own) == "localbaponi-"+strconv.Itoa(os.Getpid())+"-emulator" {
		return filepath.Dir(own)
	}
	return own
}

// moveSelfToLeaf moves the emulator's process into a new cgroup
// localbaponi-<pid>-emulator below parent, if it is the only process in
// parent. The sweep of dead instances removes that cgroup once it is empty.
func moveSelfToLeaf(parent string) error {
	self := strconv.Itoa(os.Getpid())
	for _, p := range readWords(filepath.Join(parent, "cgroup.procs")) {
		if p != self {
			return fmt.Errorf("process %s shares the emulator's cgroup", p)
		}
	}
	leaf := filepath.Join(parent, "localbaponi-"+self+"-emulator")
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(self), 0o644); err != nil {
		_ = os.Remove(leaf)
		return fmt.Errorf("move the emulator to %s: %w", leaf, err)
	}
	return nil
}

// createV2 makes one run's cgroup in the runner's v2 cgroup.
func (c *cgroups) createV2(seq uint64, pidsLimit int64) (*cgroup, error) {
	g := &cgroup{v2Dir: filepath.Join(c.v2, "run-"+strconv.FormatUint(seq, 10))}
	if err := os.Mkdir(g.v2Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	if c.v2Pids {
		if err := write(g.v2Dir, "pids.max", pidsLimit); err != nil {
			g.remove()
			return nil, err
		}
		g.pids = true
	}
	if c.v2CPU {
		if err := os.WriteFile(filepath.Join(g.v2Dir, "cpu.max"), []byte(cpuPerRun), 0o644); err != nil {
			g.remove()
			return nil, fmt.Errorf("cgroup cpu.max: %w", err)
		}
	}
	g.memory = c.v2Memory
	return g, nil
}

// oomKilledV2 reads memory.events.
func (g *cgroup) oomKilledV2() bool {
	for _, line := range strings.Split(readFile(filepath.Join(g.v2Dir, "memory.events")), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n > 0
		}
	}
	return false
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// killCgroupV2 kills every process of a v2 cgroup: cgroup.kill (Linux 5.14)
// or one by one.
func killCgroupV2(dir string) {
	if err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0o644); err != nil {
		killCgroup(dir)
		return
	}
	// Wait until the kernel has emptied it (bounded).
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && strings.TrimSpace(readFile(filepath.Join(dir, "cgroup.procs"))) != "" {
		time.Sleep(2 * time.Millisecond)
	}
}

// removeV2Dir kills what is left in a run's cgroup and removes it.
func removeV2Dir(dir string) {
	killCgroupV2(dir)
	for i := 0; i < 50; i++ {
		if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// removeStaleV2 removes the v2 cgroups of emulators that died (kill -9):
// the processes still in them are killed first.
func removeStaleV2(parent string) { sweepDeadInstances(parent, removeV2Dir) }
