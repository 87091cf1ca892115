package emulator

import (
	"bytes"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// discardWriter is a ResponseWriter that keeps nothing but the header map
// (reset between calls), so a benchmark times the handler alone.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkHandlerUploadURL runs POST /v1/files/upload_url through the
// server's whole handler chain (control, body timeouts, auth, the API)
// without a connection: what the emulator itself spends per call, for the
// speed table's upload_url row.
func BenchmarkHandlerUploadURL(b *testing.B) {
	e, err := Start(Options{DataDir: b.TempDir(), Backend: "gcs", Sandbox: SandboxOptions{Isolation: "none"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	h := e.srv.Handler
	body := []byte(`{"source":"thread","id":"bench","path":"data/input.json","content_type":"application/json","content_length":1024}`)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		r, _ := http.NewRequest(http.MethodPost, e.URL()+"/v1/files/upload_url", bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+DevAPIKey)
		r.Header.Set("Content-Type", "application/json")
		r.Host = r.URL.Host
		clear(w.h)
		w.status = 0
		h.ServeHTTP(w, r)
		if w.status != 0 && w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
	// CPU time (the process's, GC included) is steadier than wall time
	// on a machine other work shares.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
