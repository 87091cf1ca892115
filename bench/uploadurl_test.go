package bench

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkUploadURL times one upload_url round trip against the emulator
// and against the plain reference server, each alone, for profiling the
// speed table's upload_url row (-cpuprofile, -memprofile):
//
//	go test -run '^$' -bench 'UploadURL/emulator' -benchmem -cpuprofile cpu.out ./bench/
func BenchmarkUploadURL(b *testing.B) {
	if err := os.MkdirAll(speedDir(), 0o755); err != nil {
		b.Fatalf("create %s: %v", speedDir(), err)
	}
	dir, err := os.MkdirTemp(speedDir(), "uploadurl-")
	if err != nil {
		b.Fatalf("create bench dir: %v", err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	body := []byte(`{"source":"thread","id":"bench","path":"data/input.json","content_type":"application/json","content_length":1024}`)
	emu := startEmu(b, filepath.Join(dir, "emu"), "gcs")
	plain := newPlainServer(b, filepath.Join(dir, "plain"))
	for _, side := range []struct{ name, url string }{
		{"emulator", emu.URL() + "/v1/files/upload_url"},
		{"reference", plain.base + "/upload_url"},
	} {
		b.Run(side.name, func(b *testing.B) {
			c := newClient()
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				var sg signed
				if err := post(ctx, c, side.url, body, &sg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
