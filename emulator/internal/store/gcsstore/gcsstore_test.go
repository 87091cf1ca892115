package gcsstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/store/storetest"
)

const testBucket = "localbaponi-test"

// fakeGCS serves one bucket with fake-gcs-server's fakestorage over HTTP on
// loopback, its memory backend, and returns its URL.
//
// Where it differs from GCS, and what the tests here therefore do not
// prove:
//   - it keeps every object, and every resumable upload in progress, whole
//     in memory (its filesystem backend too, while uploading), and hashes
//     the whole upload so far on every chunk: the memory bound of a big
//     upload can be measured only on our side of the connection;
//   - an abandoned resumable upload stays in its memory forever (GCS drops
//     it after a week) and is never listed, as on GCS;
//   - it checks no credentials, no IAM, no quotas or rate limits (GCS
//     answers 429 to more than about one write per second to one object);
//   - generations are its clock in nanoseconds, as GCS's are in
//     microseconds: both change on every write, which is all we rely on;
//   - its ETag is the content's MD5 (GCS's changes with every generation),
//     which is why the store's ETag is the generation, not GCS's ETag;
//   - it ignores the attribute selection of a listing (fields=) and
//     answers every attribute.
func fakeGCS(t testing.TB) string {
	return fakeGCSLogging(t, nil)
}

// fakeGCSLogging is fakeGCS logging each request to log (if not nil).
func fakeGCSLogging(t testing.TB, log io.Writer) string {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Writer: log})
	if err != nil {
		t.Fatal(err)
	}
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: testBucket})
	t.Cleanup(srv.Stop)
	return srv.URL()
}

