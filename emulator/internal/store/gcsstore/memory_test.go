package gcsstore

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// pattern is size deterministic, incompressible-enough bytes.
type pattern struct{ off, size int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.size-p.off)]
	for i := range b {
		x := uint64(p.off + int64(i))
		b[i] = byte((x * 2654435761) >> 13)
	}
	p.off += int64(len(b))
	return len(b), nil
}

// procStatus reads a "VmXXX:  N kB" line of /proc/self/status, in bytes.
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n << 10
		}
	}
	t.Fatalf("%s not in /proc/self/status", field)
	return 0
}

// startFakeProcess runs scripts/fake-gcs-server in a process of its own, so
// that what it keeps in memory (every object, every upload in progress) is
// not counted as ours, and returns its URL.
func startFakeProcess(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "fake-gcs-server")
	build := exec.Command("go", "build", "-o", bin, "github.com/localbaponi/localbaponi/scripts/fake-gcs-server")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build fake-gcs-server: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "-addr", addr, "-bucket", testBucket)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	u := "http://" + addr
	for i := 0; ; i++ {
		if exec.Command(bin, "-healthcheck", u).Run() == nil {
			return u
		}
		if i == 100 {
			t.Fatal("fake-gcs-server did not become healthy")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBigUploadMemoryBound streams GCS_BIG_UPLOAD_BYTES (default 256 MiB)
// through Put and back through Open, and checks that this process's peak
// RSS grows by less than 64 MiB (one 8 MiB chunk buffered by the client,
// plus copy buffers and the runtime's slack). The fake runs in its own
// process: it keeps the whole object in memory, and hashes the whole
// upload so far on every chunk, so its time grows with the square of the
// size (256 MiB takes about 10 s here; 1 GiB minutes). Skipped unless
// BENCH_TRANSFER=1:
//
//	BENCH_TRANSFER=1 go test -run TestBigUploadMemoryBound -v ./emulator/internal/store/gcsstore/
func TestBigUploadMemoryBound(t *testing.T) {
	if os.Getenv("BENCH_TRANSFER") != "1" {
		t.Skip("set BENCH_TRANSFER=1 to run (it moves GCS_BIG_UPLOAD_BYTES, default 256 MiB, through the GCS store)")
	}
	size := int64(256 << 20)
	if s := os.Getenv("GCS_BIG_UPLOAD_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			t.Fatalf("GCS_BIG_UPLOAD_BYTES=%q: want a positive number of bytes", s)
		}
		size = n
	}
	u := startFakeProcess(t)
	ctx := context.Background()
	st, err := Open(ctx, Config{Bucket: testBucket, Endpoint: u}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := md5.New()
	io.Copy(h, &pattern{size: size})
	want := h.Sum(nil)

	runtime.GC()
	debug.FreeOSMemory()
	base := procStatus(t, "VmRSS")
	// Reset the peak to the current RSS (Linux 4.0+); without it, VmHWM
	// is the peak since start, which is before the upload anyway.
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	sp := store.Space{Org: "o", Kind: store.Thread, ID: "big"}
	began := time.Now()
	obj, err := st.PutMD5(ctx, sp, "big.bin", "", size, &pattern{size: size}, want)
	if err != nil {
		t.Fatal(err)
	}
	put := time.Since(began)
	putPeak := procStatus(t, "VmHWM")
	if obj.Size != size || obj.MD5 != hex.EncodeToString(want) {
		t.Fatalf("stored %d bytes MD5 %s; want %d, %x", obj.Size, obj.MD5, size, want)
	}

	began = time.Now()
	rd, err := st.Open(ctx, sp, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	g := md5.New()
	n, err := io.Copy(g, rd)
	rd.Close()
	if err != nil || n != size || hex.EncodeToString(g.Sum(nil)) != hex.EncodeToString(want) {
		t.Fatalf("read back %d bytes, %v, MD5 %x; want %d, %x", n, err, g.Sum(nil), size, want)
	}
	get := time.Since(began)
	peak := procStatus(t, "VmHWM")
	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	t.Logf("%s: PUT %v (%.0f MB/s), GET %v (%.0f MB/s); RSS before %s, peak during PUT %s, peak after GET %s (growth %s)",
		mib(size), put.Round(time.Millisecond), float64(size)/put.Seconds()/1e6, get.Round(time.Millisecond), float64(size)/get.Seconds()/1e6,
		mib(base), mib(putPeak), mib(peak), mib(peak-base))
	if peak-base > 64<<20 {
		t.Errorf("peak RSS grew by %s moving %s; want under 64 MiB", mib(peak-base), mib(size))
	}
}
