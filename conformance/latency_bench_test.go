package conformance_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/conformance"
	"github.com/localbaponi/localbaponi/emulator"
)

// startDelayed starts an emulator behind a loopback proxy that adds delay
// to every request (control plane and signed URLs alike), as a remote
// deployment would.
func startDelayed(b *testing.B, delay time.Duration) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	proxyURL := "http://" + ln.Addr().String()
	emu, err := emulator.Start(emulator.Options{Addr: "127.0.0.1:0", ExternalURL: proxyURL})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { emu.Close() })
	target, _ := url.Parse(emu.URL())
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		},
		FlushInterval: -1,
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { srv.Close() })
	return proxyURL
}

// BenchmarkSuiteLatency measures a full default run against an emulator
// directly and behind a proxy adding 50 ms per request, and reports both
// and their ratio (issue 13: the delayed run within 2× the direct one).
//
//	go test -run '^$' -bench SuiteLatency -benchtime 1x ./conformance/
func BenchmarkSuiteLatency(b *testing.B) {
	for b.Loop() {
		direct := timeRun(b, startDelayed(b, 0))
		delayed := timeRun(b, startDelayed(b, 50*time.Millisecond))
		b.ReportMetric(direct.Seconds(), "direct-s")
		b.ReportMetric(delayed.Seconds(), "50ms-s")
		b.ReportMetric(delayed.Seconds()/direct.Seconds(), "ratio")
	}
}

func timeRun(b *testing.B, base string) time.Duration {
	b.Helper()
	cfg := devConfig(base)
	cfg.Out = io.Discard
	start := time.Now()
	res, err := conformance.Run(b.Context(), cfg)
	if err != nil || res.ExitCode != conformance.ExitPass {
		b.Fatalf("run against %s: exit %d, %v", base, res.ExitCode, err)
	}
	return time.Since(start)
}
