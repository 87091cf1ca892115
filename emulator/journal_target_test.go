package emulator_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/localbaponi/localbaponi/emulator"
)

// TestJournalTargetWithoutFaultRules: with no fault rule the journal learns
// a /v1 call's target (source, id, path or thread) from the handler's own
// decoding of the body, or, for a body the handler refuses or never reads,
// from the body when the entry is recorded; with a rule set it scans the
// body before the handler runs. Both must record the same entry for every
// kind of call: answered, refused by validation, by decoding, by routing
// (404, 405) and by authentication.
func TestJournalTargetWithoutFaultRules(t *testing.T) {
	type want struct {
		status           int
		source, id, path string
	}
	cases := []struct {
		name, method, path, body string
		noKey                    bool
		want                     want
	}{
		{"upload_url", "POST", "/v1/files/upload_url",
			`{"source":"thread","id":"j1","path":"a/b.txt","content_type":"text/plain","content_length":3}`,
			false, want{200, "thread", "j1", "a/b.txt"}},
		{"bad path", "POST", "/v1/files/upload_url",
			`{"source":"thread","id":"j2","path":"../x","content_length":3}`,
			false, want{400, "thread", "j2", "../x"}},
		{"content_length of the wrong type", "POST", "/v1/files/upload_url",
			`{"source":"thread","id":"j3","path":"p","content_length":"3"}`,
			false, want{400, "thread", "j3", "p"}},
		{"a key in another case", "POST", "/v1/files/upload_url",
			`{"source":"thread","id":"j4","Path":"p4","content_length":3}`,
			false, want{400, "thread", "j4", "p4"}},
		{"a key given twice", "POST", "/v1/files/upload_url",
			`{"source":"thread","id":"j5","id":"j5b","path":"p","content_length":3}`,
			false, want{400, "thread", "j5b", "p"}},
		{"unknown volume", "POST", "/v1/files/upload_url",
			`{"source":"volume","id":"nope","path":"p","content_length":3}`,
			false, want{404, "volume", "nope", "p"}},
		{"escaped strings", "POST", "/v1/files/list",
			`{"source":"thr\u0065ad","id":"j\u0036","path":"d\u002f"}`,
			false, want{404, "thread", "j6", "d/"}},
		{"not a source", "POST", "/v1/files/list",
			`{"source":"bucket","id":"j7"}`,
			false, want{400, "", "", ""}},
		{"not JSON", "POST", "/v1/files/download_url",
			`{"source":"thread","id":"j8"`,
			false, want{400, "", "", ""}},
		{"delete", "DELETE", "/v1/files",
			`{"source":"thread","id":"j9","path":"gone.txt"}`,
			false, want{404, "thread", "j9", "gone.txt"}},
		{"execute", "POST", "/v1/sandbox/execute",
			`{"code":"print(1)","language":"cobol","thread_id":"j10"}`,
			false, want{0, "thread", "j10", ""}},
		{"no route", "POST", "/v1/files/nothing",
			`{"source":"thread","id":"j11","path":"p"}`,
			false, want{404, "thread", "j11", "p"}},
		{"wrong method", "PUT", "/v1/files/upload_url",
			`{"source":"thread","id":"j12","path":"p","content_length":3}`,
			false, want{405, "thread", "j12", "p"}},
		{"no key", "POST", "/v1/files/upload_url",
			`{"source":"thread","id":"j13","path":"p","content_length":3}`,
			true, want{401, "", "", ""}},
	}
	run := func(t *testing.T, emu *emulator.Emulator) []emulator.RequestRecord {
		t.Helper()
		var out []emulator.RequestRecord
		for _, c := range cases {
			before := len(emu.Requests())
			req, err := http.NewRequest(c.method, emu.URL()+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if !c.noKey {
				req.Header.Set("Authorization", "Bearer "+emu.APIKey())
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			resp.Body.Close()
			got := emu.Requests()
			if len(got) != before+1 {
				t.Fatalf("%s: %d journal entries, want %d", c.name, len(got), before+1)
			}
			out = append(out, got[len(got)-1])
		}
		return out
	}
	plain := run(t, emulator.RunT(t))
	ruled := emulator.RunT(t)
	if _, err := ruled.AddFault(emulator.FaultRule{
		Match:  emulator.FaultMatch{Route: "files.upload_url", Scope: "never-sent"},
		Action: emulator.FaultAction{Error: &emulator.FaultError{Status: 503}},
	}); err != nil {
		t.Fatal(err)
	}
	scanned := run(t, ruled)
	for i, c := range cases {
		p, s := plain[i], scanned[i]
		if c.want.status != 0 && p.Status != c.want.status {
			t.Errorf("%s: status %d, want %d", c.name, p.Status, c.want.status)
		}
		if p.Source != c.want.source || p.ID != c.want.id || p.Path != c.want.path {
			t.Errorf("%s, no fault rule: journal target %q %q %q, want %q %q %q",
				c.name, p.Source, p.ID, p.Path, c.want.source, c.want.id, c.want.path)
		}
		if p.Route != s.Route || p.Status != s.Status || p.Source != s.Source || p.ID != s.ID || p.Path != s.Path || p.Org != s.Org || p.KeyID != s.KeyID {
			t.Errorf("%s: without a fault rule the entry is\n%+v\nwith one (the body scanned first)\n%+v", c.name, p, s)
		}
	}
}
