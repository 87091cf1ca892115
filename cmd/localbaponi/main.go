// Command localbaponi runs the Baponi Files API emulator.
//
//	localbaponi [serve] [flags]
//	localbaponi files ls|cp|rm|url ...   (a client of any Baponi deployment)
//	localbaponi exec [-c CODE | FILE]
//
// With no flags it listens on 127.0.0.1:8080 with the dev defaults (see
// fixtures/dev.yaml) and prints the base URL, the keys and a curl example.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/localbaponi/localbaponi/cmd/localbaponi/internal/cli"
	"github.com/localbaponi/localbaponi/emulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the arguments, serves until ctx is done (SIGINT/SIGTERM) and
// returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:], stdout, stderr, os.LookupEnv)
	}
	if len(args) > 0 && (args[0] == "files" || args[0] == "exec") {
		env := cli.Env{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr, Lookup: os.LookupEnv, DefaultAPIKey: emulator.DevAPIKey}
		if args[0] == "files" {
			return cli.Files(ctx, args[1:], env)
		}
		return cli.Exec(ctx, args[1:], env)
	}
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("localbaponi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		addr        = fs.String("addr", defaultAddr, "listen address")
		externalURL = fs.String("external-url", "", "base URL that every signed URL uses (default: the scheme and host of each request)")
		trustFwd    = fs.Bool("trust-forwarded-headers", false, "take the client's host and scheme from X-Forwarded-Host and X-Forwarded-Proto (behind a reverse proxy)")
		configFile  = fs.String("config", "", "YAML config of orgs, keys, volumes and signing identity (replaces the dev defaults)")
		dataDir     = fs.String("data-dir", "", "keep data in this directory across restarts (default: a temporary directory removed on exit)")
		storeURL    = fs.String("store", "file", "where the bytes are kept: file (in --data-dir), s3://BUCKET[/PREFIX]?endpoint=URL&region=R (credentials as for any AWS tool: AWS_* env, shared config/credentials files with AWS_PROFILE, SSO, instance roles), or gcs://BUCKET[/PREFIX]?endpoint=URL (no credentials with an endpoint, else Application Default Credentials)")
		backend     = fs.String("backend", "gcs", "storage face of signed URLs: gcs, s3 or azure")
		keyID       = fs.String("signing-key-id", "", "signing key id: GCS HMAC access id, S3 access key id, Azure account name (default "+emulator.DevSigningKeyID+")")
		secret      = fs.String("signing-secret", "", "signing secret (default "+emulator.DevSigningSecret+")")
		strict      = fs.Bool("strict-provider-limits", false, "refuse what the provider would (S3: a single PUT over 5 GiB)")
		adminToken  = fs.String("admin-token", "", "require this Bearer token on /_emulator/ routes other than health")
		isolation   = fs.String("isolation", "auto", "sandbox isolation for execute: auto, namespaces or none")
		sandboxFS   = fs.String("sandbox-fs", "auto", "how namespaces mode shows /home/baponi and /volumes/<slug> to code: fuse (served by the emulator: no host path in mountinfo, ENOSPC at the size limits), bind (bind mounts), or auto (fuse where the sandbox can mount /dev/fuse, else bind with a warning)")
		sandboxBin  = fs.String("sandbox-binary", "", "a separate sandbox child binary (go build ./emulator/cmd/localbaponi-sandbox, from the same source) run to build each sandbox instead of re-executing this one: each run starts in less CPU; it must be owned by root or this user and writable by no one else")
		python      = fs.String("python", "", "python interpreter for execute (default: python3 on PATH)")
		node        = fs.String("node", "", "node interpreter for execute (default: node on PATH)")
		bash        = fs.String("bash", "", "bash for execute (default: bash on PATH)")
		logLevel    = fs.String("log-level", "info", "log level: debug, info, warn or error")
		bodyIdle    = fs.Duration("body-idle-timeout", 60*time.Second, "give up on a request body (upload or JSON) that sends nothing for this long and discard the partial upload; 0 turns it off")
		faultsFile  = fs.String("faults", "", "YAML or JSON file of fault rules in force from the start (see POST /_emulator/faults)")
		journalSize = fs.Int("journal-size", 10000, "request journal size in entries (GET /_emulator/requests); 0 keeps none")
		capture     = fs.Bool("journal-bodies", false, "keep /v1 request bodies (up to 64 KiB) in the request journal")
		snapshot    = fs.String("snapshot", "", "load this snapshot archive (GET /_emulator/snapshot) at start; a reset goes back to it")
	)
	// Every flag, also one added above later, has an environment variable.
	applyEnv := withEnv(fs, "", os.LookupEnv)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: localbaponi [serve] [flags]\n       localbaponi healthcheck [--url URL]\n"+
			"       localbaponi files ls|cp|rm|url ... (see localbaponi files --help)\n"+
			"       localbaponi exec [flags] [-c CODE | FILE | -]\n\n"+
			"Runs the Baponi Files API emulator. Every flag can also be set by the environment\n"+
			"variable in brackets (%s + the flag name in upper case, '-' as '_'); the flag wins.\n\nFlags:\n", envPrefix)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, applyEnv, "localbaponi", stderr); !ok {
		return code
	}
	if *bodyIdle == 0 {
		*bodyIdle = -1 // Options: negative is off, zero is the default
	} else if *bodyIdle < 0 {
		fmt.Fprintf(stderr, "localbaponi: --body-idle-timeout %s: want a positive duration, or 0 for none\n", *bodyIdle)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "localbaponi: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "localbaponi: --log-level %q: want debug, info, warn or error\n", *logLevel)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	opts := emulator.Options{
		Addr: *addr, ExternalURL: *externalURL, DataDir: *dataDir, Backend: *backend, Store: *storeURL,
		TrustForwardedHeaders: *trustFwd,
		SigningKeyID:          *keyID, SigningSecret: *secret, StrictProviderLimits: *strict,
		AdminToken: *adminToken, Logger: log, BodyIdleTimeout: *bodyIdle,
		Sandbox: emulator.SandboxOptions{Isolation: *isolation, FS: *sandboxFS, Binary: *sandboxBin, Python: *python, Node: *node, Bash: *bash},
	}
	opts.JournalSize, opts.CaptureBodies, opts.Snapshot = *journalSize, *capture, *snapshot
	if *journalSize == 0 {
		opts.JournalSize = -1
	}
	if *faultsFile != "" {
		rules, err := emulator.LoadFaults(*faultsFile)
		if err != nil {
			fmt.Fprintf(stderr, "localbaponi: --faults: %v\n", err)
			return 2
		}
		opts.Faults = rules
	}
	cfg := emulator.DevConfig()
	if *configFile != "" {
		c, err := emulator.LoadConfig(*configFile)
		if err != nil {
			fmt.Fprintf(stderr, "localbaponi: %v\n", err)
			return 2
		}
		cfg = c
		opts.Config = &cfg
	}
	emu, err := emulator.Start(opts)
	if err != nil {
		fmt.Fprintf(stderr, "localbaponi: %v\n", err)
		return 1
	}
	banner(stdout, emu, cfg)

	<-ctx.Done()
	log.Info("shutting down")
	if err := emu.Close(); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

