package s3store

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// TestCopyKeyKeepsTypeAndModified: a copy, server-side or (above the copy
// limit) streamed through a multipart upload, has the source's bytes,
// content type and modified time.
func TestCopyKeyKeepsTypeAndModified(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
	clk := clock.NewFrozen(t0)
	st, err := Open(ctx, Config{Bucket: testBucket, Endpoint: fakeS3(t), PartSize: MinPartSize, Concurrency: 2}, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.b.copyLimit = 1 << 20
	sp := store.Space{Org: "org_a", Kind: store.Thread, ID: "t1"}
	for name, size := range map[string]int{"small.bin": 1000, "large.bin": 12<<20 + 3} {
		data := make([]byte, size)
		rand.Read(data)
		clk.Set(t0)
		if _, err := st.Put(ctx, sp, name, "application/x-test", int64(size), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		clk.Set(t0.Add(time.Hour)) // a copy keeps the source's time, not the clock's
		if err := st.CopyKey(ctx, sp.ObjectKey(name), sp.ObjectKey("copy/"+name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rd, err := st.Open(ctx, sp, "copy/"+name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rd)
		rd.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: copy has %d bytes (%v), want the %d written", name, len(got), err, size)
		}
		if rd.ContentType != "application/x-test" || !rd.Modified.Equal(t0) {
			t.Errorf("%s: copy's type %q, modified %v; want application/x-test, %v", name, rd.ContentType, rd.Modified, t0)
		}
	}
}
