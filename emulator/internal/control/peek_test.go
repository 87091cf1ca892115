package control

import (
	"encoding/json"
	"testing"
)

// FuzzPeekTarget checks peekTarget.scan against json.Unmarshal: what scan
// takes, json.Unmarshal decodes without error into the same target.
func FuzzPeekTarget(f *testing.F) {
	for _, s := range []string{
		`{"source":"thread","id":"t","path":"a/b.csv"}`, `{"thread_id":"t","code":"x","timeout":5}`,
		`{"source":"thread","Source":"volume"}`, `{"id":"a","id":"b"}`, `{"id":null}`, `{"id":1}`, `{"x":{"y":1}}`,
		"{\"\u017fource\":\"v\"}", "{\"id\":\"\xff\"}", `{}`, `[]`, `null`, `{"id":"a"}x`, `{"path":"été"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast, slow peekTarget
		if !fast.scan(body) {
			return
		}
		if err := json.Unmarshal(body, &slow); err != nil {
			t.Fatalf("scan took %q, which json.Unmarshal refuses: %v", body, err)
		}
		if fast != slow {
			t.Fatalf("scan(%q) = %+v, json.Unmarshal %+v", body, fast, slow)
		}
	})
}
