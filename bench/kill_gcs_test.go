package bench

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

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
	const size = 64 << 20
	srv, err := startServer(t.Context(), t, "gcs"+gcsStoreSuffix, size)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	up, err := srv.sign(t.Context(), "/v1/files/upload_url", map[string]any{"source": "thread", "id": "kill", "path": "cut.bin", "content_length": size})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(t.Context(), up.Method, up.URL, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := srv.client.Do(req)
		if err == nil {
			resp.Body.Close()
			err = &statusError{resp.StatusCode}
		}
		done <- err
	}()
	chunk := make([]byte, 1<<20)
	for range 40 {
		if _, err := pw.Write(chunk); err != nil {
			t.Fatalf("the upload ended early: %v", err)
		}
	}
	time.Sleep(500 * time.Millisecond) // let the chunks reach the bucket
	if err := srv.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-srv.done
	pw.CloseWithError(io.ErrClosedPipe)
	if err := <-done; err == nil {
		t.Fatal("the cut upload succeeded")
	}

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
