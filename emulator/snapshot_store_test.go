package emulator_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator"
)

// snapshotOf takes a snapshot of emu.
func snapshotOf(t *testing.T, emu *emulator.Emulator) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := emu.WriteSnapshot(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sameArchive fails t, naming the first entry that differs, unless a and b
// are the same bytes.
func sameArchive(t *testing.T, what string, a, b []byte) {
	t.Helper()
	if bytes.Equal(a, b) {
		return
	}
	ta, tb := tar.NewReader(bytes.NewReader(a)), tar.NewReader(bytes.NewReader(b))
	for {
		ha, ea := ta.Next()
		hb, eb := tb.Next()
		if ea != nil || eb != nil {
			t.Fatalf("%s: the archives differ (%d and %d bytes); they end at %v and %v", what, len(a), len(b), ea, eb)
		}
		da, _ := io.ReadAll(ta)
		db, _ := io.ReadAll(tb)
		if ha.Name != hb.Name || !ha.ModTime.Equal(hb.ModTime) || ha.PAXRecords["LOCALBAPONI.content_type"] != hb.PAXRecords["LOCALBAPONI.content_type"] || !bytes.Equal(da, db) {
			t.Fatalf("%s: entry %q (%v, %d bytes) differs from %q (%v, %d bytes)", what, ha.Name, ha.ModTime, len(da), hb.Name, hb.ModTime, len(db))
		}
	}
}

// fillForSnapshot writes files of every kind (nested, empty, unicode, a
// multipart-sized one) with distinct modified times and content types.
func fillForSnapshot(t *testing.T, emu *emulator.Emulator) {
	t.Helper()
	files := map[string]string{"a.txt": "text/plain", "deep/er/b.json": "application/json", "empty": "application/x-empty",
		"big.bin": "application/octet-stream", "naïve name (1).md": "text/markdown; charset=utf-8"}
	for _, p := range []string{"a.txt", "deep/er/b.json", "empty", "big.bin", "naïve name (1).md"} {
		data := []byte("content of " + p)
		switch p {
		case "empty":
			data = nil
		case "big.bin":
			data = randomBytes(9<<20 + 17) // over the S3 store's 8 MiB part: a multipart upload
		}
		emu.Clock().Advance(time.Minute)
		if err := emu.WriteFileType(emulator.Thread("t1"), p, files[p], data); err != nil {
			t.Fatal(err)
		}
	}
	emu.Clock().Advance(time.Minute)
	if err := emu.WriteFile(emulator.Volume(emulator.DevRWVolume), "shared.csv", []byte("a,b\n")); err != nil {
		t.Fatal(err)
	}
	if err := emu.WriteFile(emulator.Thread("t1"), "c++ & 100%/a+b c?.txt", []byte("a name to escape")); err != nil {
		t.Fatal(err)
	}
	if err := emu.WriteFile(emulator.Thread("t10"), "x", []byte("a thread whose id t1 prefixes")); err != nil {
		t.Fatal(err)
	}
	if st, _, _, _ := call(t, emu, "POST", "/_emulator/keys", "", map[string]any{"org": "org_new", "key": "sk-us-bmV3LW9yZy1rZXk"}); st != 201 {
		t.Fatalf("create key: %d", st)
	}
	emu.Clock().Advance(time.Hour)
}

// TestSnapshotsOnS3Store: a snapshot of a file-store emulator loads into
// an S3-store emulator (over what it held), whose own snapshot is then the
// same archive byte for byte (files, content types, modified times, orgs,
// keys, clock); loading it again over changed state gives it back again;
// a load whose switch fails halfway (the bucket refuses a copy) rolls back
// to the previous state and leaves no staging keys.
func TestSnapshotsOnS3Store(t *testing.T) {
	testSnapshotsOnRemoteStore(t, newFakeS3(t))
}

// TestSnapshotsOnGCSStore is TestSnapshotsOnS3Store on the GCS store over
// fake-gcs-server.
func TestSnapshotsOnGCSStore(t *testing.T) {
	testSnapshotsOnRemoteStore(t, newFakeGCS(t))
}

func testSnapshotsOnRemoteStore(t *testing.T, f *fakeS3) {
	start := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	src := emulator.RunT(t, emulator.Options{Clock: emulator.NewFrozenClock(start)})
	fillForSnapshot(t, src)
	want := snapshotOf(t, src)

	emu := emulator.RunT(t, emulator.Options{Store: f.url, Clock: emulator.NewFrozenClock(start.Add(-48 * time.Hour))})
	if err := emu.WriteFile(emulator.Thread("old"), "gone.txt", []byte("replaced by the snapshot")); err != nil {
		t.Fatal(err)
	}
	if err := emu.LoadSnapshot(context.Background(), bytes.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	sameArchive(t, "remote store after loading", want, snapshotOf(t, emu))
	if _, err := emu.ReadFile(emulator.Thread("old"), "gone.txt"); err == nil {
		t.Error("a file the snapshot does not have survived loading it")
	}
	if st, _, _, _ := call(t, emu, "POST", "/v1/files/list", "sk-us-bmV3LW9yZy1rZXk", map[string]any{"source": "thread", "id": "t1"}); st != 200 && st != 404 {
		t.Errorf("the snapshot's run-time key is refused: %d", st)
	}

	// Change everything, load it again.
	emu.Clock().Advance(24 * time.Hour)
	if err := emu.WriteFile(emulator.Thread("t1"), "a.txt", []byte("changed")); err != nil {
		t.Fatal(err)
	}
	if err := emu.WriteFile(emulator.Thread("new"), "n.txt", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if st, body, _, err := call(t, emu, "DELETE", "/v1/files", emu.APIKey(), map[string]any{"source": "thread", "id": "t1", "path": "deep/er/b.json"}); err != nil || st != 200 {
		t.Fatalf("delete: %d %v %v", st, body, err)
	}
	changed := snapshotOf(t, emu)
	if err := emu.LoadSnapshot(context.Background(), bytes.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	sameArchive(t, "remote store after loading over changes", want, snapshotOf(t, emu))

	// A switch that fails halfway: back to what it held.
	emu.Clock().Advance(24 * time.Hour)
	if err := emu.WriteFile(emulator.Thread("t1"), "a.txt", []byte("changed again")); err != nil {
		t.Fatal(err)
	}
	before := snapshotOf(t, emu)
	// The copy of t10/x into place is refused; the copies started before
	// it (in key order: the space markers, among them the snapshot's
	// thread "new", which the bucket does not have; new/n.txt; t1/a.txt,
	// which the bucket has with other bytes) complete and must be undone.
	dst := "/replicas/orgs/org_local/threads/t10/x"
	f.refuseCopyTo.Store(&dst)
	err := emu.LoadSnapshot(context.Background(), bytes.NewReader(changed))
	f.refuseCopyTo.Store(nil)
	if err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("load with a failing switch: %v, want an error saying it rolled back", err)
	}
	sameArchive(t, "remote store after a failed switch", before, snapshotOf(t, emu))
	if left := f.keys(t, ".staging"); len(left) != 0 {
		t.Errorf("staging keys left: %v", left)
	}

	// A load that fails while staging (the archive cut in big.bin): nothing changed.
	cut := want[:len(want)*2/3]
	if err := emu.LoadSnapshot(context.Background(), bytes.NewReader(cut)); !errors.Is(err, emulator.ErrSnapshot) {
		t.Fatalf("load of a cut archive: %v, want ErrSnapshot", err)
	}
	sameArchive(t, "remote store after a cut archive", before, snapshotOf(t, emu))
	if left := f.keys(t, ".staging"); len(left) != 0 {
		t.Errorf("staging keys left: %v", left)
	}
}

// TestSnapshotOptionOnS3Store: --snapshot loads into a remote store at
// start, and Reset goes back to it.
func TestSnapshotOptionOnS3Store(t *testing.T) {
	for name, f := range map[string]func(testingT) *fakeS3{"s3": newFakeS3, "gcs": newFakeGCS} {
		t.Run(name, func(t *testing.T) { testSnapshotOption(t, f(t).url) })
	}
}

func testSnapshotOption(t *testing.T, url string) {
	start := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	src := emulator.RunT(t, emulator.Options{Clock: emulator.NewFrozenClock(start)})
	fillForSnapshot(t, src)
	want := snapshotOf(t, src)
	path := t.TempDir() + "/snap.tar"
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	emu := emulator.RunT(t, emulator.Options{Store: url, Snapshot: path, Clock: emulator.NewFrozenClock(start)})
	sameArchive(t, "S3 store started from a snapshot", want, snapshotOf(t, emu))
	if err := emu.WriteFile(emulator.Thread("t1"), "a.txt", []byte("changed")); err != nil {
		t.Fatal(err)
	}
	if err := emu.Reset(); err != nil {
		t.Fatal(err)
	}
	sameArchive(t, "S3 store reset to its snapshot", want, snapshotOf(t, emu))
}
