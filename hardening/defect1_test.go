//go:build linux

package hardening

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator"
)

// TestDefect1ChownSymlinkRace: code in one execution swaps a directory of a
// shared read-write volume with a symlink to a host directory
// (renameat2(RENAME_EXCHANGE) in a loop) while other executions of the same
// organisation start. Before each run the emulator used to chown every
// writable volume by walking path strings, so the walk went through the
// link and gave host files to the sandbox user. No host file may change
// owner; and what the store created in the volume must still be writable by
// code (the reason for the old chown).
func TestDefect1ChownSymlinkRace(t *testing.T) {
	requireRoot(t, "the privileged chown only happens when the emulator runs as root")
	requirePython(t)
	emu := startNS(t, emulator.Options{})

	// The host directory the attacker aims at: root's files, with the same
	// names as those in the directory swapped with the link.
	target := t.TempDir()
	const files = 300
	for i := range files {
		if err := os.WriteFile(filepath.Join(target, fmt.Sprintf("f%d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Something the store made in the volume, in a directory it created.
	if err := emu.WriteFile(emulator.Volume(emulator.DevRWVolume), "up/loaded/in.txt", []byte("from the API\n")); err != nil {
		t.Fatal(err)
	}

	racer := fmt.Sprintf(`
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
os.chdir('/volumes/%s')
os.makedirs('d', exist_ok=True)
for i in range(%d):
    open('d/f%%d' %% i, 'w').close()
if not os.path.islink('l'):
    os.symlink(%q, 'l')
end = time.time() + 5
n = 0
while time.time() < end:
    libc.renameat2(-100, b'd', -100, b'l', 2)  # RENAME_EXCHANGE
    n += 1
print(n)
`, emulator.DevRWVolume, files, target)

	var wg sync.WaitGroup
	wg.Add(1)
	var racerRes execResult
	go func() {
		defer wg.Done()
		racerRes = execute(t, emu.URL(), emu.APIKey(), map[string]any{"code": racer, "language": "python", "timeout": 20})
	}()
	time.Sleep(500 * time.Millisecond) // let the racer build its directory
	deadline := time.Now().Add(4500 * time.Millisecond)
	runs := 0
	for time.Now().Before(deadline) || runs < 10 {
		var inner sync.WaitGroup
		for range 2 {
			inner.Add(1)
			go func() {
				defer inner.Done()
				res, err := tryExecute(emu.URL(), emu.APIKey(), map[string]any{"code": "print(1)", "language": "python", "timeout": 10})
				if err != nil {
					t.Error(err)
				} else if !res.Success {
					t.Errorf("a plain run failed during the race: %s", res)
				}
			}()
		}
		inner.Wait()
		runs += 2
		if runs >= 40 {
			break
		}
	}
	wg.Wait()
	if !racerRes.Success {
		t.Fatalf("racer: %s", racerRes)
	}
	t.Logf("%d runs started during %s exchanges", runs, strings.TrimSpace(racerRes.Stdout))

	var changed []string
	_ = filepath.WalkDir(target, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		var st syscall.Stat_t
		if syscall.Lstat(p, &st) == nil && (st.Uid != 0 || st.Gid != 0) {
			changed = append(changed, fmt.Sprintf("%s %d:%d", p, st.Uid, st.Gid))
		}
		return nil
	})
	if len(changed) > 0 {
		t.Fatalf("the emulator changed the owner of %d host files through the planted symlink, e.g. %v", len(changed), changed[:min(5, len(changed))])
	}

	// The store's files and directories are still the code's to change.
	res := execute(t, emu.URL(), emu.APIKey(), map[string]any{"language": "bash", "timeout": 20, "code": fmt.Sprintf(
		`cd /volumes/%s/up/loaded && echo more >> in.txt && echo new > beside.txt && cat in.txt beside.txt`, emulator.DevRWVolume)})
	if !res.Success || res.Stdout != "from the API\nmore\nnew\n" {
		t.Fatalf("code could not change what the store created: %s", res)
	}
}
