package conformance_test

import (
	"testing"

	"github.com/localbaponi/localbaponi/conformance"
)

// TestEveryBackendConforms runs the whole suite against the embedded
// emulator once per storage face other than the default gcs (which
// TestConformance covers in-process), so that `go test ./...` checks all
// three (issue 5). Ginkgo runs once per process, hence the binary.
func TestEveryBackendConforms(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the conformance binary")
	}
	for _, backend := range []string{"s3", "azure"} {
		t.Run(backend, func(t *testing.T) {
			code, jr, out := runBinary(t, "--backend", backend)
			if code != conformance.ExitPass || jr == nil {
				t.Fatalf("backend %s: exit code %d, want 0\n%s", backend, code, out)
			}
			if jr.Summary.Failed != 0 || jr.Summary.Skipped != 0 || jr.Summary.Passed < 100 {
				t.Errorf("backend %s: summary %+v; want every check passed", backend, jr.Summary)
			}
		})
	}
}
