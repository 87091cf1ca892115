package emulator

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/api"
	"github.com/localbaponi/localbaponi/emulator/internal/control"
	"github.com/localbaponi/localbaponi/emulator/internal/execution"
	"github.com/localbaponi/localbaponi/emulator/internal/faults"
	"github.com/localbaponi/localbaponi/emulator/internal/journal"
)

// FaultRule is a fault rule: what to match and what goes wrong. Its JSON
// form is what POST /_emulator/faults takes.
type FaultRule = faults.Rule

// FaultMatch says which requests a rule applies to.
type FaultMatch = faults.Match

// FaultAction is what happens to a matched request.
type FaultAction = faults.Action

// FaultError answers a request with an error in the surface's dialect.
type FaultError = faults.ErrorAction

// FaultLatency delays a request.
type FaultLatency = faults.Latency

// FaultBody shapes a transfer's body.
type FaultBody = faults.BodyAction

// FaultExecute forces an execution's status.
type FaultExecute = faults.ExecuteAction

// FaultWebhook delays or drops webhook deliveries.
type FaultWebhook = faults.WebhookAction

// Duration is a duration in fault rules ("200ms" in JSON).
type Duration = faults.Duration

// FaultScopeHeader is the header whose value a rule's Match.Scope must equal.
const FaultScopeHeader = faults.ScopeHeader

// FaultFiredHeader names, on a response, the fault rule that fired on it.
const FaultFiredHeader = faults.FiredHeader

// RequestRecord is one entry of the request journal.
type RequestRecord = journal.Entry

// RequestFilter selects journal entries; empty fields select everything.
type RequestFilter = journal.Filter

// KeyID returns the journal's name for an API key (never the key itself).
func KeyID(apiKey string) string { return faults.KeyID(apiKey) }

func (e *Emulator) startControl(s *api.Server, backend string, bodyIdle time.Duration) error {
	e.faults = faults.New(e.clock, e.log.With("component", "faults"))
	e.journal = journal.New(e.opts.JournalSize)
	cfg := control.Config{
		Faults: e.faults, Journal: e.journal, Clock: e.clock, Face: backend,
		CaptureBodies: e.opts.CaptureBodies, Logger: e.log.With("component", "control"),
		WrapBody: func(w http.ResponseWriter, body io.ReadCloser) io.ReadCloser {
			return api.IdleBody(w, body, bodyIdle)
		},
		Context: s.RequestContext,
		KeyOrg: func(key string) (string, bool) {
			k, ok := e.tenants.Authenticate(key)
			if !ok {
				return "", false
			}
			return k.Org, true
		},
	}
	if ew, ok := e.face.(control.ErrorWriter); ok {
		cfg.FaceErrors = ew
	}
	e.ctl = control.New(cfg)
	for i, r := range e.opts.Faults {
		if _, err := e.faults.Add(r); err != nil {
			return fmt.Errorf("fault rule %d: %w", i+1, err)
		}
	}
	s.Faults, s.Journal, s.State = e.faults, e.journal, stateControl{e}
	if e.opts.Snapshot != "" {
		staged, err := e.stageSnapshotFile(context.Background(), e.opts.Snapshot)
		if err != nil {
			return fmt.Errorf("--snapshot %s: %w", e.opts.Snapshot, err)
		}
		if err := e.commitSnapshot(context.Background(), staged); err != nil {
			return fmt.Errorf("--snapshot %s: %w", e.opts.Snapshot, err)
		}
	}
	return nil
}

func (e *Emulator) controlInfo(m map[string]any) {
	if e.faults == nil {
		return
	}
	m["faults"] = map[string]int{"active": e.faults.Active(), "rules": len(e.faults.List())}
	m["journal"] = map[string]int{"size": e.journal.Size()}
}

// deliverWebhook passes a webhook delivery attempt through faults and the journal.
func (e *Emulator) deliverWebhook(ctx context.Context, d execution.Delivery, post func() (int, error)) error {
	if e.ctl == nil {
		_, err := post()
		return err
	}
	return e.ctl.Webhook(ctx, d.Org, d.ThreadID, d.URL, post)
}

// AddFault adds a fault rule and returns it with its id (as POST
// /_emulator/faults does).
func (e *Emulator) AddFault(r FaultRule) (FaultRule, error) { return e.faults.Add(r) }

// Faults returns the fault rules in creation order, with hits and remaining.
func (e *Emulator) Faults() []FaultRule { return e.faults.List() }

// Fault returns one fault rule.
func (e *Emulator) Fault(id string) (FaultRule, bool) { return e.faults.Get(id) }

// DeleteFault removes one fault rule.
func (e *Emulator) DeleteFault(id string) error { return e.faults.Delete(id) }

// ClearFaults removes every fault rule.
func (e *Emulator) ClearFaults() { e.faults.Clear() }

// Requests returns the journal's entries, oldest first; with a filter,
// only those it selects.
func (e *Emulator) Requests(filter ...RequestFilter) []RequestRecord {
	var f RequestFilter
	if len(filter) > 0 {
		f = filter[0]
	}
	return e.journal.List(f)
}

// ClearRequests empties the request journal.
func (e *Emulator) ClearRequests() { e.journal.Clear() }

// LoadFaults reads fault rules from a YAML or JSON file (what --faults
// takes): a list of rules, one rule, or {"faults": [...]}.
func LoadFaults(path string) ([]FaultRule, error) { return faults.LoadFile(path) }