// banner prints what a user needs to start: the URL, keys, volumes, signing
// identity and a curl command to paste.
func banner(w io.Writer, emu *emulator.Emulator, cfg emulator.Config) {
	var b strings.Builder
	fmt.Fprintf(&b, "localbaponi %s listening on %s (backend %s)\n", emulator.Version, emu.URL(), emu.Backend())
	if emu.ExternalURL() != emu.URL() {
		fmt.Fprintf(&b, "  signed URLs use    %s\n", emu.ExternalURL())
	}
	if d := emu.DataDir(); d != "" {
		fmt.Fprintf(&b, "  data dir           %s\n", d)
	} else {
		fmt.Fprintf(&b, "  store              %s\n", emu.StoreURL())
	}
	fmt.Fprintf(&b, "  dashboard          %s/_emulator/ui/\n", emu.URL())
	for _, o := range cfg.Orgs {
		for _, k := range o.Keys {
			fmt.Fprintf(&b, "  org %-14s key %s\n", o.ID, k.Key)
		}
		for _, v := range o.Volumes {
			mode := "read-write"
			if v.ReadOnly {
				mode = "read-only"
			}
			fmt.Fprintf(&b, "  org %-14s volume %s (%s)\n", o.ID, v.Slug, mode)
		}
	}
	id, secret := emu.SigningIdentity()
	fmt.Fprintf(&b, "  signing key id     %s\n  signing secret     %s\n", id, secret)
	fmt.Fprintf(&b, "\nTry it:\n  export BAPONI_API_KEY=%s\n", emu.APIKey())
	fmt.Fprintf(&b, "  curl -X POST %s/v1/files/list \\\n    -H \"Authorization: Bearer $BAPONI_API_KEY\" \\\n    -H \"Content-Type: application/json\" \\\n    -d '{\"source\": \"volume\", \"id\": \"%s\"}'\n\n", connectURL(emu.URL()), firstVolume(cfg))
	fmt.Fprint(w, b.String())
}

func firstVolume(cfg emulator.Config) string {
	for _, o := range cfg.Orgs {
		for _, v := range o.Volumes {
			return v.Slug
		}
	}
	return emulator.DevRWVolume
}

// connectURL turns the URL of a listener into one to paste: a wildcard host
// (0.0.0.0 or [::], as in a container) becomes 127.0.0.1.
func connectURL(listener string) string {
	host, ok := strings.CutPrefix(listener, "http://")
	if !ok {
		return listener
	}
	return "http://" + loopbackFor(host)
}
