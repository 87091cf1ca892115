// Package clock is the emulator's single source of time: signed-URL expiry,
// expires_at, modified times, rate limits and execution timestamps all read it.
package clock

import (
	"errors"
	"sync"
	"time"
)

// Clock tells the emulator's time. It follows the real clock plus an offset
// (the default), or stands still at a set instant (a frozen clock for tests).
// Advance and Set are safe to call while requests are in flight.
type Clock struct {
	mu     sync.RWMutex
	frozen bool
	at     time.Time     // the instant of a frozen clock
	offset time.Duration // added to the real time of a running clock
	now    func() time.Time

	startFrozen bool      // how the clock was made, for Reset
	startAt     time.Time // the instant a frozen clock was made at
}

// NewReal returns a clock that follows the real time until it is moved.
func NewReal() *Clock { return &Clock{now: time.Now} }

// NewFrozen returns a clock that stands at t until it is moved.
func NewFrozen(t time.Time) *Clock {
	return &Clock{frozen: true, at: t, now: time.Now, startFrozen: true, startAt: t}
}

// Now returns the emulator's current time, in UTC.
func (c *Clock) Now() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.frozen {
		return c.at.UTC()
	}
	return c.now().Add(c.offset).UTC()
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
	if c.frozen {
		c.at = c.at.Add(d)
	} else {
		c.offset += d
	}
	return nil
}

// Set moves the clock to t, forwards or backwards. A running clock keeps
// running from t; a frozen one stays at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		c.at = t
	} else {
		c.offset = t.Sub(c.now())
	}
}

// Frozen reports whether the clock stands still between moves.
func (c *Clock) Frozen() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.frozen
}

// Reset puts the clock back where it was made: a running clock follows the
// real time again (no offset); a frozen one stands at its first instant.
func (c *Clock) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frozen, c.at, c.offset = c.startFrozen, c.startAt, 0
}
