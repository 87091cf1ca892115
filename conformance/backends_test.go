package conformance_test

import (
	"bytes"
	"testing"

	"github.com/localbaponi/localbaponi/conformance"
)

// TestEveryBackendConforms runs the whole suite against the embedded
// emulator once per storage face other than the default gcs (which
// TestConformance covers), so that `go test ./...` checks all three
// (issue 5).
func TestEveryBackendConforms(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite twice")
	}
	for _, backend := range []string{"s3", "azure"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			res, err := conformance.Run(t.Context(), conformance.Config{Backend: backend, Out: &buf})
			code, jr, out := res.ExitCode, res.Report, buf.String()
			if err != nil || code != conformance.ExitPass || jr == nil {
				t.Fatalf("backend %s: exit code %d (%v), want 0\n%s", backend, code, err, out)
			}
			if jr.Summary.Failed != 0 || jr.Summary.Skipped != 0 || jr.Summary.Passed < 100 {
				t.Errorf("backend %s: summary %+v; want every check passed", backend, jr.Summary)
			}
		})
	}
}
