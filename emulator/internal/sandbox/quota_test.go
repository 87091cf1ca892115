//go:build unix

package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// After a failed run, the result names the size limit the code ran into:
// a mount at its limit, or a file grown to what the tightest limit leaves
// (in another mount than the tightest one); nothing when neither shows.
func TestSizeBaselineSaysWhichLimitWasReached(t *testing.T) {
	base := t.TempDir()
	home, vol := filepath.Join(base, "home"), filepath.Join(base, "vol")
	for _, d := range []string{home, vol} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dirs := []limitedDir{
		{host: home, inside: "/home/baponi", limitName: "the thread's size limit (thread_quota_mib)", quota: 10 << 20},
		{host: vol, inside: "/volumes/v", limitName: "volume v's size limit (quota_mib)", quota: 6 << 20, used: 2 << 20},
	}
	b := baseline(dirs)
	if got := b.reached(); got != "" {
		t.Fatalf("nothing written: %q", got)
	}
	// What the volume's limit leaves (4 MiB), written in the home.
	if err := os.WriteFile(filepath.Join(home, "big"), make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	got := b.reached()
	if !strings.Contains(got, "File size limit reached: a file in /home/baponi is 4194304 bytes") ||
		!strings.Contains(got, "quota_mib) of 6 MiB") || !strings.Contains(got, "EFBIG") {
		t.Fatalf("a file at the file size limit: %q", got)
	}
	// The volume itself at its limit.
	bv := baseline(dirs[1:])
	if err := os.WriteFile(filepath.Join(vol, "fill"), make([]byte, 6<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := bv.reached(); !strings.Contains(got, "Disk quota reached: /volumes/v holds 6 MiB, volume v's size limit (quota_mib) is 6 MiB") {
		t.Fatalf("a mount at its limit: %q", got)
	}
}

// The watcher ends a run whose mount goes over its limit even while files
// are removed elsewhere on the same filesystem: it used to walk only when
// statfs showed enough growth, and a removal elsewhere hid it (the limit
// then did not hold, seen under a busy CI machine).
func TestWatchQuotaSeesGrowthHiddenByRemovalsElsewhere(t *testing.T) {
	base := t.TempDir()
	dir, noise := filepath.Join(base, "home"), filepath.Join(base, "noise")
	for _, d := range []string{dir, noise} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(noise, "big"), make([]byte, 64<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	fired := make(chan string, 1)
	stop := watchQuota(context.Background(), []limitedDir{{host: dir, inside: "/home/baponi",
		limitName: "the thread's size limit (thread_quota_mib)", quota: 4 << 20}}, func(msg string) { fired <- msg })
	defer stop()
	if err := os.WriteFile(filepath.Join(dir, "over"), make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(noise, "big")); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-fired:
		if !strings.Contains(msg, "/home/baponi holds 8 MiB") || !strings.Contains(msg, "thread_quota_mib") {
			t.Fatalf("message %q", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher did not see 8 MiB in a 4 MiB mount")
	}
}
