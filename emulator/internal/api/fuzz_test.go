package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// requestTypes are the bodies decodeJSON decodes, by route.
var requestTypes = []func() any{
	func() any { return new(sourceRequest) },
	func() any { return new(uploadRequest) },
	func() any { return new(executeRequest) },
	func() any {
		return new(struct {
			Org      string            `json:"org"`
			Slug     string            `json:"slug"`
			ReadOnly bool              `json:"read_only"`
			Files    map[string]string `json:"files"`
		})
	},
	func() any {
		return new(struct {
			Advance *string `json:"advance"`
			Set     *string `json:"set"`
		})
	},
}

// FuzzDecodeJSON feeds arbitrary bodies to decodeJSON for each request type:
// it never panics, refuses only with a 4xx envelope error, and what it
// accepts is valid UTF-8 with no key that matches a field only in case and
// no field given twice (SPEC E-2).
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"source":"thread","id":"t","path":"a/b.csv"}`,
		`{"source":"thread","id":"t","path":"f","PATH":"x","content_length":5}`,
		`{"source":"volume","id":"v","path":"f","content_type":"text/plain","content_length":10737418240}`,
		`{"code":"print(1)","language":"python","thread_id":"t","timeout":5,"env_vars":{"A":"b"}}`,
		"{\"path\":\"a\xffb\"}", `{"org":"o","slug":"s","files":{"a":"b"}}`, `{"advance":"16m"}`,
		`{"id":"t","id":"u"}`, `[]`, `null`, `{}`, `{"a":[[[[{"b":1}]]]]}`, "{\"\u017fource\":1}",
	} {
		for i := range requestTypes {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		dst := requestTypes[int(which)%len(requestTypes)]()
		r := httptest.NewRequest(http.MethodPost, "/v1/x", strings.NewReader(string(body)))
		err := decodeJSON(httptest.NewRecorder(), r, dst)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code.Status() < 400 || e.Code.Status() >= 500 || e.Message == "" {
				t.Fatalf("decodeJSON(%q) = %v; want a 4xx *Error", body, err)
			}
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8: %q", body)
		}
		var top map[string]json.RawMessage
		if json.Unmarshal(body, &top) != nil {
			return
		}
		fields := jsonFields(deref(jsonTypeOf(dst)))
		for k := range top {
			if _, exact := fields[k]; exact {
				continue
			}
			for name := range fields {
				if strings.EqualFold(name, k) {
					t.Fatalf("accepted key %q that matches field %q only in case: %q", k, name, body)
				}
			}
		}
	})
}

// FuzzContentLength checks that content_length accepts exactly the JSON
// integers 0..MaxContentLength (SPEC U-3) and names the field otherwise.
func FuzzContentLength(f *testing.F) {
	for _, s := range []string{"0", "10", "10737418240", "10737418241", "-1", "1.0", "1e3", `"5"`, "null", "", "00", "-0", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := contentLength(json.RawMessage(raw))
		if err != nil {
			if !strings.Contains(err.Error(), "content_length") {
				t.Fatalf("contentLength(%q) error %q does not name the field", raw, err)
			}
			return
		}
		if v < 0 || v > MaxContentLength {
			t.Fatalf("contentLength(%q) = %d, outside 0..%d", raw, v, MaxContentLength)
		}
		if n, perr := strconv.ParseInt(raw, 10, 64); perr != nil || n != v {
			t.Fatalf("contentLength(%q) = %d, but it is not that integer", raw, v)
		}
	})
}

func jsonTypeOf(v any) reflect.Type { return reflect.TypeOf(v) }
