package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// envPrefix starts the name of the environment variable of every flag:
// --data-dir is LOCALBAPONI_DATA_DIR, --external-url LOCALBAPONI_EXTERNAL_URL.
// Containers and CI service definitions configure the emulator this way.
const envPrefix = "LOCALBAPONI_"

// envName returns the environment variable of the flag name of a command:
// LOCALBAPONI_ + the name in upper case with '-' as '_'; a subcommand's
// flags get the subcommand in between (LOCALBAPONI_HEALTHCHECK_URL).
func envName(command, name string) string {
	n := envPrefix
	if command != "" {
		n += strings.ToUpper(command) + "_"
	}
	return n + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// withEnv gives every flag of fs, including those added later to the
// command, an environment variable: it names the variable in the flag's
// usage (so --help lists both) and returns a function to call after
// fs.Parse, which sets each flag not given on the command line from its
// variable. The flag wins over the variable; an empty variable counts as
// unset. lookup is os.LookupEnv outside tests.
func withEnv(fs *flag.FlagSet, command string, lookup func(string) (string, bool)) func() error {
	fs.VisitAll(func(f *flag.Flag) {
		f.Usage += " [$" + envName(command, f.Name) + "]"
	})
	return func() error {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		var errs []error
		fs.VisitAll(func(f *flag.Flag) {
			if given[f.Name] {
				return
			}
			env := envName(command, f.Name)
			v, ok := lookup(env)
			if !ok || v == "" {
				return
			}
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q (for --%s): %w", env, v, f.Name, err))
			}
		})
		return errors.Join(errs...)
	}
}