// opener opens stores on one fake bucket (made by the first call of each test).
func opener(chunkSize int) storetest.Opener {
	bucket := storetest.PerTest(func(t *testing.T) string { return fakeGCS(t) })
	return func(t *testing.T, clk *clock.Clock) store.Backend {
		st, err := Open(context.Background(), Config{Bucket: testBucket, Prefix: "pre/fix", Endpoint: bucket(t), ChunkSize: chunkSize}, clk, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
}

func TestContract(t *testing.T) {
	// 3 MiB over 1 MiB chunks: a resumable upload of three chunks.
	storetest.Run(t, opener(1<<20), storetest.Options{BigSize: 3 << 20, Replicas: true})
}

func TestParseURL(t *testing.T) {
	cfg, err := ParseURL("gcs://bkt/some/prefix/?endpoint=http://127.0.0.1:4443")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bucket != "bkt" || cfg.Prefix != "some/prefix/" || cfg.Endpoint != "http://127.0.0.1:4443" {
		t.Fatalf("parsed %+v", cfg)
	}
	if cfg, err := ParseURL("gcs://bkt"); err != nil || cfg.Prefix != "" || cfg.Endpoint != "" {
		t.Fatalf("gcs://bkt: %+v, %v", cfg, err)
	}
	for bad, field := range map[string]string{
		"s3://bkt":                     "gcs://",
		"gcs:///x":                     "bucket",
		"gcs://bkt?endpont=x":          "endpont",
		"gcs://bkt?endpoint=ftp://x":   "endpoint",
		"gcs://bkt?endpoint=http://":   "endpoint",
		"gcs://bkt?region=us-east1":    "region",
		"gcs://bkt/p?endpoint=%zz":     "gcs store",
		"gcs://bkt?endpoint=127.0.0.1": "endpoint",
	} {
		_, err := ParseURL(bad)
		if err == nil || !strings.Contains(err.Error(), "gcs store") || !strings.Contains(err.Error(), field) {
			t.Errorf("ParseURL(%q): %v, want an error naming %q", bad, err, field)
		}
	}
}

func TestOpenMissingBucket(t *testing.T) {
	u := fakeGCS(t)
	if _, err := Open(context.Background(), Config{Bucket: "no-such-bucket", Endpoint: u}, nil, nil); err == nil {
		t.Fatal("Open of a bucket that does not exist succeeded")
	}
}

// syncBuffer is a log the fake writes from its handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// count counts the logged requests containing s.
func (b *syncBuffer) count(s string) int { return strings.Count(b.String(), s) }

// failAfter gives n bytes of r, then fails.
type failAfter struct {
	r io.Reader
	n int64
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset (test)")
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

// TestCutChunkedUploadLeavesNoObject: an upload cut after several chunks
// were sent (so the resumable upload exists on the server) leaves no
// object and the earlier object untouched; so does a cancelled context.
func TestCutChunkedUploadLeavesNoObject(t *testing.T) {
	var log syncBuffer
	u := fakeGCSLogging(t, &log)
	ctx := context.Background()
	st, err := Open(ctx, Config{Bucket: testBucket, Endpoint: u, ChunkSize: chunkUnit}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sp := store.Space{Org: "o", Kind: store.Thread, ID: "t"}
	if _, err := st.Put(ctx, sp, "old.bin", "", 3, strings.NewReader("old")); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 8*chunkUnit)
	rand.Read(data)
	for _, p := range []string{"new.bin", "old.bin"} {
		before := log.count("upload_id=")
		_, err := st.Put(ctx, sp, p, "", int64(len(data)), &failAfter{r: bytes.NewReader(data), n: 5 * chunkUnit})
		if err == nil || !strings.Contains(err.Error(), "connection reset") {
			t.Fatalf("cut upload of %s: %v", p, err)
		}
		// The cut came after chunks reached the server: the resumable
		// upload existed there and was abandoned, not finalised.
		if n := log.count("upload_id=") - before; n < 4 {
			t.Fatalf("cut upload of %s sent %d chunks before the cut, want at least 4\n%s", p, n, log.String())
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	go func() {
		pw.Write(data[:5*chunkUnit])
		cancel()
		pw.Write(data[5*chunkUnit:]) // blocks until the store stops reading
	}()
	if _, err := st.Put(cctx, sp, "cancelled.bin", "", int64(len(data)), pr); err == nil {
		t.Fatal("cancelled upload succeeded")
	}
	pr.Close()
	if _, err := st.Stat(ctx, sp, "new.bin"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("stat new.bin after a cut upload: %v, want not found", err)
	}
	if _, err := st.Stat(ctx, sp, "cancelled.bin"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("stat cancelled.bin after a cancelled upload: %v, want not found", err)
	}
	rd, err := st.Open(ctx, sp, "old.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rd)
	rd.Close()
	if err != nil || string(got) != "old" {
		t.Errorf("old.bin after a cut replacement: %d bytes (%q...), %v; want \"old\"", len(got), got[:min(len(got), 16)], err)
	}
	entries, err := st.List(ctx, sp, "")
	if err != nil || len(entries) != 1 || entries[0].Path != "old.bin" {
		t.Errorf("list after cut uploads: %+v, %v", entries, err)
	}
}

// TestReaderKeepsItsGeneration: a reader opened before a replacement
// reads the version it opened; a Seek that must fetch again after the
// replacement fails rather than read the new bytes.
func TestReaderKeepsItsGeneration(t *testing.T) {
	u := fakeGCS(t)
	ctx := context.Background()
	st, err := Open(ctx, Config{Bucket: testBucket, Endpoint: u}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sp := store.Space{Org: "o", Kind: store.Thread, ID: "t"}
	first, err := st.Put(ctx, sp, "f.txt", "", 5, strings.NewReader("first"))
	if err != nil {
		t.Fatal(err)
	}
	rd, err := st.Open(ctx, sp, "f.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	seeker, err := st.Open(ctx, sp, "f.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer seeker.Close()
	second, err := st.Put(ctx, sp, "f.txt", "", 6, strings.NewReader("second"))
	if err != nil {
		t.Fatal(err)
	}
	if first.ETag == second.ETag {
		t.Fatalf("ETag %s unchanged by a replacement", first.ETag)
	}
	if got, err := io.ReadAll(rd); err != nil || string(got) != "first" {
		t.Fatalf("reader opened on the first version read %q, %v", got, err)
	}
	if _, err := seeker.Seek(2, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(seeker); err == nil || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ranged read of a replaced generation: %q, %v; want not found", got, err)
	}
	v, err := st.Versions(ctx, sp)
	if err != nil || v["f.txt"] != second.ETag {
		t.Fatalf("versions %v, %v; want f.txt at %s", v, err, second.ETag)
	}
}

// TestMarkerWrittenOnce: a second replica creating a space that exists
// keeps the first one's marker (a does-not-exist condition), so replicas
// never rewrite each other's markers.
func TestMarkerWrittenOnce(t *testing.T) {
	u := fakeGCS(t)
	ctx := context.Background()
	open := func() *Store {
		st, err := Open(ctx, Config{Bucket: testBucket, Endpoint: u}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := open(), open()
	sp := store.Space{Org: "o", Kind: store.Volume, ID: "v"}
	if err := a.Create(sp); err != nil {
		t.Fatal(err)
	}
	before, err := a.bkt.Object(a.MarkerKey(sp)).Attrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Create(sp); err != nil {
		t.Fatalf("second replica's create: %v", err)
	}
	after, err := a.bkt.Object(a.MarkerKey(sp)).Attrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Generation != before.Generation {
		t.Errorf("marker rewritten: generation %d, then %d", before.Generation, after.Generation)
	}
	if ok, err := b.Exists(sp); err != nil || !ok {
		t.Errorf("b: exists %v, %v", ok, err)
	}
}
