// Command baponi-conformance checks that a Baponi Files API implementation
// (a self-hosted deployment, or localbaponi) behaves as SPEC.md says.
//
//	baponi-conformance                                  # against the embedded emulator
//	baponi-conformance --base-url https://baponi.example --api-key "$KEY" \
//	    --other-org-api-key "$KEY2" --rw-volume scratch --ro-volume reference \
//	    --json-report out/conformance.json --markdown-report out/conformance.md
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

	"github.com/localbaponi/localbaponi/conformance"
)

func main() {
	os.Exit(run())
}

func run() int {
	cfg, err := conformance.ParseArgs(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return conformance.ExitPass
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "baponi-conformance: %v\n", err)
		return conformance.ExitConfigError
	}
	// Ginkgo handles SIGINT/SIGTERM itself: it stops the run and still
	// reports, so no signal handling here.
	res, err := conformance.Run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "baponi-conformance: %v\n", err)
	}
	return res.ExitCode
}
