package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// envFlag collects repeated --env NAME=VALUE flags.
type envFlag map[string]string

func (e envFlag) String() string { return "" }

func (e envFlag) Set(v string) error {
	name, val, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	e[name] = val
	return nil
}

// languageOf guesses the language of a file from its extension.
func languageOf(name string) string {
	switch filepath.Ext(name) {
	case ".js", ".mjs", ".cjs":
		return "node"
	case ".sh", ".bash":
		return "bash"
	}
	return "python"
}

// exitCode maps an execution's result to the command's exit code: the
// program's own when it set one, 1 when it did not finish normally.
func exitCode(r ExecResult) int {
	switch {
	case r.ExitCode > 0 && r.ExitCode < 256:
		return r.ExitCode
	case r.ExitCode != 0 || r.Status != "success":
		return ExitError
	}
	return ExitOK
}

// Exec is `localbaponi exec [flags] [FILE | -]`: it runs code in the
// sandbox, prints its stdout and stderr, and exits with the program's exit
// code.
func Exec(ctx context.Context, args []string, env Env) int {
	const cmd = "localbaponi exec"
	fs := newFlagSet(cmd, cmd+" [flags] [FILE | -]\n\n"+
		"  Runs code from -c, FILE or stdin (-, or no FILE) and exits with the program's exit code\n"+
		"  (1 if it did not finish: timeout, oom, blocked, cancelled; 1 or 2 for the command's own errors).", env)
	var t target
	t.register(fs, env)
	code := fs.String("c", "", "the code to run")
	lang := fs.String("language", "", "python, node or bash (default: from FILE's extension, else python)")
	thread := fs.String("thread", "", "thread id: run with the thread's files in /home/baponi and keep what it writes")
	timeout := fs.Int("timeout", 0, "timeout in seconds (default: the server's, 30)")
	stream := fs.Bool("stream", false, "print output as it comes (the NDJSON mode) rather than at the end")
	vars := envFlag{}
	fs.Var(vars, "env", "NAME=VALUE set in the program's environment (repeatable)")
	pos, exit, ok := parseArgs(fs, args, func(n int) bool { return n == 0 || (n == 1 && *code == "") })
	if !ok {
		return exit
	}
	var err error
	req := ExecRequest{Code: *code, Language: *lang, ThreadID: *thread, Timeout: *timeout}
	if len(vars) > 0 {
		req.EnvVars = vars
	}
	if *code == "" {
		var src []byte
		if len(pos) == 1 && pos[0] != "-" {
			src, err = os.ReadFile(pos[0])
			if req.Language == "" {
				req.Language = languageOf(pos[0])
			}
		} else {
			src, err = io.ReadAll(env.Stdin)
		}
		if err != nil {
			return failed(env, cmd, fmt.Errorf("read code: %w", err))
		}
		req.Code = string(src)
	}
	if req.Language == "" {
		req.Language = "python"
	}
	c := t.client()
	var res ExecResult
	if *stream {
		res, err = c.ExecuteStream(ctx, req, env.Stdout, env.Stderr)
	} else {
		res, err = c.Execute(ctx, req)
		if err == nil {
			_, err = io.WriteString(env.Stdout, res.Stdout)
			if err == nil {
				_, err = io.WriteString(env.Stderr, res.Stderr)
			}
		}
	}
	if err != nil {
		return failed(env, cmd, err)
	}
	if res.Error != nil && *res.Error != "" {
		fmt.Fprintf(env.Stderr, "%s: %s: %s\n", cmd, res.Status, *res.Error)
	} else if res.Status != "success" && res.ExitCode == 0 {
		fmt.Fprintf(env.Stderr, "%s: execution %s\n", cmd, res.Status)
	}
	return exitCode(res)
}
