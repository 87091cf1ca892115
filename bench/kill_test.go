package bench

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestKillMidUploadLeavesNoObject: an emulator on the S3 store killed with
// SIGKILL in the middle of a multipart upload leaves no object in the
// bucket. Nothing can abort the upload then; S3 (and gofakes3) never show
// an unfinished multipart upload as an object.
func TestKillMidUploadLeavesNoObject(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the emulator binary")
	}
	srv := killMidUpload(t, s3StoreSuffix)
	defer srv.stop()

	c := s3.New(s3.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, UsePathStyle: true,
		BaseEndpoint: aws.String(srv.fake.URL)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(fakeBucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, aws.ToString(o.Key))
		if strings.HasSuffix(aws.ToString(o.Key), "/cut.bin") {
			t.Errorf("the bucket holds %s after the emulator was killed mid-upload", aws.ToString(o.Key))
		}
	}
	mp, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(fakeBucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(mp.Uploads) == 0 {
		t.Errorf("no unfinished multipart upload in the bucket: the kill did not land mid-upload (keys %v)", keys)
	}
	t.Logf("keys after the kill: %v; unfinished multipart uploads: %d", keys, len(mp.Uploads))
}

// killMidUpload starts the emulator binary on the store that storeSuffix
// selects, sends it 40 MiB of a 64 MiB upload through a signed URL (several
// 8 MiB parts or chunks reach the bucket), kills it with SIGKILL and
// returns it once it is dead and the client has seen the upload fail. The
// caller looks in the bucket and stops srv.
func killMidUpload(t *testing.T, storeSuffix string) *server {
	t.Helper()
	const size = 64 << 20
	srv, err := startServer(t.Context(), t, "gcs"+storeSuffix, size)
	if err != nil {
		t.Fatal(err)
	}
	up, err := srv.sign(t.Context(), "/v1/files/upload_url", map[string]any{"source": "thread", "id": "kill", "path": "cut.bin", "content_length": size})
	if err != nil {
		srv.stop()
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(t.Context(), up.Method, up.URL, pr)
	if err != nil {
		srv.stop()
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
			srv.stop()
			t.Fatalf("the upload ended early: %v", err)
		}
	}
	time.Sleep(500 * time.Millisecond) // let the parts reach the bucket
	if err := srv.cmd.Process.Kill(); err != nil {
		srv.stop()
		t.Fatal(err)
	}
	<-srv.done
	pw.CloseWithError(io.ErrClosedPipe)
	if err := <-done; err == nil {
		srv.stop()
		t.Fatal("the cut upload succeeded")
	}
	return srv
}

// statusError is an HTTP answer where none should have come.
type statusError struct{ code int }

func (e *statusError) Error() string { return "HTTP " + strconv.Itoa(e.code) }
