package hardening

// Store, face and API defects of issue 8 (5: stalled bodies, 6: crash
// leftovers), written as an attacker would.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator"
)

// Defect 5: stalled request bodies held a connection, a file descriptor and
// a temp file each, forever (500 stalled PUTs held 1013 fds). Now a body
// that sends nothing for the idle timeout is dropped and its partial upload
// removed, on every face and on /v1; an unrelated GET is served meanwhile.
func TestDefect5StalledBodies(t *testing.T) {
	const (
		stalled = 50
		idle    = 2 * time.Second
		bound   = 30 * time.Second // how long the test waits for the server at most
	)
	for _, backend := range emulator.Backends() {
		t.Run(backend, func(t *testing.T) {
			dataDir := t.TempDir()
			emu := startStoreEmu(t, emulator.Options{Backend: backend, DataDir: dataDir, BodyIdleTimeout: idle})
			key := emu.APIKey()

			small := uploadURL(t, emu.URL(), key, "thread", "victim", "small.txt", 5, "text/plain")
			if st, body := doSigned(t, small, []byte("hello"), nil); st/100 != 2 {
				t.Fatalf("small upload: %d %s", st, body)
			}
			get := downloadURL(t, emu.URL(), key, "thread", "victim", "small.txt")

			conns := make([]interface{ Close() error }, 0, stalled)
			var raw []func() (int, error)
			for i := range stalled {
				s := uploadURL(t, emu.URL(), key, "thread", "attacker", fmt.Sprintf("stall/%d.bin", i), 1<<20, "")
				c := stalledRequest(t, http.MethodPut, s.URL, s.Headers, 1<<20, []byte(strings.Repeat("x", 100)))
				conns = append(conns, c)
				raw = append(raw, func() (int, error) { return awaitClosed(c, bound) })
			}
			// A few stalled JSON bodies on /v1 as well.
			for range 5 {
				c := stalledRequest(t, http.MethodPost, emu.URL()+"/v1/files/list",
					map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}, 100, []byte(`{"source":`))
				conns = append(conns, c)
				raw = append(raw, func() (int, error) { return awaitClosed(c, bound) })
			}
			if !waitFor(bound, func() bool { return len(tmpFiles(t, dataDir)) >= stalled }) {
				t.Fatalf("only %d of %d stalled uploads reached the store", len(tmpFiles(t, dataDir)), stalled)
			}

			// An unrelated GET is served while all uploads are stalled.
			st, body := doSigned(t, get, nil, nil)
			if st != http.StatusOK || string(body) != "hello" {
				t.Fatalf("GET during stalled uploads: %d %q", st, body)
			}
			if n := len(tmpFiles(t, dataDir)); n < stalled {
				t.Fatalf("the GET was answered only after the stalled uploads were dropped (%d temp files left); it waited for them", n)
			}

			// Every stalled request is answered (4xx, never 5xx) and closed.
			var wg sync.WaitGroup
			errs := make([]error, len(raw))
			stats := make([]int, len(raw))
			for i, f := range raw {
				wg.Add(1)
				go func() { defer wg.Done(); stats[i], errs[i] = f() }()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("stalled request %d: %v", i, err)
				} else if stats[i] >= 500 {
					t.Errorf("stalled request %d answered %d (a 5xx)", i, stats[i])
				}
			}
			if !waitFor(5*time.Second, func() bool { return len(tmpFiles(t, dataDir)) == 0 }) {
				t.Errorf("partial uploads left in .tmp: %v", tmpFiles(t, dataDir))
			}
			st, body = apiCall(t, http.MethodPost, emu.URL(), key, "/v1/files/list", map[string]any{"source": "thread", "id": "attacker"})
			if st == http.StatusOK {
				var l struct{ Files []struct{ Path string } }
				json.Unmarshal(body, &l)
				for _, f := range l.Files {
					if !strings.HasSuffix(f.Path, "stall") && f.Path != "stall" {
						t.Errorf("partial upload listed: %s", f.Path)
					}
				}
			}
			// The emulator still serves.
			if st, _ := doSigned(t, get, nil, nil); st != http.StatusOK {
				t.Errorf("GET after the stalls: %d", st)
			}
		})
	}
}

