package hardening

// API defects of issue 8 (8: path and JSON strictness, 9: envelope gaps and
// disclosure), written as an attacker would.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/localbaponi/localbaponi/emulator"
)

// Defect 8 (SPEC P-1): C1 controls were accepted in paths, invalid UTF-8
// became U+FFFD, and {"path":"f","PATH":"x"} wrote "x". Each is now a 400
// validation_error naming the field, and nothing is written.
func TestDefect8PathAndJSONStrictness(t *testing.T) {
	emu := startStoreEmu(t, emulator.Options{})
	key := emu.APIKey()
	auth := map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}
	for _, tc := range []struct{ name, route, body, field string }{
		{"C1 NEL in path", "/v1/files/upload_url", `{"source":"thread","id":"t8","path":"a\u0085b","content_length":1}`, "path"},
		{"C1 CSI in path", "/v1/files/upload_url", `{"source":"thread","id":"t8","path":"x\u009b[2J","content_length":1}`, "path"},
		{"raw C1 bytes in path", "/v1/files/upload_url", "{\"source\":\"thread\",\"id\":\"t8\",\"path\":\"a\xc2\x80b\",\"content_length\":1}", "path"},
		{"invalid UTF-8 in path", "/v1/files/upload_url", "{\"source\":\"thread\",\"id\":\"t8\",\"path\":\"a\xffb\",\"content_length\":1}", "path"},
		{"invalid UTF-8 in content_type", "/v1/files/upload_url", "{\"source\":\"thread\",\"id\":\"t8\",\"path\":\"f\",\"content_type\":\"text/\xfe\",\"content_length\":1}", "content_type"},
		{"case-only PATH", "/v1/files/upload_url", `{"source":"thread","id":"t8","path":"f","PATH":"x","content_length":1}`, "path"},
		{"case-only Id", "/v1/files/list", `{"source":"thread","Id":"t8"}`, "id"},
		{"case-only in admin body", "/_emulator/volumes", `{"org":"org_local","slug":"v8","Read_Only":true}`, "read_only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawHTTP(t, emu.URL(), http.MethodPost, tc.route, auth, tc.body)
			var env struct{ Error, Message string }
			if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(body, &env) != nil || env.Error != "validation_error" || !strings.Contains(env.Message, tc.field) {
				t.Errorf("%s → %d %s; want 400 validation_error naming %s", tc.body, resp.StatusCode, body, tc.field)
			}
		})
	}
	// Nothing was created on the way.
	if st, body := apiCall(t, http.MethodPost, emu.URL(), key, "/v1/files/list", map[string]any{"source": "thread", "id": "t8"}); st != http.StatusNotFound {
		t.Errorf("thread t8 exists after refused requests: %d %s", st, body)
	}
	if st, body := apiCall(t, http.MethodGet, emu.URL(), "", "/_emulator/volumes/org_local/v8", nil); st != http.StatusNotFound {
		t.Errorf("volume v8 was created by a refused request: %d %s", st, body)
	}
}

// Defect 9: unclean URL paths got a 301 with an empty body (one pointed
// Location at /etc/passwd), and unknown routes outside /v1 and the bucket got
// the storage face's XML 403. Every non-face route now answers with the JSON
// envelope and never redirects; the bucket stays the face's.
func TestDefect9EnvelopeGaps(t *testing.T) {
	for _, backend := range emulator.Backends() {
		t.Run(backend, func(t *testing.T) {
			emu := startStoreEmu(t, emulator.Options{Backend: backend})
			auth := map[string]string{"Authorization": "Bearer " + emu.APIKey()}
			for _, tc := range []struct{ method, target string }{
				{"POST", "/v1//files/list"},
				{"POST", "/v1/files/../files/list"},
				{"POST", "/v1/./files/list"},
				{"POST", "/v1/files/list/.."},
				{"GET", "/_emulator//health"},
				{"GET", "/_emulator/volumes/org_local%2f..%2f..%2f..%2f..%2fetc/passwd"},
				{"GET", "/_emulator/volumes/org_local/..%2f..%2f..%2fetc%2fpasswd"},
				{"GET", "/_emulator/../../etc/passwd"},
				{"GET", "//etc/passwd"},
				{"GET", "/"},
				{"GET", "/favicon.ico"},
				{"GET", "/etc/passwd"},
				{"PUT", "/other-bucket/orgs/org_local/threads/t/f"},
				{"DELETE", "/v1"},
			} {
				resp, body := rawHTTP(t, emu.URL(), tc.method, tc.target, auth, "")
				var env struct{ Error, Message string }
				switch {
				case resp.StatusCode/100 == 3 || resp.Header.Get("Location") != "":
					t.Errorf("%s %s → %d redirect to %q", tc.method, tc.target, resp.StatusCode, resp.Header.Get("Location"))
				case !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal(body, &env) != nil || env.Error == "" || env.Message == "":
					t.Errorf("%s %s → %d %q %s; want the JSON envelope", tc.method, tc.target, resp.StatusCode, resp.Header.Get("Content-Type"), body)
				case resp.StatusCode >= 500:
					t.Errorf("%s %s → %d", tc.method, tc.target, resp.StatusCode)
				}
			}
			// The bucket is still the face's, in its own format.
			bucket := "/" + emulator.Bucket + "/orgs/org_local/threads/t/f"
			if backend == "azure" {
				id, _ := emu.SigningIdentity()
				bucket = "/" + id + bucket
			}
			resp, body := rawHTTP(t, emu.URL(), "GET", bucket+"?X-Goog-Signature=00&X-Amz-Signature=00&sig=00&sv=2022-11-02&sr=b&sp=r&se=2000-01-01", nil, "")
			if !strings.Contains(resp.Header.Get("Content-Type"), "xml") || resp.StatusCode < 400 {
				t.Errorf("bucket path → %d %q %s; want the face's XML refusal", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		})
	}
}
