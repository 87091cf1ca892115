package conformance_test

import (
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/localbaponi/localbaponi/emulator"
)

// startOnFakeGCS starts an emulator whose store is a GCS bucket served
// in-process by fake-gcs-server's fakestorage over HTTP on loopback.
//
// What this does not prove (see emulator/internal/store/gcsstore for the
// whole list): the fake keeps every object and every upload in progress in
// memory, checks no credentials or IAM, has no rate limits, and its
// resumable uploads are simpler than GCS's (no upload expiry, no 308
// recovery of a partly received chunk). The suite's files are small, so
// none of that changes its outcome; the memory bound of the GCS store is
// measured separately (bench/gcs_store_test.go).
func startOnFakeGCS(t *testing.T, bucket string) *emulator.Emulator {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	t.Cleanup(srv.Stop)
	emu, err := emulator.Start(emulator.Options{Store: "gcs://" + bucket + "/conformance?endpoint=" + srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// TestSuiteOnGCSStore runs the whole suite against an emulator that keeps
// its bytes in a GCS bucket (fake-gcs-server): every check passes, execute
// included (code runs in a local copy fetched before and pushed after each
// run), none skipped.
func TestSuiteOnGCSStore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite")
	}
	suitePassesWholly(t, startOnFakeGCS(t, "localbaponi-conformance"))
}
