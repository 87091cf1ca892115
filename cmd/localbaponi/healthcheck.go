package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// healthPath answers 200 once the emulator is ready (no admin token needed).
const healthPath = "/_emulator/health"

// defaultAddr is --addr's default.
const defaultAddr = "127.0.0.1:8080"

// healthcheck is `localbaponi healthcheck [--url URL]`: it exits 0 when
// GET <URL>/_emulator/health answers 200 and 1 otherwise, so a container's
// HEALTHCHECK needs no curl. Without --url it asks the emulator that the
// same environment would start: LOCALBAPONI_ADDR (or 127.0.0.1:8080), with a
// wildcard host (0.0.0.0, ::) asked on loopback.
func healthcheck(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	fs := flag.NewFlagSet("localbaponi healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		base    = fs.String("url", "", "base URL of the emulator (default: http://<LOCALBAPONI_ADDR, or "+defaultAddr+">, a wildcard host asked on 127.0.0.1)")
		timeout = fs.Duration("timeout", 5*time.Second, "give up on one attempt after this long")
		wait    = fs.Duration("wait", 0, "keep trying (every 200ms) for up to this long before giving up; 0 tries once")
	)
	applyEnv := withEnv(fs, "healthcheck", lookup)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: localbaponi healthcheck [--url URL] [--timeout D] [--wait D]\n\n"+
			"Exits 0 if GET <url>%s answers 200, 1 if not (2 for bad flags).\n\nFlags:\n", healthPath)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, applyEnv, "localbaponi healthcheck", stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "localbaponi healthcheck: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	u := strings.TrimSuffix(*base, "/")
	if u == "" {
		addr, _ := lookup(envName("", "addr"))
		if addr == "" {
			addr = defaultAddr
		}
		u = "http://" + loopbackFor(addr)
	}
	client := &http.Client{Timeout: *timeout}
	deadline := time.Now().Add(*wait)
	for {
		err := probe(ctx, client, u+healthPath)
		if err == nil {
			fmt.Fprintf(stdout, "healthy: %s%s\n", u, healthPath)
			return 0
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			fmt.Fprintf(stderr, "localbaponi healthcheck: unhealthy: %v\n", err)
			return 1
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// probe GETs u and wants 200.
func probe(ctx context.Context, client *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("health URL: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}

// loopbackFor turns a listen address into one to connect to: a wildcard or
// empty host becomes 127.0.0.1 (or [::1] for "::").
func loopbackFor(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
