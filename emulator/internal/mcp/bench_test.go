package mcp_test

// What /mcp adds over /v1, measured in one process against one emulator:
// each iteration runs the same operation once through each door, in
// alternating order, and the medians are compared (SPEC MC-6: the same
// execution service, so the difference is the MCP layer). Run:
//
//	go test -run '^$' -bench MCP -benchtime 200x ./emulator/internal/mcp/

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator"
	"github.com/localbaponi/localbaponi/emulator/internal/mcp"
)

// timedPost posts body and returns how long the whole answer took; the
// answer must be 200 and contain want.
func timedPost(b *testing.B, hc *http.Client, url, key, body string, want []byte) time.Duration {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(got, want) {
		b.Fatalf("%s: HTTP %d %s", url, resp.StatusCode, got)
	}
	return took
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// pairBench runs rest and mcp alternately b.N times each and reports their
// medians and, as added-ms, the median of the pairs' differences (mcp minus
// rest, each pair run back to back, so that the machine's drift cancels),
// in milliseconds.
func pairBench(b *testing.B, rest, viaMCP func() time.Duration) {
	rest()
	viaMCP() // warm both paths (the first run starts the sandbox's helper)
	var rs, ms []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			rs = append(rs, rest())
			ms = append(ms, viaMCP())
		} else {
			ms = append(ms, viaMCP())
			rs = append(rs, rest())
		}
	}
	b.StopTimer()
	diffs := make([]time.Duration, len(rs))
	for i := range rs {
		diffs[i] = ms[i] - rs[i]
	}
	b.ReportMetric(float64(median(rs).Microseconds())/1000, "rest-ms")
	b.ReportMetric(float64(median(ms).Microseconds())/1000, "mcp-ms")
	b.ReportMetric(float64(median(diffs).Microseconds())/1000, "added-ms")
}

// BenchmarkMCPExecute: tools/call sandbox_execute of print(1) against POST
// /v1/sandbox/execute of the same code (issue 11: at most 5 ms added).
func BenchmarkMCPExecute(b *testing.B) {
	emu := startEmulator(b, emulator.Options{})
	hc := &http.Client{Timeout: time.Minute}
	key := emu.APIKey()
	rest := func() time.Duration {
		return timedPost(b, hc, emu.URL()+"/v1/sandbox/execute", key, `{"code":"print(1)"}`, []byte(`"stdout":"1\n"`))
	}
	viaMCP := func() time.Duration {
		return timedPost(b, hc, emu.URL()+mcp.Path, key,
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sandbox_execute","arguments":{"code":"print(1)"}}}`,
			[]byte(`"stdout":"1\n"`))
	}
	pairBench(b, rest, viaMCP)
}

// BenchmarkMCPDownload: tools/call files_download against POST
// /v1/files/download_url of the same file: the MCP layer's cost without a
// sandbox run's noise around it.
func BenchmarkMCPDownload(b *testing.B) {
	emu := startEmulator(b, emulator.Options{})
	if err := emu.WriteFile(emulator.Thread("bench"), "a.txt", []byte("a")); err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Timeout: time.Minute}
	key := emu.APIKey()
	rest := func() time.Duration {
		return timedPost(b, hc, emu.URL()+"/v1/files/download_url", key, `{"source":"thread","id":"bench","path":"a.txt"}`, []byte(`"url"`))
	}
	viaMCP := func() time.Duration {
		return timedPost(b, hc, emu.URL()+mcp.Path, key,
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"files_download","arguments":{"source":"thread","id":"bench","path":"a.txt","inline":false}}}`,
			[]byte(`"url"`))
	}
	pairBench(b, rest, viaMCP)
}
