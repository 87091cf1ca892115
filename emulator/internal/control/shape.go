package control

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/faults"
)

// shaper applies a body fault to one stream, in either direction:
// truncate after N bytes, stall for D after N bytes, throttle to B bytes/s,
// corrupt one byte.
type shaper struct {
	a       *faults.BodyAction
	c       *Controller
	cl      *call
	ctx     context.Context
	n       int64 // bytes passed so far
	start   time.Time
	stalled bool
}

// allow returns how many of the next want bytes may pass now, waiting
// first for a stall; 0 with an error ends the stream.
func (s *shaper) allow(want int, flush func()) (int, error) {
	if s.start.IsZero() {
		s.start = time.Now()
	}
	if s.cl.aborted.Load() {
		return 0, errAborted
	}
	n := int64(want)
	if t := s.a.TruncateAfter; t != nil {
		left := *t - s.n
		if left <= 0 {
			s.cl.cut = true
			s.cl.entry.Error = "truncated by fault " + s.cl.entry.FaultID
			return 0, errTruncated
		}
		n = min(n, left)
	}
	if sa := s.a.StallAfter; sa != nil && !s.stalled {
		if s.n >= *sa {
			s.stalled = true
			if flush != nil {
				flush()
			}
			if !s.cl.sleep(s.ctx, s.a.StallFor.D()) {
				return 0, errAborted
			}
		} else {
			n = min(n, *sa-s.n)
		}
	}
	if bps := s.a.ThrottleBPS; bps > 0 {
		n = min(n, max(bps/20, 1)) // small steps, so the rate is smooth
	}
	return int(n), nil
}

// corrupt flips the chosen byte if it is in p, the next bytes of the
// stream (p must be writable).
func (s *shaper) corrupt(p []byte) {
	if s.a.Corrupt {
		if off := s.a.CorruptOffset - s.n; off >= 0 && off < int64(len(p)) {
			p[off] ^= 0xFF
		}
	}
}

// passed accounts for the bytes in p that went through and waits for the
// throttle.
func (s *shaper) passed(p []byte, flush func()) bool {
	s.n += int64(len(p))
	if bps := s.a.ThrottleBPS; bps > 0 {
		if flush != nil {
			flush()
		}
		due := s.start.Add(time.Duration(float64(s.n) / float64(bps) * float64(time.Second)))
		return s.cl.sleep(s.ctx, time.Until(due))
	}
	return true
}

// write sends p through the shaper to w.
func (s *shaper) write(w *respWriter, p []byte) (int, error) {
	flush := func() {
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
	}
	done := 0
	for done < len(p) {
		n, err := s.allow(len(p)-done, flush)
		if err != nil {
			return done, err
		}
		chunk := p[done : done+n]
		if s.a.Corrupt {
			chunk = append([]byte(nil), chunk...) // never change the caller's bytes
			s.corrupt(chunk)
		}
		m, err := w.raw(chunk)
		done += m
		if !s.passed(chunk[:m], flush) {
			return done, errAborted
		}
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// shapedBody shapes an upload's request body.
type shapedBody struct {
	io.ReadCloser
	sh *shaper
}

func (b *shapedBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := b.sh.allow(len(p), nil)
	if err != nil {
		if err == errTruncated {
			b.sh.cl.cut = true // the face's answer is swallowed; the connection is cut
		}
		return 0, err
	}
	m, rerr := b.ReadCloser.Read(p[:n])
	b.sh.corrupt(p[:m])
	if !b.sh.passed(p[:m], nil) {
		return m, errAborted
	}
	return m, rerr
}
