// Command baponi-conformance checks that a Baponi Files API implementation
// (a self-hosted deployment, or localbaponi) behaves as SPEC.md says.
//
//	baponi-conformance                                  # against the embedded emulator
//	baponi-conformance --base-url https://baponi.example --api-key "$KEY" \
//	    --other-org-api-key "$KEY2" --rw-volume scratch --ro-volume reference \
//	    --json-report out/conformance.json --markdown-report out/conformance.md
//	baponi-conformance compare A.json B.json            # drift report of two runs
//	baponi-conformance --base-url https://baponi.example ... --compare-url embedded
//
// compare prints where two runs answered differently, rule by rule (status,
// error code, JSON shape, signed URL lifetimes, list path relativity), as
// Markdown (--markdown FILE) and JSON (--json FILE); it exits 0 once the
// report is made.
//
// Exit codes: 0 every required check passed, 1 a required check failed,
// 2 configuration or connection error, 3 a report could not be written.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/localbaponi/localbaponi/conformance"
)

func main() {
	os.Exit(run())
}

func run() int {
	if len(os.Args) > 1 && os.Args[1] == "compare" {
		return compare(os.Args[2:], os.Stdout, os.Stderr)
	}
	// SIGINT/SIGTERM stop the run: checks not started are reported as not
	// run, and the cleanup sweep and reports still happen.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := conformance.ParseArgs(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return conformance.ExitPass
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "baponi-conformance: %v\n", err)
		return conformance.ExitConfigError
	}
	res, err := conformance.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "baponi-conformance: %v\n", err)
	}
	return res.ExitCode
}
