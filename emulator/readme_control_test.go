package emulator_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/localbaponi/localbaponi/emulator"
)

// README example: start
func TestUploadURLRetriesA503(t *testing.T) {
	emu := emulator.RunT(t)
	// Two 503s on upload_url, then the real answer.
	if _, err := emu.AddFault(emulator.FaultRule{
		Match:  emulator.FaultMatch{Route: "files.upload_url"},
		Action: emulator.FaultAction{Error: &emulator.FaultError{Status: 503, Code: "service_unavailable"}},
		Times:  2,
	}); err != nil {
		t.Fatal(err)
	}

	// The client under test; here a minimal one that retries a 503.
	var status int
	for attempt := 0; attempt < 5; attempt++ {
		req, _ := http.NewRequest("POST", emu.URL()+"/v1/files/upload_url", strings.NewReader(
			`{"source": "thread", "id": "t1", "path": "in.json", "content_length": 2}`))
		req.Header.Set("Authorization", "Bearer "+emu.APIKey())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if status = resp.StatusCode; status != http.StatusServiceUnavailable {
			break
		}
	}

	// What the client sent and what it got, from the request journal.
	var got []int
	for _, r := range emu.Requests(emulator.RequestFilter{Route: "files.upload_url"}) {
		got = append(got, r.Status)
	}
	if status != 200 || fmt.Sprint(got) != "[503 503 200]" {
		t.Fatalf("final status %d, statuses %v; want 200 after [503 503 200]", status, got)
	}
}

// README example: end

// readmeBlock returns the fenced code block that follows marker in the README.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), marker)
	if !ok {
		t.Fatalf("README has no %q", marker)
	}
	_, after, _ = strings.Cut(after, "```")
	_, after, _ = strings.Cut(after, "\n") // the language tag
	block, _, ok := strings.Cut(after, "```")
	if !ok {
		t.Fatalf("README block after %q does not end", marker)
	}
	return block
}

// The README's Go example is the test above, verbatim.
func TestReadmeGoRetryExampleIsTested(t *testing.T) {
	src, err := os.ReadFile("readme_control_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, tested, _ := strings.Cut(string(src), "// README example: start\n")
	tested, _, _ = strings.Cut(tested, "\n// README example: end")
	if block := readmeBlock(t, "<!-- retry-example:go -->"); strings.TrimSpace(block) != strings.TrimSpace(tested) {
		t.Errorf("the README's Go retry example differs from TestUploadURLRetriesA503:\n%s", block)
	}
}

// The README's curl example runs as written against an emulator.
func TestReadmeCurlRetryExample(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	emu := emulator.RunT(t)
	script := readmeBlock(t, "<!-- retry-example:curl -->")
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Env = append(os.Environ(), "BAPONI_URL="+emu.URL())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's curl example failed: %v\n%s", err, out)
	}
	for _, want := range []string{"attempt 1: 503", "attempt 2: 503", "attempt 3: 200", `"status":503`, `"status":200`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	got := emu.Requests(emulator.RequestFilter{Route: "files.upload_url", Scope: "test-42"})
	if len(got) != 3 || got[0].Status != 503 || got[1].Status != 503 || got[2].Status != 200 {
		t.Errorf("journal after the curl example: %+v", got)
	}
}
