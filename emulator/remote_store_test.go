package emulator_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/spf13/afero"

	"github.com/localbaponi/localbaponi/emulator"
)

// The tests reach only loopback: the AWS SDK must not ask an instance
// metadata service for credentials.
func init() { os.Setenv("AWS_EC2_METADATA_DISABLED", "true") }

// fakeBucket serves one S3 bucket in-process (gofakes3 over s3afero, which
// streams objects to files) and returns the --store URL of a prefix in it.
func fakeBucket(t *testing.T) string { return newFakeS3(t).url }

// testingT is what the fakes need of a test: a *testing.T or GinkgoT().
type testingT interface {
	Helper()
	TempDir() string
	Cleanup(func())
	Fatal(args ...any)
}

// fakeS3 is one in-process bucket of a remote store — gofakes3 over
// s3afero (objects streamed to files under dir), or fake-gcs-server
// (newFakeGCS) — behind a handler that can refuse copies.
type fakeS3 struct {
	url  string          // the --store URL of the prefix "replicas"
	dir  string          // where s3afero keeps the bucket's objects
	list func() []string // the bucket's object names, where it is not dir
	// refuseCopyTo, if set, is the end of the path of a copy destination:
	// the bucket refuses the next copy there (403 AccessDenied).
	refuseCopyTo atomic.Pointer[string]
}

func newFakeS3(t testingT) *fakeS3 {
	t.Helper()
	f := &fakeS3{dir: t.TempDir()}
	be, err := s3afero.SingleBucket("shared-bucket", afero.NewBasePathFs(afero.NewOsFs(), f.dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(be).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dst := f.refuseCopyTo.Load(); dst != nil && r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "" &&
			strings.HasSuffix(r.URL.Path, *dst) && f.refuseCopyTo.CompareAndSwap(dst, nil) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>copy refused (test)</Message></Error>`)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = "s3://shared-bucket/replicas?endpoint=" + srv.URL
	return f
}

// keys lists the object keys of the bucket whose name contains part.
func (f *fakeS3) keys(t testingT, part string) []string {
	t.Helper()
	var out []string
	if f.list != nil {
		for _, k := range f.list() {
			if strings.Contains(k, part) {
				out = append(out, k)
			}
		}
		return out
	}
	err := filepath.WalkDir(f.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(f.dir, p); !d.IsDir() && strings.Contains(rel, part) {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTwoEmulatorsShareAnS3Store: replicas on one bucket see each other's
// uploads and deletes.
func TestTwoEmulatorsShareAnS3Store(t *testing.T) {
	replicasShareStore(t, fakeBucket(t))
}

// replicasShareStore starts two emulators on the store url: b reads and
// lists what a wrote, and after b's delete a neither reads nor lists it.
func replicasShareStore(t *testing.T, url string) {
	t.Helper()
	a := emulator.RunT(t, emulator.Options{Store: url})
	b := emulator.RunT(t, emulator.Options{Store: url})
	if a.DataDir() != "" || a.StoreURL() != url {
		t.Fatalf("DataDir %q, StoreURL %q; want no data dir and the store URL", a.DataDir(), a.StoreURL())
	}
	if err := a.WriteFile(emulator.Thread("t1"), "dir/in.txt", []byte("from a")); err != nil {
		t.Fatal(err)
	}
	got, err := b.ReadFile(emulator.Thread("t1"), "dir/in.txt")
	if err != nil || string(got) != "from a" {
		t.Fatalf("b reads %q, %v", got, err)
	}
	if code, out := listThread(t, b, "t1"); code != 200 || !strings.Contains(out, `"dir/in.txt"`) {
		t.Fatalf("b lists %d %s", code, out)
	}
	if code := deleteFile(t, b, "t1", "dir/in.txt"); code != 200 {
		t.Fatalf("b deletes: %d", code)
	}
	if _, err := a.ReadFile(emulator.Thread("t1"), "dir/in.txt"); err == nil {
		t.Fatal("a still reads a file b deleted")
	}
	if code, out := listThread(t, a, "t1"); code != 200 || strings.Contains(out, "in.txt") {
		t.Fatalf("a lists %d %s after b's delete", code, out)
	}
}

// TestStoreOptionRefusals: a data dir with a remote store, an unknown
// scheme and a bucket that cannot be reached are refused at start.
func TestStoreOptionRefusals(t *testing.T) {
	url := fakeBucket(t)
	for name, o := range map[string]emulator.Options{
		"data dir":       {Store: url, DataDir: t.TempDir()},
		"unknown scheme": {Store: "ftp://x"},
		"no bucket":      {Store: strings.Replace(url, "shared-bucket", "other-bucket", 1)},
	} {
		if emu, err := emulator.Start(o); err == nil {
			emu.Close()
			t.Errorf("%s: Start succeeded", name)
		}
	}
}
