package api

import "testing"

func TestValidHost(t *testing.T) {
	for h, want := range map[string]bool{
		"127.0.0.1:8080":   true,
		"localhost":        true,
		"localbaponi:8080": true,
		"[::1]:8080":       true,
		"":                 false,
		"a/b":              false,
		"user@host":        false,
		"host?x=1":         false,
		"host#f":           false,
		"host name":        false,
		":8080":            false,
		"[::1":             false,
	} {
		if got := validHost(h); got != want {
			t.Errorf("validHost(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestFirstValue(t *testing.T) {
	for v, want := range map[string]string{
		"":                  "",
		"a.test":            "a.test",
		" a.test , b.test ": "a.test",
		"https,http":        "https",
	} {
		if got := firstValue(v); got != want {
			t.Errorf("firstValue(%q) = %q, want %q", v, got, want)
		}
	}
}
