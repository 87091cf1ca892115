package conformance

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseArgsLayers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(file, []byte("base_url: http://file:1\napi_key: sk-us-file\nrw_volume: file-rw\nro_volume: file-ro\ntimeout: 5m\nkeep: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BAPONI_BASE_URL": "http://env:2", "BAPONI_API_KEY": "sk-us-env", "BAPONI_PROFILE": "deployment"}
	cfg, err := ParseArgs([]string{"--config", file, "--api-key", "sk-us-flag", "--label-filter", "upload"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		BaseURL: "http://env:2", APIKey: "sk-us-flag", RWVolume: "file-rw", ROVolume: "file-ro",
		Profile: "deployment", LabelFilter: "upload", Timeout: 5 * time.Minute, Keep: true,
	}
	if cfg != want {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"bad profile", []string{"--profile", "prod"}},
		{"bad URL", []string{"--base-url", "ftp://x"}},
		{"bad timeout", []string{"--timeout", "soon"}},
		{"unknown flag", []string{"--nope"}},
		{"stray argument", []string{"extra"}},
		{"backend with base URL", []string{"--backend", "s3", "--base-url", "http://x"}},
		{"bad backend", []string{"--backend", "minio"}},
		{"missing file", []string{"--config", "/nonexistent/c.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseArgs(tt.args, func(string) string { return "" }, io.Discard)
			if !errors.Is(err, ErrConfig) {
				t.Errorf("err = %v, want ErrConfig", err)
			}
		})
	}
}

func TestParseArgsUnknownYAMLKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("base_urll: http://x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseArgs([]string{"--config", file}, func(string) string { return "" }, io.Discard); !errors.Is(err, ErrConfig) {
		t.Errorf("err = %v, want ErrConfig for a misspelt key", err)
	}
}

func TestRedactedHidesKeys(t *testing.T) {
	cfg := Config{APIKey: DevAPIKey, OtherOrgAPIKey: "opaque-token", BaseURL: "http://x"}
	m := cfg.Redacted()
	for k, v := range m {
		if strings.Contains(v, "bG9jYWwtZGV2LWtleQ") || strings.Contains(v, "opaque-token") {
			t.Errorf("%s = %q leaks a key", k, v)
		}
	}
	if m["api_key"] != "sk-us-***(24 chars)" {
		t.Errorf("api_key = %q", m["api_key"])
	}
}

func TestCurlReferencesKeysByVariable(t *testing.T) {
	cl := newClient("http://127.0.0.1:1", time.Second)
	q := cl.api("POST", "/v1/files/list", &keyRef{value: "sk-us-secret", env: "BAPONI_API_KEY"}, map[string]any{"source": "thread", "id": "it's"})
	got := q.Curl()
	if strings.Contains(got, "sk-us-secret") || !strings.Contains(got, "$BAPONI_API_KEY") {
		t.Errorf("curl = %s", got)
	}
	if !strings.Contains(got, `'\''`) {
		t.Errorf("single quote not escaped: %s", got)
	}
}