// Defect 6: after kill -9 mid-upload and a restart, the partial upload's
// temp file stayed in .tmp for an hour. Now the restarted emulator removes
// temp files that no live instance owns at once, and lists nothing partial.
func TestDefect6CrashLeftovers(t *testing.T) {
	dataDir := t.TempDir()
	emu := startBinary(t, "--data-dir", dataDir, "--isolation", "none")
	key := emulator.DevAPIKey

	const size = 512 << 20
	s := uploadURL(t, emu.url, key, "thread", "crash", "big.bin", size, "")
	c := stalledRequest(t, http.MethodPut, s.URL, s.Headers, size, make([]byte, 4<<20))
	defer c.Close()
	if !waitFor(30*time.Second, func() bool {
		for _, n := range tmpFiles(t, dataDir) {
			if fi, err := os.Stat(dataDir + "/.tmp/" + n); err == nil && fi.Size() > 0 {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("the upload never reached .tmp: %v", tmpFiles(t, dataDir))
	}
	if err := emu.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	emu.cmd.Wait()
	if len(tmpFiles(t, dataDir)) == 0 {
		t.Fatal("kill -9 left no temp file: the test proves nothing")
	}

	emu2 := startBinary(t, "--data-dir", dataDir, "--isolation", "none")
	if left := tmpFiles(t, dataDir); len(left) != 0 {
		t.Errorf("temp files of the killed emulator still in .tmp after restart: %v", left)
	}
	st, body := apiCall(t, http.MethodPost, emu2.url, key, "/v1/files/list", map[string]any{"source": "thread", "id": "crash"})
	if st == http.StatusOK && strings.Contains(string(body), "big.bin") {
		t.Errorf("the partial upload is listed: %s", body)
	} else if st != http.StatusOK && st != http.StatusNotFound {
		t.Errorf("list after restart: %d %s", st, body)
	}
	// A second emulator on the same data dir must not take the first one's
	// upload in flight away.
	s2 := uploadURL(t, emu2.url, key, "thread", "crash", "live.bin", size, "")
	c2 := stalledRequest(t, http.MethodPut, s2.URL, s2.Headers, size, make([]byte, 1<<20))
	defer c2.Close()
	if !waitFor(30*time.Second, func() bool { return len(tmpFiles(t, dataDir)) > 0 }) {
		t.Fatal("the second upload never reached .tmp")
	}
	live := tmpFiles(t, dataDir)
	startBinary(t, "--data-dir", dataDir, "--isolation", "none")
	got := strings.Join(tmpFiles(t, dataDir), " ")
	for _, n := range live {
		if !strings.Contains(got, n) {
			t.Errorf("a third emulator on the same data dir removed a live upload's temp file %s (left: %s)", n, got)
		}
	}
}

// Defect 7: two Azure upload URLs for one path issued in the same second
// with lengths 10 and 2000 were byte-identical (so the 10-byte URL took 2000
// bytes), and after a restart a 10-byte URL accepted 5000 bytes of another
// type. A URL issued for N bytes of type T now accepts only those.
func TestDefect7AzureURLBinding(t *testing.T) {
	dataDir := t.TempDir()
	clk := emulator.NewFrozenClock(time.Now().UTC().Truncate(time.Second))
	emu, err := emulator.Start(emulator.Options{Backend: "azure", DataDir: dataDir, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	key := emu.APIKey()
	u10 := uploadURL(t, emu.URL(), key, "thread", "bind", "f.txt", 10, "text/plain")
	u2000 := uploadURL(t, emu.URL(), key, "thread", "bind", "f.txt", 2000, "text/plain")
	if u10.URL == u2000.URL {
		t.Errorf("upload URLs for 10 and 2000 bytes issued in the same second are identical: %s", u10.URL)
	}
	if st, body := doSigned(t, u10, make([]byte, 2000), nil); st != http.StatusForbidden {
		t.Errorf("10-byte URL with 2000 bytes: %d %s", st, body)
	}
	oldBase := emu.URL()
	emu.Close()

	// Restart on the same data dir; the URL is still within its lifetime.
	emu2 := startStoreEmu(t, emulator.Options{Backend: "azure", DataDir: dataDir, Clock: clk})
	moved := u10
	moved.URL = emu2.URL() + strings.TrimPrefix(u10.URL, oldBase)
	if st, body := doSigned(t, moved, make([]byte, 5000), map[string]string{"Content-Type": "application/x-sh"}); st != http.StatusForbidden {
		t.Errorf("after restart, the 10-byte URL with 5000 bytes of another type: %d %s", st, body)
	}
	if st, body := doSigned(t, moved, make([]byte, 10), map[string]string{"Content-Type": "application/x-sh"}); st != http.StatusForbidden {
		t.Errorf("after restart, the 10-byte URL with 10 bytes of another type: %d %s", st, body)
	}
	if st, body := doSigned(t, moved, []byte("0123456789"), nil); st != http.StatusCreated {
		t.Errorf("after restart, the 10-byte URL with its own 10 bytes: %d %s", st, body)
	}
	d := downloadURL(t, emu2.URL(), key, "thread", "bind", "f.txt")
	if st, body := doSigned(t, d, nil, nil); st != http.StatusOK || string(body) != "0123456789" {
		t.Errorf("stored: %d %q", st, body)
	}
}
