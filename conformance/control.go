package conformance

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The emulator's test control (SPEC M-4 … M-7): fault rules, the request
// journal, reset and snapshots. Checked only on a target that says it is
// localbaponi; every rule a check makes is scoped to the check, so
// parallel checks never see it.
var _ = area("admin", nil, func() {
	check("M-4", EMU, "a fault rule answers a scoped request with its 503 and Retry-After, then stops after times", labels("M-4.a", "M-4.b", "M-4.c"), func(c *checkRun) {
		c.need(needEmulator)
		scope := c.newThreadID("scope")
		rule := map[string]any{
			"match":  map[string]any{"route": "files.list", "scope": scope},
			"action": map[string]any{"error": map[string]any{"status": 503, "code": "service_unavailable", "retry_after": "2s"}},
			"times":  1,
		}
		r := c.api(http.MethodPost, "/_emulator/faults", nil, rule)
		c.status(r, http.StatusCreated)
		var made struct {
			ID        string `json:"id"`
			Hits      int    `json:"hits"`
			Remaining *int   `json:"remaining"`
		}
		err := r.JSON(&made)
		c.expect(r, err == nil && made.ID != "" && made.Hits == 0 && made.Remaining != nil && *made.Remaining == 1,
			claim{want: `201 {"id": ..., "hits": 0, "remaining": 1}`, got: r.Summary(), why: "the rule was not stored as given"})
		c.deferCleanupRule(made.ID)
		list := func() *Response {
			q := c.rs.cl.api(http.MethodPost, "/v1/files/list", &c.rs.key, c.unknownThread().body())
			q.Header.Set("X-Localbaponi-Fault-Scope", scope)
			return c.send(q)
		}
		first := list()
		c.wantError(first, http.StatusServiceUnavailable, "service_unavailable")
		c.expect(first, first.Header.Get("Retry-After") == "2", claim{want: "Retry-After: 2", got: first.Header.Get("Retry-After"), why: "the injected error lacks the rule's Retry-After"})
		second := list()
		c.wantError(second, http.StatusNotFound, "not_found")
	})

	check("M-5", EMU, "the request journal lists what a scoped client sent, with the rule that fired and a key id that is not the key", labels("M-5.a", "M-5.b"), func(c *checkRun) {
		c.need(needEmulator)
		scope := c.newThreadID("scope")
		r := c.api(http.MethodPost, "/_emulator/faults", nil, map[string]any{
			"match": map[string]any{"route": "files.list", "scope": scope}, "action": map[string]any{"error": map[string]any{"status": 500}}, "times": 1})
		c.status(r, http.StatusCreated)
		id, _ := r.Object()["id"].(string)
		c.deferCleanupRule(id)
		thread := c.unknownThread()
		for range 2 {
			q := c.rs.cl.api(http.MethodPost, "/v1/files/list", &c.rs.key, thread.body())
			q.Header.Set("X-Localbaponi-Fault-Scope", scope)
			c.send(q)
		}
		j := c.api(http.MethodGet, "/_emulator/requests?route=files.list&scope="+url.QueryEscape(scope), nil, nil)
		c.ok(j)
		var v struct {
			Requests []struct {
				Route   string `json:"route"`
				KeyID   string `json:"key_id"`
				Source  string `json:"source"`
				ID      string `json:"id"`
				Status  int    `json:"status"`
				FaultID string `json:"fault_id"`
			} `json:"requests"`
		}
		err := j.JSON(&v)
		ok := err == nil && len(v.Requests) == 2 && v.Requests[0].Status == 500 && v.Requests[0].FaultID == id &&
			v.Requests[1].Status == 404 && v.Requests[1].FaultID == "" && v.Requests[0].ID == thread.ID
		c.expect(j, ok, claim{want: "two files.list entries of the thread: 500 with the rule's fault_id, then 404", got: j.Summary(), why: "the journal does not show what was sent"})
		for _, e := range v.Requests {
			c.expect(j, e.KeyID != "" && !strings.Contains(string(j.Body), c.rs.key.value),
				claim{want: "a key_id that is not the key", got: e.KeyID, why: "the journal names the key or shows it"})
		}
	})

	check("M-6", EMU, "resetting one thread removes its files and leaves other threads", labels("M-6.a"), func(c *checkRun) {
		c.need(needEmulator)
		gone, kept := c.thread("reset-gone"), c.thread("reset-kept")
		c.upload(gone, "a.txt", "text/plain", []byte("a"))
		c.upload(kept, "b.txt", "text/plain", []byte("b"))
		c.ok(c.api(http.MethodPost, "/_emulator/reset", nil, map[string]any{"org": c.orgOfKey(), "thread_id": gone.ID}))
		c.wantError(c.listResp(gone, nil), http.StatusNotFound, "not_found")
		es, r := c.list(kept, nil)
		c.listed(r, "the other thread's listing", paths(es), "b.txt")
	})

	check("M-7", EMU, "GET /_emulator/snapshot streams a tar whose manifest names format and version; another version is refused, nothing changed", labels("M-7.a", "M-7.b"), func(c *checkRun) {
		c.need(needEmulator)
		r := c.api(http.MethodGet, "/_emulator/snapshot", nil, nil)
		c.ok(r)
		tr := tar.NewReader(bytes.NewReader(r.Body))
		h, err := tr.Next()
		var m map[string]any
		if err == nil && h.Name == "manifest.json" {
			err = json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&m)
		}
		c.expect(r, err == nil && m["format"] == "localbaponi-snapshot" && m["version"] != nil,
			claim{want: "a tar starting with manifest.json {format: localbaponi-snapshot, version}", got: r.Summary(), why: "the snapshot is not the documented archive"})
		var bad bytes.Buffer
		tw := tar.NewWriter(&bad)
		manifest := []byte(`{"format": "localbaponi-snapshot", "version": 999}`)
		_ = tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o644, Size: int64(len(manifest))})
		_, _ = tw.Write(manifest)
		_ = tw.Close()
		q := c.rs.cl.api(http.MethodPost, "/_emulator/snapshot", nil, nil)
		q.Body = bad.Bytes()
		q.Header.Set("Content-Type", "application/x-tar")
		l := c.send(q)
		c.wantError(l, http.StatusBadRequest, "validation_error")
		c.messageHas(l, "999", "nothing changed")
	})
})

// deferCleanupRule deletes a fault rule when the check ends.
func (c *checkRun) deferCleanupRule(id string) {
	if id == "" {
		return
	}
	c.deferCleanup(func(ctx context.Context) {
		c.rs.cl.do(ctx, c.rs.cl.api(http.MethodDelete, "/_emulator/faults/"+url.PathEscape(id), nil, nil))
	})
}
