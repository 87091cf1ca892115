package control

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/faults"
	"github.com/localbaponi/localbaponi/emulator/internal/journal"
)

func newTestController() *Controller {
	clk := clock.NewReal()
	return New(Config{Faults: faults.New(clk, nil), Journal: journal.New(0), Clock: clk, Face: "gcs"})
}

// A face PUT through the middleware is journaled with its route, target
// and byte counts.
func TestHandlerJournalsAFacePut(t *testing.T) {
	c := newTestController()
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(201)
		w.Write([]byte("ok"))
	}))
	req := httptest.NewRequest("PUT", "/baponi-local-storage/orgs/o1/threads/t1/a/b.txt?X-Goog-Signature=x", bytes.NewReader(make([]byte, 1024)))
	h.ServeHTTP(httptest.NewRecorder(), req)
	e := c.Journal().List(journal.Filter{})
	if len(e) != 1 || e[0].Route != "storage.put" || e[0].Org != "o1" || e[0].Source != "thread" || e[0].ID != "t1" ||
		e[0].Path != "a/b.txt" || e[0].Status != 201 || e[0].BytesIn != 1024 || e[0].BytesOut != 2 || e[0].URLPath != "/baponi-local-storage/orgs/o1/threads/t1/a/b.txt" {
		t.Fatalf("journal %+v", e)
	}
}

// BenchmarkOverhead measures what the middleware adds to one small face
// PUT with no fault rule set: compare the two sub-benchmarks.
func BenchmarkOverhead(b *testing.B) {
	body := make([]byte, 1024)
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(200)
	})
	run := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest("PUT", "/baponi-local-storage/orgs/o1/threads/t1/a.bin", bytes.NewReader(body))
			h.ServeHTTP(httptest.NewRecorder(), req)
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, inner) })
	b.Run("control", func(b *testing.B) { run(b, newTestController().Handler(inner)) })
}
