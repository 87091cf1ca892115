package sandbox

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// v2Hierarchy returns a writable cgroup2 mount to test the v2 plumbing on
// (the host's /sys/fs/cgroup, or the unified hierarchy of a hybrid host).
func v2Hierarchy(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
	for _, d := range []string{cgroupMount, filepath.Join(cgroupMount, "unified")} {
		if isCgroup2(d) {
			return d
		}
	}
	t.Skip("no cgroup2 hierarchy here")
	return ""
}

// TestCgroupV2Plumbing: a run's v2 cgroup is made, a process joins it, and
// removing it kills what is left; the cgroups of a dead emulator are swept
// with their processes. (The controllers themselves — memory.max, pids.max,
// cpu.max — need a host whose v2 hierarchy has them; a hybrid host's
// unified hierarchy usually has none.)
func TestCgroupV2Plumbing(t *testing.T) {
	mount := v2Hierarchy(t)
	c := newCgroupsV2(slog.New(slog.DiscardHandler), mount, nil)
	if c == nil {
		t.Skip("cannot create a cgroup below " + mount)
	}
	defer c.close()
	g, err := c.create(1, 16)
	if err != nil {
		t.Fatal(err)
	}
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	if err := g.join(sleep.Process.Pid); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sleep.Wait() }()
	g.remove()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = sleep.Process.Kill()
		t.Fatal("removing the run's cgroup did not kill its process")
	}
	if _, err := os.Stat(g.v2Dir); !os.IsNotExist(err) {
		t.Fatalf("run cgroup still there: %v", err)
	}

	// A dead emulator's cgroup, with a process still in it.
	dead := exec.Command("true")
	_ = dead.Run()
	stale := filepath.Join(mount, fmt.Sprintf("localbaponi-%d-test", dead.Process.Pid))
	if err := os.MkdirAll(filepath.Join(stale, "run-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	left := exec.Command("sleep", "60")
	if err := left.Start(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "run-1", "cgroup.procs"), []byte(fmt.Sprint(left.Process.Pid)), 0o644); err != nil {
		_ = left.Process.Kill()
		t.Fatal(err)
	}
	go func() { done <- left.Wait() }()
	removeStaleV2(mount)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = left.Process.Kill()
		t.Fatal("the sweep did not kill the leftover process")
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale cgroup still there: %v", err)
	}
}

// The v2 files a run's cgroup gets, checked on a plain directory standing
// in for cgroupfs (this project's CI host is cgroup v1, whose unified
// hierarchy has no memory, pids or cpu controller): pids.max, cpu.max (one
// core: "$MAX $PERIOD"), memory.max, memory.swap.max 0, the process in
// cgroup.procs, and an OOM kill read from memory.events.
func TestCgroupV2FilesOnAFakeCgroupfs(t *testing.T) {
	fake := t.TempDir()
	c := &cgroups{v2: fake, v2Memory: true, v2Pids: true, v2CPU: true}
	g, err := c.create(7, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.setMemory(96 << 20); err != nil {
		t.Fatal(err)
	}
	if err := g.join(4242); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"pids.max": "64", "cpu.max": "100000 100000", "memory.max": "100663296", "memory.swap.max": "0", "cgroup.procs": "4242",
	}
	for f, v := range want {
		if got := readFile(filepath.Join(fake, "run-7", f)); got != v {
			t.Errorf("%s = %q, want %q", f, got, v)
		}
	}
	if !g.pids || !g.memory {
		t.Errorf("run cgroup: pids %v memory %v, want both", g.pids, g.memory)
	}
	if g.oomKilled() {
		t.Error("oomKilled with no memory.events")
	}
	events := "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n"
	if err := os.WriteFile(filepath.Join(fake, "run-7", "memory.events"), []byte(events), 0o644); err != nil {
		t.Fatal(err)
	}
	if !g.oomKilled() {
		t.Error("oom_kill 1 in memory.events not seen")
	}
	// Without the controllers, none of their files is written.
	bare := &cgroups{v2: fake}
	g2, err := bare.create(8, 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"pids.max", "cpu.max"} {
		if _, err := os.Stat(filepath.Join(fake, "run-8", f)); err == nil {
			t.Errorf("%s written without its controller", f)
		}
	}
	if g2.pids || g2.memory {
		t.Errorf("run cgroup without controllers: pids %v memory %v", g2.pids, g2.memory)
	}
}

