package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// parseFlags parses args into fs and then applies the environment (flags
// win). It returns false with the exit code when the command must stop:
// 0 after --help, 2 for a bad flag or environment variable.
func parseFlags(fs *flag.FlagSet, args []string, applyEnv func() error, name string, stderr io.Writer) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if err := applyEnv(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2, false
	}
	return 0, true
}
