package bench

import (
	"strings"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// TestKillMidUploadLeavesNoObjectGCS: an emulator on the GCS store killed
// with SIGKILL in the middle of a chunked resumable upload leaves no object
// in the bucket: nothing finalises the upload (only closing the writer
// would), and an unfinished resumable upload is never an object.
//
// The kill lands mid-upload: 40 of 64 MiB of the body were taken by the
// connection (a few MiB of which may sit in socket buffers), and the
// emulator's client buffers one 8 MiB chunk and takes more only after
// sending it, so several chunks had reached fake-gcs-server.
func TestKillMidUploadLeavesNoObjectGCS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the emulator binary")
	}
	srv := killMidUpload(t, gcsStoreSuffix)
	defer srv.stop()

	objs, _, err := srv.fakeGCS.ListObjectsWithOptions(fakeBucket, fakestorage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Name)
		if strings.HasSuffix(o.Name, "/cut.bin") {
			t.Errorf("the bucket holds %s (%d bytes) after the emulator was killed mid-upload", o.Name, o.Size)
		}
	}
	if len(names) == 0 {
		t.Error("the bucket is empty: not even the thread's marker reached it, so the upload never started")
	}
	t.Logf("objects after the kill: %v", names)
}