// cgroupV2HelperEnv makes the test binary run cgroupV2Helper instead of
// the tests: a process alone in its cgroup, as a container's pid 1 is.
const cgroupV2HelperEnv = "LOCALBAPONI_TEST_CGROUPV2_PARENT"

func TestMain(m *testing.M) {
	if parent := os.Getenv(cgroupV2HelperEnv); parent != "" {
		os.Exit(cgroupV2Helper(parent))
	}
	os.Exit(m.Run())
}

// cgroupV2Helper joins parent, then makes a runner's cgroups below it
// with the controller named in LOCALBAPONI_TEST_CGROUPV2_CONTROLLER, and
// prints the runner's cgroup; a second runner must reuse the same parent.
func cgroupV2Helper(parent string) int {
	if err := os.WriteFile(filepath.Join(parent, "cgroup.procs"), []byte(fmt.Sprint(os.Getpid())), 0o644); err != nil {
		fmt.Println("join:", err)
		return 1
	}
	ctrl := os.Getenv("LOCALBAPONI_TEST_CGROUPV2_CONTROLLER")
	for i := 0; i < 2; i++ {
		own, _ := ownCgroupV2()
		c := newCgroupsV2(slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug})),
			emulatorCgroupV2(filepath.Join(filepath.Dir(parent), own)), []string{ctrl})
		if c == nil {
			fmt.Println("no runner cgroup")
			return 1
		}
		fmt.Println("runner", c.v2, strings.TrimSpace(readFile(filepath.Join(c.v2, "cgroup.subtree_control"))))
		_ = c.close()
	}
	return 0
}

// v2's "no internal processes" rule: an emulator alone in a cgroup that is
// not the root (a container's pid 1, systemd-run --scope) could not hand
// controllers to its runs' cgroups (EBUSY) and fell back to rlimits. It
// now moves itself to a leaf and delegates; a second runner of the same
// emulator reuses that layout. Run on the unified hierarchy of this
// hybrid host with the one controller it has (hugetlb): the rule is the
// same for every controller.
func TestCgroupV2EmulatorAloneInItsCgroupDelegates(t *testing.T) {
	mount := v2Hierarchy(t)
	ctrls := readWords(filepath.Join(mount, "cgroup.controllers"))
	if len(ctrls) == 0 {
		t.Skip("no controller in the cgroup2 hierarchy at " + mount)
	}
	parent := filepath.Join(mount, fmt.Sprintf("lbtest-%d", os.Getpid()))
	if err := os.Mkdir(parent, 0o755); err != nil {
		t.Skipf("cannot create a cgroup in %s (a read-only cgroupfs, as in many containers): %v", mount, err)
	}
	on := readWords(filepath.Join(mount, "cgroup.subtree_control"))
	if !slices.Contains(on, ctrls[0]) {
		if err := os.WriteFile(filepath.Join(mount, "cgroup.subtree_control"), []byte("+"+ctrls[0]), 0o644); err != nil {
			t.Skipf("cannot enable %s: %v", ctrls[0], err)
		}
		defer os.WriteFile(filepath.Join(mount, "cgroup.subtree_control"), []byte("-"+ctrls[0]), 0o644)
	}
	defer func() {
		dirs, _ := filepath.Glob(filepath.Join(parent, "*"))
		for _, d := range dirs {
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				_ = os.Remove(d)
			}
		}
		_ = os.Remove(parent)
	}()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), cgroupV2HelperEnv+"="+parent, "LOCALBAPONI_TEST_CGROUPV2_CONTROLLER="+ctrls[0])
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var runners []string
	for _, l := range lines {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "runner" {
			if filepath.Dir(f[1]) != parent || f[2] != ctrls[0] {
				t.Errorf("runner cgroup %s with %q; want one below %s with %s", f[1], f[2], parent, ctrls[0])
			}
			runners = append(runners, f[1])
		}
	}
	if len(runners) != 2 {
		t.Fatalf("want two runner cgroups below %s:\n%s", parent, out)
	}
	leaf := filepath.Join(parent, fmt.Sprintf("localbaponi-%d-emulator", cmd.Process.Pid))
	if _, err := os.Stat(leaf); err != nil {
		t.Errorf("the emulator's leaf cgroup: %v", err)
	}
}
