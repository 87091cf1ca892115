package conformance

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Spaces (threads and volumes) a check works in, shared fixtures, and the
// cleanup that keeps a run's footprint under its "conf-<run id>" prefix.

type space struct {
	Source string
	ID     string
}

func (s space) String() string { return s.Source + " " + s.ID }

func (s space) body(kv ...any) map[string]any {
	m := map[string]any{"source": s.Source, "id": s.ID}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// freshID is a new ID under the run prefix.
func (rs *runState) freshID(tag string) string {
	return fmt.Sprintf("%s-%d-%s", rs.prefix, rs.seq.Add(1), tag)
}

// newThreadID returns a fresh thread ID under the run prefix and registers
// its cleanup (every file in it is deleted after the check, unless --keep).
func (c *checkRun) newThreadID(tag string) string {
	return c.threadOf(tag, c.rs.key)
}

func (c *checkRun) threadOf(tag string, key keyRef) string {
	id := c.rs.freshID(tag)
	c.rs.track(id, key)
	if !c.rs.cfg.Keep {
		c.deferCleanup(func(ctx context.Context) { c.rs.sweepThread(ctx, id, key) })
	}
	return id
}

// thread is a fresh thread of the organisation.
func (c *checkRun) thread(tag string) space { return space{"thread", c.newThreadID(tag)} }

// otherThread is a fresh thread ID of the second organisation.
func (c *checkRun) otherThread(tag string) space {
	return space{"thread", c.threadOf(tag, c.rs.other)}
}

// unknownThread is a thread ID that nothing ever uses.
func (c *checkRun) unknownThread() space {
	return space{"thread", c.rs.freshID("never-used")}
}

// rw is the read-write volume; ro the read-only one.
func (c *checkRun) rw() space { c.need(needRW); return space{"volume", c.rs.cfg.RWVolume} }
func (c *checkRun) ro() space { c.need(needRO); return space{"volume", c.rs.cfg.ROVolume} }

// volPath is a fresh path in the read-write volume, under "conf-<run id>/",
// deleted after the check unless --keep.
func (c *checkRun) volPath(name string) string {
	p := fmt.Sprintf("%s/%d-%s", c.rs.prefix, c.rs.seq.Add(1), name)
	if !c.rs.cfg.Keep {
		vol := c.rs.cfg.RWVolume
		c.deferCleanup(func(ctx context.Context) {
			c.rs.cl.do(ctx, c.rs.cl.api(http.MethodDelete, "/v1/files", &c.rs.key, space{"volume", vol}.body("path", p)))
		})
	}
	return p
}

func (rs *runState) track(id string, key keyRef) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.threads[id] = append(rs.threads[id], key)
}

// sweepThread deletes every file of one of this run's threads.
func (rs *runState) sweepThread(ctx context.Context, id string, key keyRef) {
	rs.sweepSpace(ctx, space{"thread", id}, "", key)
}

func (rs *runState) sweepSpace(ctx context.Context, sp space, prefix string, key keyRef) int {
	if !strings.HasPrefix(sp.ID, rs.prefix) && !strings.HasPrefix(prefix, rs.prefix) {
		return 0 // never touch anything outside this run's prefix
	}
	body := sp.body()
	if prefix != "" {
		body["path"] = prefix
	}
	r := rs.cl.do(ctx, rs.cl.api(http.MethodPost, "/v1/files/list", &key, body))
	if r.Err != nil || r.Status != http.StatusOK {
		return 0
	}
	var lr struct {
		Files []listEntry `json:"files"`
	}
	if r.JSON(&lr) != nil {
		return 0
	}
	n := 0
	for _, f := range lr.Files {
		if f.IsDirectory || !strings.HasPrefix(f.Path, prefix) {
			continue
		}
		d := rs.cl.do(ctx, rs.cl.api(http.MethodDelete, "/v1/files", &key, sp.body("path", f.Path)))
		if d.Err == nil && d.Status == http.StatusOK {
			n++
		}
	}
	return n
}

// sharedFixture is state several checks use, made once by the first of
// them; it is cleaned by the final sweep.
type sharedFixture struct {
	once sync.Once
	err  string
	val  any
}

// shared returns the named shared fixture, making it with mk on first use.
// A fixture that failed to build fails every check that asks for it.
func (c *checkRun) shared(name string, mk func(c *checkRun) any) any {
	c.rs.mu.Lock()
	f := c.rs.fixtures[name]
	if f == nil {
		f = &sharedFixture{}
		c.rs.fixtures[name] = f
	}
	c.rs.mu.Unlock()
	f.once.Do(func() {
		// The fixture's threads must outlive this check: build them with a
		// checkRun whose cleanups go to the final sweep only.
		fc := &checkRun{ctx: c.ctx, rs: c.rs, def: c.def}
		switch v := fc.protect(func() { f.val = mk(fc) }).(type) {
		case nil:
		case checkFailure:
			f.err = v.msg
		case checkSkip:
			f.err = "skip: " + v.reason
		default:
			f.err = fmt.Sprint(v)
		}
	})
	if f.err != "" {
		if reason, ok := strings.CutPrefix(f.err, "skip: "); ok {
			c.skip("%s", reason)
		}
		c.fail(c.last, "fixture "+name+" built", f.err, "shared fixture %q could not be built: %s", name, f.err)
	}
	return f.val
}

// sharedThread is a thread ID for a fixture: registered for the final
// sweep, not cleaned after the check that made it.
func (c *checkRun) sharedThread(tag string) space {
	id := c.rs.freshID(tag)
	c.rs.track(id, c.rs.key)
	return space{"thread", id}
}
