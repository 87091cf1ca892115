package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestEveryFlagHasAnEnvVar: --help lists, for every flag of the serve and
// healthcheck commands (also flags added later), the environment variable
// derived from its name.
func TestEveryFlagHasAnEnvVar(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		command string
		atLeast int
	}{
		{[]string{"--help"}, "", 15},
		{[]string{"healthcheck", "--help"}, "healthcheck", 3},
	} {
		var stdout, stderr syncBuffer
		if code := run(context.Background(), tc.args, &stdout, &stderr); code != 0 {
			t.Fatalf("run(%v) = %d", tc.args, code)
		}
		help := stderr.String()
		// PrintDefaults: "  -name [type]\n    \tusage".
		blocks := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)[^\n]*\n((?:    \t[^\n]*\n?)+)`).FindAllStringSubmatch(help, -1)
		if len(blocks) < tc.atLeast {
			t.Fatalf("%v: found %d flags in the help, want at least %d:\n%s", tc.args, len(blocks), tc.atLeast, help)
		}
		for _, b := range blocks {
			if want := "[$" + envName(tc.command, b[1]) + "]"; !strings.Contains(b[2], want) {
				t.Errorf("%v: flag --%s does not name %s in the help: %q", tc.args, b[1], want, b[2])
			}
		}
	}
	for flagName, want := range map[string]string{
		"addr": "LOCALBAPONI_ADDR", "backend": "LOCALBAPONI_BACKEND", "external-url": "LOCALBAPONI_EXTERNAL_URL",
		"data-dir": "LOCALBAPONI_DATA_DIR", "config": "LOCALBAPONI_CONFIG",
		"trust-forwarded-headers": "LOCALBAPONI_TRUST_FORWARDED_HEADERS",
	} {
		if got := envName("", flagName); got != want {
			t.Errorf("envName(%q) = %q, want %q", flagName, got, want)
		}
	}
}

// TestWithEnvSetsEveryKindOfFlag: the mechanism is generic: a flag of any
// type not given on the command line takes its variable; a given flag wins;
// an empty variable is unset; a bad value names the variable.
func TestWithEnvSetsEveryKindOfFlag(t *testing.T) {
	env := map[string]string{
		"LOCALBAPONI_NAME": "from-env", "LOCALBAPONI_ON": "true", "LOCALBAPONI_COUNT": "7",
		"LOCALBAPONI_WAIT": "3s", "LOCALBAPONI_GIVEN": "from-env", "LOCALBAPONI_EMPTY": "",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	name := fs.String("name", "def", "")
	on := fs.Bool("on", false, "")
	count := fs.Int("count", 1, "")
	wait := fs.Duration("wait", time.Second, "")
	given := fs.String("given", "def", "")
	empty := fs.String("empty", "def", "")
	untouched := fs.String("untouched", "def", "")
	apply := withEnv(fs, "", lookup)
	if err := fs.Parse([]string{"--given", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	if err := apply(); err != nil {
		t.Fatal(err)
	}
	if *name != "from-env" || !*on || *count != 7 || *wait != 3*time.Second {
		t.Errorf("from the environment: name %q on %v count %d wait %v", *name, *on, *count, *wait)
	}
	if *given != "from-flag" || *empty != "def" || *untouched != "def" {
		t.Errorf("given %q (flag must win), empty %q and untouched %q (must keep defaults)", *given, *empty, *untouched)
	}

	env["LOCALBAPONI_COUNT"] = "seven"
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Int("count", 1, "")
	apply = withEnv(fs, "", lookup)
	_ = fs.Parse(nil)
	if err := apply(); err == nil || !strings.Contains(err.Error(), "LOCALBAPONI_COUNT") {
		t.Errorf("bad value: err %v, want one naming LOCALBAPONI_COUNT", err)
	}
}

// TestServeFromEnvironment: the emulator binary takes its settings from
// LOCALBAPONI_* (as in a container), and a flag wins over its variable.
func TestServeFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("orgs:\n  - id: org_env\n    keys: [{key: sk-us-ZW52LWtleS1mcm9tLWVudg}]\n    volumes: [{slug: env-vol}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	t.Setenv("LOCALBAPONI_ADDR", "127.0.0.1:0")
	t.Setenv("LOCALBAPONI_BACKEND", "s3")
	t.Setenv("LOCALBAPONI_EXTERNAL_URL", "http://ext.test:9")
	t.Setenv("LOCALBAPONI_DATA_DIR", data)
	t.Setenv("LOCALBAPONI_CONFIG", cfg)

	out := serveUntilBanner(t, nil)
	for _, want := range []string{"(backend s3)", "signed URLs use    http://ext.test:9", "data dir           " + data, "sk-us-ZW52LWtleS1mcm9tLWVudg", "env-vol"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	if out := serveUntilBanner(t, []string{"--backend", "azure"}); !strings.Contains(out, "(backend azure)") {
		t.Errorf("--backend azure must win over LOCALBAPONI_BACKEND=s3:\n%s", out)
	}

	t.Setenv("LOCALBAPONI_STRICT_PROVIDER_LIMITS", "maybe")
	var stdout, stderr syncBuffer
	if code := run(context.Background(), nil, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "LOCALBAPONI_STRICT_PROVIDER_LIMITS") {
		t.Errorf("bad env value: exit %d stderr %q, want 2 naming the variable", code, stderr.String())
	}
}

// serveUntilBanner runs the emulator with args until it has printed its
// banner, stops it and returns the banner.
func serveUntilBanner(t *testing.T, args []string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, &stdout, &stderr) }()
	defer func() {
		cancel()
		<-done
	}()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(stdout.String(), "Try it:") {
			return stdout.String()
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("run(%v) exited %d: %s", args, code, stderr.String())
		default:
		}
	}
	t.Fatalf("no banner; stderr %s", stderr.String())
	return ""
}
