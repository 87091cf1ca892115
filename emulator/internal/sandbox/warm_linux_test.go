//go:build linux

package sandbox

import (
	"testing"
	"time"
)

// waitWarm waits until the runner keeps warmChildren children spawned
// ahead and no refill is under way, and returns how many it has spawned.
func waitWarm(t *testing.T, n *nsRunner) int64 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n.mu.Lock()
		ready := len(n.warm) == warmChildren && !n.refilling
		n.mu.Unlock()
		if ready {
			return n.spawns.Load()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the runner has %d children ready after 20 s, want %d", len(n.warm), warmChildren)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A run that finds another child ready besides the one it takes spawns
// that one's replacement only when it has ended: no fork of the emulator
// and no new child's start compete with the run. Afterwards the runner
// has warmChildren ready again.
func TestRunnerSpawnsNoChildWhileARunRuns(t *testing.T) {
	r := newRunner(t, Options{})
	n := r.ns
	mustSucceed(t, run(t, r, Spec{Language: "bash", Code: []byte("true")}))
	for i := range 3 {
		before := waitWarm(t, n)
		done := runUntilOutput(t, r, Spec{Language: "bash", Code: []byte("echo up; sleep 0.6")})
		time.Sleep(300 * time.Millisecond) // a spawn started with the run would have begun by now
		if got := n.spawns.Load(); got != before {
			t.Errorf("run %d: %d children spawned while it ran", i, got-before)
		}
		mustSucceed(t, <-done)
		if got := waitWarm(t, n); got != before+1 {
			t.Errorf("run %d: %d children spawned for it, want 1", i, got-before)
		}
	}
}
