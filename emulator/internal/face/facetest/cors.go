package facetest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// CORSRefusal is how a face's provider answers a preflight that no CORS
// rule allows: its status and, if it sends one, the error code in the body.
type CORSRefusal struct {
	Status int
	Code   string
}

// CheckCORS runs the CORS checks every face passes, on a face that build
// makes from a config: the loopback default (preflight allowed for a
// localhost page, refused for another origin as refused says; the
// Access-Control-Allow-Origin and Expose-Headers on PUT, GET and an error
// for an allowed origin, none for another), then a configured rule (its
// origin, method, header and max age, and nothing else).
func CheckCORS(t *testing.T, build func(face.Config) (face.Face, error), refused CORSRefusal) {
	sp := store.Space{Org: "org_local", Kind: store.Thread, ID: "t-cors"}
	serve := func(t *testing.T, policy *face.CORS) (*Env, face.Face) {
		e := NewEnv(t, nil, nil)
		cfg := e.Config("localbaponi", "localbaponi-dev-secret", nil, nil)
		cfg.CORS = policy
		f, err := build(cfg)
		if err != nil {
			t.Fatal(err)
		}
		e.Serve(f)
		return e, f
	}
	objectURL := func(s face.Signed) string { return strings.SplitN(s.URL, "?", 2)[0] }
	preflight := func(t *testing.T, u, origin, method, headers string) *http.Response {
		h := map[string]string{"Origin": origin, "Access-Control-Request-Method": method}
		if headers != "" {
			h["Access-Control-Request-Headers"] = headers
		}
		resp, _ := Do(t, http.MethodOptions, u, h, nil)
		return resp
	}
	wantRefused := func(t *testing.T, what string, resp *http.Response, body string) {
		t.Helper()
		if resp.StatusCode != refused.Status || resp.Header.Get("Access-Control-Allow-Origin") != "" ||
			(refused.Code != "" && !strings.Contains(body, refused.Code)) {
			t.Errorf("%s: %d %v %s; want %d %s without Access-Control-Allow-Origin", what, resp.StatusCode, resp.Header, body, refused.Status, refused.Code)
		}
	}

	t.Run("default", func(t *testing.T) {
		_, f := serve(t, nil)
		up, err := f.SignUpload(sp, "page.txt", "text/plain", 5)
		if err != nil {
			t.Fatal(err)
		}
		const page = "http://localhost:5173"
		resp := preflight(t, objectURL(up), page, "PUT", "content-type,x-goog-meta-a")
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != page ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "PUT") ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "content-type") ||
			resp.Header.Get("Access-Control-Max-Age") != "3600" {
			t.Errorf("loopback preflight: %d %v", resp.StatusCode, resp.Header)
		}
		h := map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"}
		resp, body := Do(t, http.MethodOptions, objectURL(up), h, nil)
		wantRefused(t, "preflight from another origin", resp, string(body))
		resp, body = Do(t, http.MethodOptions, objectURL(up), map[string]string{"Origin": page, "Access-Control-Request-Method": "DELETE"}, nil)
		wantRefused(t, "preflight for DELETE", resp, string(body))

		hdr := map[string]string{"Origin": "http://127.0.0.1:3000"}
		for k, v := range up.Headers {
			hdr[k] = v
		}
		resp, body = Do(t, up.Method, up.URL, hdr, []byte("hello"))
		if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:3000" ||
			!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "ETag") {
			t.Errorf("PUT from a loopback page: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		down, err := f.SignDownload(sp, "page.txt")
		if err != nil {
			t.Fatal(err)
		}
		resp, body = Do(t, http.MethodGet, down.URL, map[string]string{"Origin": page}, nil)
		if resp.StatusCode != 200 || string(body) != "hello" || resp.Header.Get("Access-Control-Allow-Origin") != page ||
			!strings.Contains(resp.Header.Get("Vary"), "Origin") {
			t.Errorf("GET from a loopback page: %d %v %q", resp.StatusCode, resp.Header, body)
		}
		resp, _ = Do(t, http.MethodGet, down.URL, map[string]string{"Origin": "https://evil.example"}, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("GET from another origin: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		missing, _ := f.SignDownload(sp, "missing.txt")
		resp, _ = Do(t, http.MethodGet, missing.URL, map[string]string{"Origin": page}, nil)
		if resp.StatusCode != 404 || resp.Header.Get("Access-Control-Allow-Origin") != page {
			t.Errorf("a refusal must be readable by the page too: %d %v", resp.StatusCode, resp.Header)
		}
	})

	t.Run("configured", func(t *testing.T) {
		const app = "https://app.example"
		_, f := serve(t, &face.CORS{Origins: []string{app, "https://*.preview.example"}, Methods: []string{"PUT"},
			Headers: []string{"Content-Type"}, ExposeHeaders: []string{"X-Extra"}, MaxAge: 10 * time.Minute})
		up, err := f.SignUpload(sp, "c.txt", "text/plain", 1)
		if err != nil {
			t.Fatal(err)
		}
		resp := preflight(t, objectURL(up), app, "PUT", "content-type")
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != app || resp.Header.Get("Access-Control-Max-Age") != "600" {
			t.Errorf("configured origin: %d %v", resp.StatusCode, resp.Header)
		}
		if resp := preflight(t, objectURL(up), "https://pr-7.preview.example", "PUT", ""); resp.StatusCode != 200 {
			t.Errorf("pattern origin: %d %v", resp.StatusCode, resp.Header)
		}
		for _, c := range [][3]string{
			{"http://localhost:5173", "PUT", ""}, // the default no longer applies
			{app, "GET", ""},                     // method not in the rule
			{app, "PUT", "x-custom"},             // header not in the rule
		} {
			resp, body := Do(t, http.MethodOptions, objectURL(up), map[string]string{"Origin": c[0], "Access-Control-Request-Method": c[1], "Access-Control-Request-Headers": c[2]}, nil)
			wantRefused(t, "preflight "+strings.Join(c[:], " "), resp, string(body))
		}
		hdr := map[string]string{"Origin": app}
		for k, v := range up.Headers {
			hdr[k] = v
		}
		resp, body := Do(t, up.Method, up.URL, hdr, []byte("x"))
		if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != app ||
			!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "X-Extra") {
			t.Errorf("PUT from the configured origin: %d %v %s", resp.StatusCode, resp.Header, body)
		}
	})
}
