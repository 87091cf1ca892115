package sandbox

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// capture collects one output stream up to a cap, forwards it live, and
// keeps draining past the cap (so the code never blocks on a full pipe)
// while dropping what it reads: a noisy program costs CPU, not memory.
type capture struct {
	mu        sync.Mutex
	buf       []byte
	limit     int
	live      io.Writer
	truncated bool
}

func newCapture(limit int, live io.Writer) *capture {
	return &capture{limit: limit, live: live, buf: []byte{}}
}

// truncationNote ends an output that hit the cap.
func truncationNote(limit int) string {
	return fmt.Sprintf("\n[output truncated: exceeded %d bytes]\n", limit)
}

func (c *capture) write(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.truncated {
		return
	}
	room := c.limit - len(c.buf)
	var note []byte
	if len(p) > room {
		p = p[:room]
		c.truncated = true
		note = []byte(truncationNote(c.limit))
	}
	c.buf = append(c.buf, p...)
	c.buf = append(c.buf, note...)
	if c.live != nil {
		if len(p) > 0 {
			_, _ = c.live.Write(p)
		}
		if note != nil {
			_, _ = c.live.Write(note)
		}
	}
}

// drainBufs keeps drain's read buffers between runs: made fresh for
// every stream, they were ~30 page faults a run in the emulator, which
// forks for each child and so writes to copied-on-write pages.
var drainBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// drain reads r until EOF (or an error, such as the reader being closed).
func (c *capture) drain(r *os.File) {
	bp := drainBufs.Get().(*[32 << 10]byte)
	defer drainBufs.Put(bp)
	b := bp[:]
	for {
		n, err := r.Read(b)
		if n > 0 {
			c.write(b[:n])
		}
		if err != nil {
			return
		}
	}
}

func (c *capture) bytes() ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf, c.truncated
}
