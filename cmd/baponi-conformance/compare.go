package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/localbaponi/localbaponi/conformance"
)

// compare is `baponi-conformance compare [--json FILE] [--markdown FILE]
// A.json B.json`: the drift report of two JSON reports, printed as
// Markdown unless --markdown names a file.
func compare(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("baponi-conformance compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.String("json", "", "write the drift report as JSON to `file`")
	mdOut := fs.String("markdown", "", "write the drift report as Markdown to `file` (default: print it)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: baponi-conformance compare [--json FILE] [--markdown FILE] A.json B.json")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return conformance.ExitPass
		}
		return conformance.ExitConfigError
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return conformance.ExitConfigError
	}
	a, err := conformance.LoadJSONReport(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "baponi-conformance compare: %v\n", err)
		return conformance.ExitConfigError
	}
	b, err := conformance.LoadJSONReport(fs.Arg(1))
	if err != nil {
		fmt.Fprintf(stderr, "baponi-conformance compare: %v\n", err)
		return conformance.ExitConfigError
	}
	d := conformance.Compare(a, b)
	md := d.Markdown()
	if *mdOut == "" {
		fmt.Fprint(stdout, md)
	} else if err := os.WriteFile(*mdOut, []byte(md), 0o644); err != nil {
		fmt.Fprintf(stderr, "baponi-conformance compare: %v\n", err)
		return conformance.ExitReportError
	}
	if *jsonOut != "" {
		data, err := json.MarshalIndent(d, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonOut, append(data, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "baponi-conformance compare: %v\n", err)
			return conformance.ExitReportError
		}
	}
	return conformance.ExitPass
}
