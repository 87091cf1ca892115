//go:build linux

package sandbox

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// requireCgroup2Env is set by scripts/cgroup2-test, which runs this
// package's tests inside a user-mode Linux kernel whose /sys/fs/cgroup is
// cgroup v2 with the memory, pids and cpu controllers (the CI hosts are
// cgroup v1). There a runner that falls back to rlimits is a failure, not
// a skip.
const requireCgroup2Env = "LOCALBAPONI_TEST_REQUIRE_CGROUP2"

// lineSignal is an io.Writer that closes seen once a write arrives.
type lineSignal struct {
	once sync.Once
	seen chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (l *lineSignal) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	l.once.Do(func() { close(l.seen) })
	return len(p), nil
}

// runUntilOutput starts spec on r (its Stdout and, if unset, a 20 s
// timeout are set here) and returns once the run has printed something,
// with the channel that its result comes on.
func runUntilOutput(t *testing.T, r *Runner, spec Spec) <-chan Result {
	t.Helper()
	out := &lineSignal{seen: make(chan struct{})}
	spec.Stdout = out
	if spec.Timeout == 0 {
		spec.Timeout = 20 * time.Second
	}
	done := make(chan Result, 1)
	go func() {
		res, err := r.Run(t.Context(), spec)
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		done <- res
	}()
	select {
	case <-out.seen:
	case res := <-done:
		t.Fatalf("the run ended before it printed: %+v", res)
	case <-time.After(15 * time.Second):
		t.Fatal("no output from the run in 15 s")
	}
	return done
}

// TestCgroupV2LimitsOnARun reads, while a run is alive, the limits its
// cgroup v2 holds: memory.max is the run's memory limit, swap is off,
// pids.max is the runner's process limit and cpu.max one core; the run's
// cgroup is gone after it.
func TestCgroupV2LimitsOnARun(t *testing.T) {
	if os.Getenv(requireCgroup2Env) == "" {
		t.Skip("needs a cgroup v2 host with memory, pids and cpu delegated: run scripts/cgroup2-test")
	}
	r := newRunner(t, Options{PidsLimit: 48})
	cg := r.ns.cg
	if cg == nil || cg.v2 == "" || !cg.v2Memory || !cg.v2Pids || !cg.v2CPU {
		t.Fatalf("the runner does not use cgroup v2 with memory, pids and cpu: %+v", cg)
	}
	done := runUntilOutput(t, r, Spec{Language: "bash", MemoryLimit: 96 << 20, Code: []byte("echo up; sleep 3")})
	// The runner keeps children spawned ahead, each in a cgroup of its own
	// without a memory limit yet: the run's cgroup is the one whose
	// memory.max is the run's limit.
	runs, _ := filepath.Glob(filepath.Join(cg.v2, "run-*"))
	var run string
	for _, d := range runs {
		if strings.TrimSpace(readFile(filepath.Join(d, "memory.max"))) == strconv.Itoa(96<<20) {
			if run != "" {
				t.Fatalf("two run cgroups hold the run's memory limit: %s, %s", run, d)
			}
			run = d
		}
	}
	if run == "" {
		t.Fatalf("no run cgroup below %s has memory.max %d: %v", cg.v2, 96<<20, runs)
	}
	for file, want := range map[string]string{
		"memory.swap.max": "0",
		"pids.max":        "48",
		"cpu.max":         cpuPerRun,
	} {
		if got := strings.TrimSpace(readFile(filepath.Join(run, file))); got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
	if procs := readWords(filepath.Join(run, "cgroup.procs")); len(procs) == 0 {
		t.Error("no process in the run's cgroup while it runs")
	}
	mustSucceed(t, <-done)
	if _, err := os.Stat(run); !os.IsNotExist(err) {
		t.Errorf("the run's cgroup %s is still there after the run: %v", run, err)
	}
}
