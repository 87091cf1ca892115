package control

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/faults"
	"github.com/localbaponi/localbaponi/emulator/internal/journal"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// ErrDropped is a webhook delivery attempt that a fault rule dropped.
var ErrDropped = errors.New("webhook delivery dropped by a fault rule")

// Webhook makes one webhook delivery attempt through the fault engine and
// records it in the journal (route "webhook"): latency and webhook.delay
// delay it; webhook.drop, network or an error fail the attempt without
// sending (the execution service retries as after a real failure).
func (c *Controller) Webhook(ctx context.Context, org, threadID, rawURL string, post func() (int, error)) error {
	began := time.Now()
	e := journal.Entry{Time: c.cfg.Clock.Now(), Method: "POST", Route: "webhook", Org: org}
	if threadID != "" {
		e.Source, e.ID = string(store.Thread), threadID
	}
	if u, err := url.Parse(rawURL); err == nil {
		e.URLPath = u.Path
	}
	defer func() {
		e.DurationMS = float64(time.Since(began).Microseconds()) / 1000
		c.cfg.Journal.Add(e)
	}()
	dec := c.cfg.Faults.Decide(faults.Request{Route: "webhook", Method: "POST", Org: org, ThreadID: threadID})
	if dec != nil {
		e.FaultID = dec.RuleID
		delay := dec.Latency
		if dec.Webhook != nil {
			delay += dec.Webhook.Delay.D()
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				e.Error = "ended during injected delay"
				return ctx.Err()
			}
		}
		if (dec.Webhook != nil && dec.Webhook.Drop) || dec.Network != "" || dec.Error != nil {
			e.Error = ErrDropped.Error() + " " + dec.RuleID
			return ErrDropped
		}
	}
	status, err := post()
	e.Status = status
	if err != nil && status == 0 {
		e.Error = err.Error()
	}
	return err
}
