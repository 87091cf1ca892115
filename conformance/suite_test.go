package conformance_test

import (
	"testing"

	"github.com/localbaponi/localbaponi/conformance"
)

// TestConformance runs the suite against the embedded emulator, or against
// BAPONI_BASE_URL when set. Ginkgo flags (-ginkgo.label-filter, -ginkgo.v)
// apply.
func TestConformance(t *testing.T) {
	res := conformance.RunTest(t, conformance.ConfigFromEnv())
	if res.Report == nil {
		t.Fatal("no report")
	}
	if res.Report.Summary.Passed == 0 {
		t.Errorf("no check passed: %+v", res.Report.Summary)
	}
}
