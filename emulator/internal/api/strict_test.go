package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/localbaponi/localbaponi/emulator/internal/execution"
	"github.com/localbaponi/localbaponi/emulator/internal/tenancy"
)

// Issue 8 defect 8 (SPEC P-1, E-2): invalid UTF-8 was turned into U+FFFD,
// keys matched fields case-insensitively ({"path":"f","PATH":"x"} wrote
// "x"), and C1 controls passed in paths. Each is a 400 naming the field.
func TestStrictJSON_P1_E2(t *testing.T) {
	srv := strictTestServer(t)
	tests := []struct {
		name, method, route, body, want string
	}{
		{"case-only duplicate of path", "POST", "/v1/files/upload_url",
			`{"source":"thread","id":"t","path":"f","PATH":"x","content_length":1}`, `"PATH" differs from the field path only in case`},
		{"case-only key alone", "POST", "/v1/files/list", `{"Source":"thread","id":"t"}`, "field source only in case"},
		{"long s folds to s", "POST", "/v1/files/list", "{\"\u017fource\":\"thread\",\"id\":\"t\"}", "field source only in case"},
		{"Kelvin sign folds to k", "POST", "/v1/files/upload_url",
			"{\"source\":\"thread\",\"id\":\"t\",\"path\":\"f\",\"content_length\":1,\"content_type\":\"a/b\",\"\u212aEY\":1}", ""},
		{"exact duplicate", "POST", "/v1/files/list", `{"source":"thread","id":"t","id":"u"}`, "id is given twice"},
		{"invalid UTF-8 in path", "POST", "/v1/files/upload_url",
			"{\"source\":\"thread\",\"id\":\"t\",\"path\":\"a\xffb\",\"content_length\":1}", "path must be valid UTF-8"},
		{"invalid UTF-8 in id", "POST", "/v1/files/list", "{\"source\":\"thread\",\"id\":\"t\xc3\"}", "id must be valid UTF-8"},
		{"invalid UTF-8 in an unknown field", "POST", "/v1/files/list", "{\"source\":\"thread\",\"id\":\"t\",\"zz\":\"\xfe\"}", "zz must be valid UTF-8"},
		{"invalid UTF-8 in a key", "POST", "/v1/files/list", "{\"source\":\"thread\",\"id\":\"t\",\"\xff\":1}", "key of the request body is not valid UTF-8"},
		{"invalid UTF-8 in code", "POST", "/v1/sandbox/execute", "{\"code\":\"print(1)\xff\"}", "code must be valid UTF-8"},
		{"invalid UTF-8 in env_vars value", "POST", "/v1/sandbox/execute", "{\"code\":\"1\",\"env_vars\":{\"A\":\"\xff\"}}", "env_vars.A must be valid UTF-8"},
		{"invalid UTF-8 in env_vars key", "POST", "/v1/sandbox/execute", "{\"code\":\"1\",\"env_vars\":{\"\xff\":\"x\"}}", "env_vars has a key that is not valid UTF-8"},
		{"case-only execute field", "POST", "/v1/sandbox/execute", `{"code":"1","Thread_ID":"t"}`, "field thread_id only in case"},
		{"C1 in path", "POST", "/v1/files/upload_url",
			`{"source":"thread","id":"t","path":"a\u0085b","content_length":1}`, "control characters"},
		{"C1 CSI in list prefix", "POST", "/v1/files/list", `{"source":"thread","id":"t","path":"x\u009b"}`, "control characters"},
		{"admin case-only key", "POST", "/_emulator/volumes", `{"org":"org_local","slug":"v9","SLUG":"x"}`, `"SLUG" differs from the field slug only in case`},
		{"admin invalid UTF-8 in a seed file", "POST", "/_emulator/volumes", "{\"org\":\"org_local\",\"slug\":\"v9\",\"files\":{\"a\":\"\xff\"}}", "files.a must be valid UTF-8"},
		{"admin C1 in a seed path", "POST", "/_emulator/volumes", `{"org":"org_local","slug":"v9","files":{"a\u0080":"x"}}`, "control characters"},
		{"admin clock case-only", "POST", "/_emulator/clock", `{"Advance":"1m"}`, "field advance only in case"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.route, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+tenancy.DevKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.want == "" {
				// Kelvin sign: no field of upload_url folds to it, so the
				// key is just unknown and ignored.
				if resp.StatusCode == 400 && strings.Contains(string(data), "only in case") {
					t.Errorf("unrelated key refused: %s", data)
				}
				return
			}
			var env envelope
			if resp.StatusCode != 400 || json.Unmarshal(data, &env) != nil || env.Error != CodeValidation || !strings.Contains(env.Message, tc.want) {
				t.Errorf("%s → %d %s; want 400 validation_error containing %q", tc.body, resp.StatusCode, data, tc.want)
			}
		})
	}
}

// Valid bodies still pass, with non-ASCII text and unknown fields.
func TestStrictJSONAcceptsValid(t *testing.T) {
	type inner struct {
		A string `json:"a"`
	}
	type req struct {
		sourceRequest
		N     json.RawMessage   `json:"n"`
		M     map[string]string `json:"m"`
		L     []inner           `json:"l"`
		Inner *inner            `json:"inner"`
	}
	for _, body := range []string{
		`{"source":"thread","id":"t","path":"d/ünïcødé 東京.txt","n":1,"m":{"PATH":"x","path":"y"},"extra":{"Source":1}}`,
		`{"l":[{"a":"x"},{"a":"y"}],"inner":{"a":"z"}}`,
		`{"n":{"Source":"x","source":"y"}}`,
		`not json`,
		``,
	} {
		if err := checkJSON([]byte(body), reflect.TypeFor[*req]()); err != nil {
			t.Errorf("checkJSON(%s) = %v", body, err)
		}
	}
	for body, want := range map[string]string{
		`{"l":[{"a":"x"},{"A":"y"}]}`:                                    "l[].a",
		`{"inner":{"a":"x","a":"y"}}`:                                    "inner.a is given twice",
		"{\"n\":\"\xff\"}":                                               "n must be valid UTF-8",
		"{\"m\":{\"k\":\"ok\"}}  \xff":                                   "not valid UTF-8",
		strings.Repeat("[", 100) + "\"\xff\"" + strings.Repeat("]", 100): "not valid UTF-8",
	} {
		err := checkJSON([]byte(body), reflect.TypeFor[*req]())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkJSON(%q) = %v, want %q", body, err, want)
		}
	}
}

// strictTestServer is newTestServer with an execution service that is never
// reached (every body here fails validation first).
func strictTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv, _ := testServer(t, func(s *Server) { s.Exec = new(execution.Service) })
	return srv
}
