package tenancy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCORSConfig(t *testing.T) {
	write := func(body string) string {
		p := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := LoadConfig(write("orgs: []\ncors:\n  origins: [\"https://app.example\", \"http://localhost:*\"]\n  methods: [PUT, GET]\n  headers: [Content-Type]\n  max_age: 600\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.CORS == nil || len(c.CORS.Origins) != 2 || c.CORS.Methods[0] != "PUT" || c.CORS.MaxAge == nil || *c.CORS.MaxAge != 600 {
		t.Fatalf("cors section read as %+v", c.CORS)
	}
	for body, want := range map[string]string{
		"cors:\n  origins: []\n":                            "cors.origins must name at least one origin",
		"cors:\n  origins: [\"a, b\"]\n":                    "cors.origins[0]",
		"cors:\n  origins: [\"*\"]\n  methods: [PATCH]\n":   "cors.methods[0] \"PATCH\"",
		"cors:\n  origins: [\"*\"]\n  max_age: -1\n":        "cors.max_age -1",
		"cors:\n  origins: [\"*\"]\n  headers: [\"a b\"]\n": "one header name",
		"cors:\n  origin: [\"*\"]\n":                        "field origin not found",
	} {
		_, err := LoadConfig(write(body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want an error with %q", body, err, want)
		}
	}
}
