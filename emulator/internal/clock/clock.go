// Package clock is the emulator's single source of time: signed-URL expiry,
// expires_at, modified times, rate limits and execution timestamps all read it.
package clock

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the emulator's time. It follows the real clock plus an offset
// (the default), or stands still at a set instant (a frozen clock for tests).
// Advance and Set are safe to call while requests are in flight.
type Clock struct {
	mu    sync.Mutex // held by the moves, one at a time
	state atomic.Pointer[state]
	now   func() time.Time

	startFrozen bool      // how the clock was made, for Reset
	startAt     time.Time // the instant a frozen clock was made at
}

// state is where a clock stands; a move stores a new one, so that Now (on
// every request) reads it without a lock.
type state struct {
	frozen bool
	at     time.Time     // the instant of a frozen clock
	offset time.Duration // added to the real time of a running clock
}

// NewReal returns a clock that follows the real time until it is moved.
func NewReal() *Clock { return &Clock{now: time.Now} }

// NewFrozen returns a clock that stands at t until it is moved.
func NewFrozen(t time.Time) *Clock {
	c := &Clock{now: time.Now, startFrozen: true, startAt: t}
	c.state.Store(&state{frozen: true, at: t})
	return c
}

// load returns the clock's state (a running clock with no offset until a
// move stores one).
func (c *Clock) load() state {
	if st := c.state.Load(); st != nil {
		return *st
	}
	return state{}
}

// Now returns the emulator's current time, in UTC.
func (c *Clock) Now() time.Time {
	st := c.load()
	if st.frozen {
		return st.at.UTC()
	}
	return c.now().Add(st.offset).UTC()
}

// ErrBackwards is returned by Advance for a negative duration: the clock only
// moves backwards through Set.
var ErrBackwards = errors.New("clock: advance must not be negative (use set to move the clock backwards)")

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) error {
	if d < 0 {
		return ErrBackwards
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.load()
	if st.frozen {
		st.at = st.at.Add(d)
	} else {
		st.offset += d
	}
	c.state.Store(&st)
	return nil
}

// Set moves the clock to t, forwards or backwards. A running clock keeps
// running from t; a frozen one stays at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.load()
	if st.frozen {
		st.at = t
	} else {
		st.offset = t.Sub(c.now())
	}
	c.state.Store(&st)
}

// Frozen reports whether the clock stands still between moves.
func (c *Clock) Frozen() bool {
	return c.load().frozen
}

// Reset puts the clock back where it was made: a running clock follows the
// real time again (no offset); a frozen one stands at its first instant.
func (c *Clock) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state.Store(&state{frozen: c.startFrozen, at: c.startAt})
}
