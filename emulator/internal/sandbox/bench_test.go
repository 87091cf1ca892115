package sandbox

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkStartup measures what the sandbox adds to starting an
// interpreter: each iteration runs the same trivial program bare (the real
// interpreter binary, clean environment, output captured) and in the
// sandbox, and the medians of both and their difference are reported.
// The run has no thread or volume; BENCH_SANDBOX_FS picks the file view
// (default auto: a FUSE view's child mounts it before its run is known).
//
//	go test -run '^$' -bench 'Startup$' -benchtime 30x ./emulator/internal/sandbox/
//	BENCH_SANDBOX_FS=bind go test -run '^$' -bench 'Startup$' -benchtime 30x ./emulator/internal/sandbox/
func BenchmarkStartup(b *testing.B) {
	r, err := NewRunner(Options{Isolation: IsolationNamespaces, FS: os.Getenv("BENCH_SANDBOX_FS")})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	for _, c := range trivialPrograms {
		b.Run(c.lang, func(b *testing.B) {
			ctx := context.Background()
			it, err := r.interpreter(ctx, c.lang, "")
			if err != nil || it == nil {
				b.Fatalf("no %s interpreter: %v", c.lang, err)
			}
			spec := Spec{Language: c.lang, Code: []byte(c.code), Timeout: 30 * time.Second}
			bare := func() time.Duration {
				cmd := exec.Command(it.path, argv(c.lang, it.path, spec.Code, "")[1:]...)
				cmd.Env = baseEnv(b.TempDir(), it, nil)
				start := time.Now()
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("bare %s: %v: %s", c.lang, err, out)
				}
				return time.Since(start)
			}
			boxed := func() time.Duration {
				res, err := r.Run(ctx, spec)
				if err != nil || res.Status != StatusSuccess {
					b.Fatalf("sandboxed %s: %v %+v", c.lang, err, res)
				}
				return res.Duration
			}
			bare()
			boxed() // warm the page cache and resolve the interpreter
			mb, ms := alternate(b, bare, boxed)
			b.ReportMetric(ms2(mb), "bare-ms")
			b.ReportMetric(ms2(ms), "sandbox-ms")
			b.ReportMetric(ms2(ms-mb), "added-ms")
		})
	}
}

// trivialPrograms are the programs whose start the benchmarks time.
var trivialPrograms = []struct{ lang, code string }{
	{"python", "print(1)"},
	{"node", "1"},
	{"bash", "true"},
}

// alternate runs first and second b.N times each, alternately (so that
// the machine's load falls on both alike), and returns their medians.
func alternate(b *testing.B, first, second func() time.Duration) (time.Duration, time.Duration) {
	var fs, ss []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fs = append(fs, first())
		ss = append(ss, second())
	}
	b.StopTimer()
	return median(fs), median(ss)
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms2(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// viewRunners makes one namespace runner per file view (bind, fuse),
// closed when b ends.
func viewRunners(b *testing.B) map[string]*Runner {
	runners := map[string]*Runner{}
	for _, fs := range []string{FSBind, FSFuse} {
		r, err := NewRunner(Options{Isolation: IsolationNamespaces, FS: fs})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		runners[fs] = r
	}
	return runners
}

// BenchmarkStartupHome measures what the file view adds to a run with a
// thread directory: each iteration runs the same trivial program with the
// thread bound (bind) and served over FUSE (fuse), alternately, and the
// medians of both and their difference are reported.
//
//	go test -run '^$' -bench StartupHome -benchtime 50x ./emulator/internal/sandbox/
func BenchmarkStartupHome(b *testing.B) {
	runners := viewRunners(b)
	home := b.TempDir()
	for _, c := range trivialPrograms {
		b.Run(c.lang, func(b *testing.B) {
			ctx := context.Background()
			spec := Spec{Language: c.lang, Code: []byte(c.code), Timeout: 30 * time.Second, HomeDir: home}
			run := func(fs string) time.Duration {
				res, err := runners[fs].Run(ctx, spec)
				if err != nil || res.Status != StatusSuccess || res.FileView != fs {
					b.Fatalf("%s %s: %v %+v", fs, c.lang, err, res)
				}
				return res.Duration
			}
			run(FSBind)
			run(FSFuse)
			mb, mf := alternate(b, func() time.Duration { return run(FSBind) }, func() time.Duration { return run(FSFuse) })
			b.ReportMetric(ms2(mb), "bind-ms")
			b.ReportMetric(ms2(mf), "fuse-ms")
			b.ReportMetric(ms2(mf-mb), "added-ms")
		})
	}
}

// BenchmarkFileIO compares file I/O through the two file views: python
// writes one 100 MiB file, creates 1 000 files of 1 KiB, and stats a file
// 2 000 times, in /home/baponi, bound (bind) and served over FUSE (fuse),
// alternately.
// /tmp is slow to create files in on some machines: set BENCH_DIR to a
// directory elsewhere.
//
//	BENCH_DIR=/var/tmp go test -run '^$' -bench FileIO -benchtime 5x ./emulator/internal/sandbox/
func BenchmarkFileIO(b *testing.B) {
	runners := viewRunners(b)
	parent := os.Getenv("BENCH_DIR")
	for _, c := range []struct{ name, code string }{
		{"write-100MiB", "import time\nt = time.monotonic()\nwith open('big', 'wb') as f:\n    for i in range(100):\n        f.write(b'x' * (1 << 20))\nprint(time.monotonic() - t)"},
		{"create-1000", "import time\nt = time.monotonic()\nfor i in range(1000):\n    with open('f%d' % i, 'wb') as f:\n        f.write(b'x' * 1024)\nprint(time.monotonic() - t)"},
		// Each stat through the view is a lookup and a getattr: two round
		// trips to the emulator.
		{"stat-2000", "import os, time\nopen('f', 'w').close()\nt = time.monotonic()\nfor i in range(2000):\n    os.stat('f')\nprint(time.monotonic() - t)"},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			run := func(fs string) time.Duration {
				home, err := os.MkdirTemp(parent, "lbp-bench-")
				if err != nil {
					b.Fatal(err)
				}
				defer os.RemoveAll(home)
				res, err := runners[fs].Run(ctx, Spec{Language: "python", Code: []byte(c.code), Timeout: 60 * time.Second, HomeDir: home})
				if err != nil || res.Status != StatusSuccess || res.FileView != fs {
					b.Fatalf("%s: %v %+v", fs, err, res)
				}
				s, err := strconv.ParseFloat(strings.TrimSpace(string(res.Stdout)), 64)
				if err != nil {
					b.Fatalf("%s: %q", fs, res.Stdout)
				}
				return time.Duration(s * float64(time.Second))
			}
			mb, mf := alternate(b, func() time.Duration { return run(FSBind) }, func() time.Duration { return run(FSFuse) })
			b.ReportMetric(ms2(mb), "bind-ms")
			b.ReportMetric(ms2(mf), "fuse-ms")
		})
	}
}
