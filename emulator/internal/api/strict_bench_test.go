package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkDecodeJSON measures decodeJSON (with the strict walk of
// strict.go) on an execute body with 4 KiB of code, next to a plain
// encoding/json decode of the same body (the cost before the walk).
func BenchmarkDecodeJSON(b *testing.B) {
	body := `{"code":"` + strings.Repeat("print(1)\\n", 400) + `","language":"python","thread_id":"t1","timeout":30,"env_vars":{"A":"1","B":"2"}}`
	b.Run("strict", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var req executeRequest
			r := httptest.NewRequest(http.MethodPost, "/v1/sandbox/execute", strings.NewReader(body))
			if err := decodeJSON(httptest.NewRecorder(), r, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var req executeRequest
			dec := json.NewDecoder(bytes.NewReader([]byte(body)))
			dec.UseNumber()
			if err := dec.Decode(&req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
