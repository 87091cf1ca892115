package conformance_test

import (
	"net/http/httptest"
	"os"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/spf13/afero"

	"github.com/localbaponi/localbaponi/conformance"
	"github.com/localbaponi/localbaponi/emulator"
)

// The tests reach only loopback: the AWS SDK must not ask an instance
// metadata service for credentials.
func init() { os.Setenv("AWS_EC2_METADATA_DISABLED", "true") }

// startOnFakeS3 starts an emulator whose store is an S3 bucket served
// in-process by gofakes3 (over s3afero, which streams objects to files; see
// emulator/internal/store/s3store for where it differs from S3).
func startOnFakeS3(t *testing.T, bucket string) *emulator.Emulator {
	t.Helper()
	be, err := s3afero.SingleBucket(bucket, afero.NewBasePathFs(afero.NewOsFs(), t.TempDir()), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	emu, err := emulator.Start(emulator.Options{Store: "s3://" + bucket + "/conformance?endpoint=" + srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// TestSuiteOnS3Store runs the whole suite against an emulator that keeps
// its bytes in an S3 bucket: every check passes, execute included (code
// runs in a local copy that is fetched before and pushed after each run).
func TestSuiteOnS3Store(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite")
	}
	suitePassesWholly(t, startOnFakeS3(t, "localbaponi-conformance"))
}

// suitePassesWholly runs the whole suite against emu and requires every
// check to pass, none skipped.
func suitePassesWholly(t *testing.T, emu *emulator.Emulator) {
	t.Helper()
	res, out := runSuite(t, emu.URL(), "", "")
	jr := res.Report
	if res.ExitCode != conformance.ExitPass || jr == nil {
		t.Fatalf("exit code %d, want 0\n%s", res.ExitCode, out)
	}
	skipped := map[string]int{}
	for _, c := range jr.Checks {
		if c.Status == conformance.StatusSkipped {
			skipped[c.Rule]++
		}
	}
	t.Logf("summary %+v; skipped by rule %v", jr.Summary, skipped)
	if jr.Summary.Failed != 0 || jr.Summary.Skipped != 0 || jr.Summary.Passed < 100 {
		t.Errorf("summary %+v\n%s", jr.Summary, out)
	}
}
