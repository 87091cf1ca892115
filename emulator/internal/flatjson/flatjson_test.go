package flatjson

import (
	"encoding/json"
	"testing"
)

func TestScan(t *testing.T) {
	type member struct {
		key  string
		kind Kind
		raw  string
		str  string
	}
	for _, tc := range []struct {
		body string
		want []member // nil: Scan gives up
	}{
		{`{}`, []member{}},
		{" {\n} \t", []member{}},
		{`{"a":"x","b":-1.5e+3,"c":true,"d":false,"e":null,"é":"ü"}`, []member{
			{"a", String, `"x"`, "x"}, {"b", Number, "-1.5e+3", ""}, {"c", True, "true", ""},
			{"d", False, "false", ""}, {"e", Null, "null", ""}, {"é", String, `"ü"`, "ü"}}},
		{`{"a":"x\"y"}`, nil}, {`{"a\u0062":1}`, nil}, {`{"a":{}}`, nil}, {`{"a":[]}`, nil},
		{`{"a":01}`, nil}, {`{"a":1.}`, nil}, {`{"a":-}`, nil}, {`{"a":1e}`, nil}, {`{"a":tru}`, nil},
		{`{"a":1,}`, nil}, {`{"a":1}{}`, nil}, {`{"a" 1}`, nil}, {`{a:1}`, nil}, {`[]`, nil}, {`null`, nil},
		{"{\"a\":\"\xff\"}", nil}, {"{\"a\":\"\t\"}", nil}, {`{"a":"x"`, nil}, {``, nil},
	} {
		var got []member
		ok := Scan([]byte(tc.body), func(k []byte, v Value) bool {
			got = append(got, member{string(k), v.Kind, string(v.Raw), string(v.Str)})
			return true
		})
		if tc.want == nil {
			if ok {
				t.Errorf("Scan(%q) = true, want false", tc.body)
			}
			if json.Valid([]byte(tc.body)) && ok {
				t.Errorf("Scan(%q) took a body", tc.body)
			}
			continue
		}
		if !ok || len(got) != len(tc.want) {
			t.Errorf("Scan(%q) = %v %+v, want %+v", tc.body, ok, got, tc.want)
			continue
		}
		if !json.Valid([]byte(tc.body)) {
			t.Errorf("Scan took %q, which is not valid JSON", tc.body)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("Scan(%q) member %d = %+v, want %+v", tc.body, i, got[i], tc.want[i])
			}
		}
	}
}

// FuzzScan: whatever Scan takes is valid JSON.
func FuzzScan(f *testing.F) {
	for _, s := range []string{`{"a":"x","b":1}`, `{}`, `{"a":-0.5E-7}`, `{"a":null,"b":true}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if Scan(body, func([]byte, Value) bool { return true }) && !json.Valid(body) {
			t.Fatalf("Scan took %q, which is not valid JSON", body)
		}
	})
}
