package emulator_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/localbaponi/localbaponi/emulator"
)

// fakeGCSBucket serves one GCS bucket in-process (fake-gcs-server's
// fakestorage over HTTP on loopback; it keeps objects in memory, see
// emulator/internal/store/gcsstore for where it differs from GCS) and
// returns the --store URL of a prefix in it.
func fakeGCSBucket(t *testing.T) string {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "shared-bucket"})
	t.Cleanup(srv.Stop)
	return "gcs://shared-bucket/replicas?endpoint=" + srv.URL()
}

// newFakeGCS is fakeGCSBucket behind a handler that can refuse copies
// (rewrites), with its objects listed for the tests, in the shape of the
// S3 fake.
func newFakeGCS(t testingT) *fakeS3 {
	t.Helper()
	f := &fakeS3{}
	var h http.Handler
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(front.Close)
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true, Scheme: "http", ExternalURL: front.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "shared-bucket"})
	fake := srv.HTTPHandler()
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dst := f.refuseCopyTo.Load(); dst != nil && r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/rewriteTo/") &&
			strings.HasSuffix(r.URL.Path, *dst) && f.refuseCopyTo.CompareAndSwap(dst, nil) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"error": {"code": 403, "message": "copy refused (test)"}}`)
			return
		}
		fake.ServeHTTP(w, r)
	})
	f.list = func() []string {
		objs, _, _ := srv.ListObjectsWithOptions("shared-bucket", fakestorage.ListOptions{})
		var out []string
		for _, o := range objs {
			out = append(out, o.Name)
		}
		return out
	}
	f.url = "gcs://shared-bucket/replicas?endpoint=" + front.URL
	return f
}

// TestTwoEmulatorsShareAGCSStore: replicas on one GCS bucket see each
// other's uploads and deletes, through the Files API.
func TestTwoEmulatorsShareAGCSStore(t *testing.T) {
	replicasShareStore(t, fakeGCSBucket(t))
}

// TestGCSStoreOptionRefusals: a data dir with a gcs:// store, a URL
// without a bucket, an unknown parameter and a bucket that does not exist
// are refused at start, naming what is wrong.
func TestGCSStoreOptionRefusals(t *testing.T) {
	url := fakeGCSBucket(t)
	for name, c := range map[string]struct {
		o    emulator.Options
		want string
	}{
		"data dir":      {emulator.Options{Store: url, DataDir: t.TempDir()}, "data dir"},
		"no bucket":     {emulator.Options{Store: "gcs:///x"}, "bucket is missing"},
		"bad parameter": {emulator.Options{Store: url + "&region=x"}, `unknown parameter "region"`},
		"bad endpoint":  {emulator.Options{Store: "gcs://b?endpoint=ftp://x"}, "endpoint"},
		"missing":       {emulator.Options{Store: strings.Replace(url, "shared-bucket", "other-bucket", 1)}, `bucket "other-bucket"`},
	} {
		emu, err := emulator.Start(c.o)
		if err == nil {
			emu.Close()
			t.Errorf("%s: Start succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", name, err, c.want)
		}
	}
}

// listThread lists a thread through the Files API.
func listThread(t *testing.T, emu *emulator.Emulator, id string) (int, string) {
	t.Helper()
	return filesCall(t, emu, http.MethodPost, "/v1/files/list", map[string]any{"source": "thread", "id": id})
}

// deleteFile deletes a thread's file through the Files API.
func deleteFile(t *testing.T, emu *emulator.Emulator, id, p string) int {
	t.Helper()
	code, _ := filesCall(t, emu, http.MethodDelete, "/v1/files", map[string]any{"source": "thread", "id": id, "path": p})
	return code
}

func filesCall(t *testing.T, emu *emulator.Emulator, method, route string, body map[string]any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, emu.URL()+route, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+emu.APIKey())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}
