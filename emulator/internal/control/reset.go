package control

import (
	"net/http"
	"time"
)

// abortWait bounds how long a reset waits for aborted requests to end.
const abortWait = 10 * time.Second

// abort ends a call in flight: its body reads fail, its fault sleeps end,
// and deadlines in the past make blocked reads and writes on its
// connection return (which also cancels the request's context once the
// body has been read). Called with c.mu held, so the call is still
// registered and its handler still running.
func (cl *call) abort() {
	if cl.aborted.Swap(true) {
		return
	}
	if cl.abortCh != nil {
		close(cl.abortCh)
	}
	if cl.hijacked.Load() {
		return
	}
	rc := http.NewResponseController(cl.w.ResponseWriter)
	past := time.Unix(1, 0)
	_ = rc.SetReadDeadline(past)
	_ = rc.SetWriteDeadline(past)
}

func (cl *call) belongs(org, thread string) bool {
	t := cl.tgt.Load()
	if t == nil || t.org != org {
		return false
	}
	return thread == "" || t.thread == thread
}

// Quiesce aborts the requests in flight and runs fn. With org "" it aborts
// every request and runs fn while no request is served (new requests wait
// for it); otherwise it aborts the requests of that org (and thread, if
// given), waits for them to end, and runs fn while the others go on.
func (c *Controller) Quiesce(org, thread string, fn func() error) error {
	if org == "" {
		stop := make(chan struct{})
		go func() {
			// Requests that slip in before the gate closes are aborted too.
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				c.abortWhere(func(*call) bool { return true })
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		c.gate.Lock()
		close(stop)
		defer c.gate.Unlock()
		return fn()
	}
	sel := func(cl *call) bool { return cl.belongs(org, thread) }
	deadline := time.Now().Add(abortWait)
	for c.abortWhere(sel) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return fn()
}

// abortWhere aborts the calls in flight that sel selects and returns how
// many are still in flight.
func (c *Controller) abortWhere(sel func(*call) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for cl := range c.inflight {
		if sel(cl) {
			cl.abort()
			n++
		}
	}
	return n
}
