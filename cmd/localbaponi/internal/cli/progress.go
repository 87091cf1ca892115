package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether w is a terminal (so a progress bar makes
// sense there); a pipe or a file is not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), getTermios)
	return err == nil
}

// termWidth is the width of the terminal w, or 80.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col >= 40 {
			return int(ws.Col)
		}
	}
	return 80
}

// progress draws one transfer's bar on a terminal: name, bar, percent,
// bytes, rate and ETA, redrawn at most every redrawEvery. A nil *progress
// draws nothing (output that is not a terminal).
type progress struct {
	w     io.Writer
	width int
	name  string
	total int64

	mu    sync.Mutex
	done  int64
	start time.Time
	drawn time.Time
}

const redrawEvery = 200 * time.Millisecond

// newProgress returns a bar on w if w is a terminal, else nil.
func newProgress(w io.Writer, name string, total int64) *progress {
	if !isTerminal(w) {
		return nil
	}
	return &progress{w: w, width: termWidth(w), name: name, total: total, start: time.Now()}
}

// reset starts the count again (a retried transfer).
func (p *progress) reset() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.done, p.start = 0, time.Now()
	p.mu.Unlock()
}

func (p *progress) add(n int) {
	if p == nil || n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.drawn) >= redrawEvery {
		p.drawn = now
		p.drawLocked(now, false)
	}
}

// finish draws the final state and ends the line.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drawLocked(time.Now(), true)
}

func (p *progress) drawLocked(now time.Time, final bool) {
	elapsed := now.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.done) / elapsed
	}
	stats := fmt.Sprintf(" %s  %s/s", HumanSize(p.done), HumanSize(int64(rate)))
	pct := ""
	if p.total > 0 {
		pct = fmt.Sprintf(" %3d%%", p.done*100/p.total)
		stats = fmt.Sprintf(" %s/%s  %s/s", HumanSize(p.done), HumanSize(p.total), HumanSize(int64(rate)))
		if final {
			stats += "  " + formatETA(time.Duration(elapsed*float64(time.Second)))
		} else if rate > 0 {
			stats += "  ETA " + formatETA(time.Duration(float64(p.total-p.done)/rate*float64(time.Second)))
		}
	}
	name := p.name
	if len(name) > 24 {
		name = "…" + name[len(name)-23:]
	}
	barWidth := p.width - len(name) - len(pct) - len(stats) - 5
	bar := ""
	if barWidth >= 10 && p.total > 0 {
		fill := int(int64(barWidth) * p.done / p.total)
		bar = " [" + strings.Repeat("=", fill) + strings.Repeat(" ", barWidth-fill) + "]"
	}
	line := name + bar + pct + stats
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K%s", line, end)
}

func formatETA(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// HumanSize formats n bytes in binary units: 512 B, 1.5 KiB, 3.0 GiB.
func HumanSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f /= 1024
		if f < 1024 || u == "TiB" {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	return ""
}

// countingReader feeds a progress bar as it is read.
type countingReader struct {
	r io.Reader
	p *progress
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(n)
	return n, err
}

// countingWriter feeds a progress bar as it is written.
type countingWriter struct {
	w io.Writer
	p *progress
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.p.add(n)
	return n, err
}
