package s3store

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/spf13/afero"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/store/storetest"
)

// The tests reach only loopback: the AWS SDK must not ask an instance
// metadata service for credentials.
func init() { os.Setenv("AWS_EC2_METADATA_DISABLED", "true") }

const testBucket = "localbaponi-test"

// fakeS3 serves one bucket with gofakes3 over s3afero on a directory of
// the test's (objects stream to files). Where it differs from S3: parts of
// a multipart upload are kept in memory by gofakes3 until the upload
// completes (s3afero has no multipart support of its own), it checks no
// signatures, LastModified has the filesystem's resolution, and it has no
// lifecycle rules.
func fakeS3(t *testing.T) string {
	t.Helper()
	fs := afero.NewBasePathFs(afero.NewOsFs(), t.TempDir())
	be, err := s3afero.SingleBucket(testBucket, fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

// opener opens stores on one fake bucket (made by the first call of each test).
func opener(partSize int64) storetest.Opener {
	bucket := storetest.PerTest(fakeS3)
	return func(t *testing.T, clk *clock.Clock) store.Backend {
		st, err := Open(context.Background(), Config{Bucket: testBucket, Prefix: "pre/fix", Endpoint: bucket(t), PartSize: partSize, Concurrency: 2}, clk, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
}

func TestContract(t *testing.T) {
	// 12 MiB over 5 MiB parts: three parts, two in flight.
	storetest.Run(t, opener(MinPartSize), storetest.Options{BigSize: 12 << 20, Replicas: true})
}

func TestParseURL(t *testing.T) {
	cfg, err := ParseURL("s3://bkt/some/prefix/?endpoint=http://127.0.0.1:9000&region=eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bucket != "bkt" || cfg.Prefix != "some/prefix/" || cfg.Endpoint != "http://127.0.0.1:9000" || cfg.Region != "eu-west-1" {
		t.Fatalf("parsed %+v", cfg)
	}
	if cfg, err := ParseURL("s3://bkt"); err != nil || cfg.Prefix != "" || cfg.Endpoint != "" {
		t.Fatalf("s3://bkt: %+v, %v", cfg, err)
	}
	for _, bad := range []string{"gcs://bkt", "s3:///x", "s3://bkt?endpont=x", "s3://bkt?endpoint=ftp://x"} {
		if _, err := ParseURL(bad); err == nil || !strings.Contains(err.Error(), "s3 store") {
			t.Errorf("ParseURL(%q): %v, want an error", bad, err)
		}
	}
}

func TestOpenMissingBucket(t *testing.T) {
	u := fakeS3(t)
	if _, err := Open(context.Background(), Config{Bucket: "no-such-bucket", Endpoint: u}, nil, nil); err == nil {
		t.Fatal("Open of a bucket that does not exist succeeded")
	}
}

// TestRemoveSpaceKeepsItsPrefixSiblings: removing thread t1 leaves thread
// t10 (whose marker key t1's marker key prefixes) in place, empty or not.
func TestRemoveSpaceKeepsItsPrefixSiblings(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, Config{Bucket: testBucket, Endpoint: fakeS3(t)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t1 := store.Space{Org: "org_a", Kind: store.Thread, ID: "t1"}
	t10 := store.Space{Org: "org_a", Kind: store.Thread, ID: "t10"}
	for _, sp := range []store.Space{t1, t10} {
		if err := st.Create(sp); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RemoveSpace(t1); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Exists(t10); err != nil || !ok {
		t.Fatalf("t10 exists: %v, %v after removing t1", ok, err)
	}
	if ok, err := st.Exists(t1); err != nil || ok {
		t.Fatalf("t1 exists: %v, %v after removing it", ok, err)
	}
}
