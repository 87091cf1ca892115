package sandbox

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
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
