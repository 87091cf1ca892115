package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// The environment variables of the target, shared with Baponi's own
// examples (export BAPONI_API_KEY=...).
const (
	EnvBaseURL = "BAPONI_BASE_URL"
	EnvAPIKey  = "BAPONI_API_KEY"
)

// DefaultBaseURL is the emulator's default address.
const DefaultBaseURL = "http://127.0.0.1:8080"

// Exit codes of the commands (exec passes the program's own through).
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Env is what a command runs with: its standard streams, the environment
// and the default API key (the emulator's dev key).
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Lookup         func(string) (string, bool)
	DefaultAPIKey  string
}

// target holds the flags every client command has.
type target struct {
	baseURL, apiKey string
}

func (t *target) register(fs *flag.FlagSet, env Env) {
	def := func(name, fallback string) string {
		if v, ok := env.Lookup(name); ok && v != "" {
			return v
		}
		return fallback
	}
	fs.StringVar(&t.baseURL, "base-url", def(EnvBaseURL, DefaultBaseURL), "base URL of the Baponi deployment or emulator [$"+EnvBaseURL+"]")
	fs.StringVar(&t.apiKey, "api-key", def(EnvAPIKey, env.DefaultAPIKey), "API key [$"+EnvAPIKey+"] (default: the emulator's dev key)")
}

func (t *target) client() *Client {
	return &Client{BaseURL: strings.TrimSuffix(t.baseURL, "/"), APIKey: t.apiKey}
}

// parse parses args with flags allowed before, between and after the
// positional arguments ("--" ends the flags); it returns the positional
// ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// newFlagSet makes a command's flag set with its usage text.
func newFlagSet(name, usage string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// failed prints err for the command and returns its exit code.
func failed(env Env, cmd string, err error) int {
	fmt.Fprintf(env.Stderr, "%s: %v\n", cmd, err)
	return ExitError
}

const filesUsage = `Usage: localbaponi files <command> [flags] [args]

Commands:
  ls  LOCATION...            list files (LOCATION: thread:<id>[/<prefix>] or volume:<slug>[/<prefix>])
  cp  [-r] SRC DST           copy a local file (or - for stdin) to a location, or back (- for stdout)
  rm  [-r] LOCATION...       delete files (-r: everything under the path)
  url [--upload --size N] LOCATION
                             print a signed download (or upload) URL

Every command takes --base-url [$BAPONI_BASE_URL] and --api-key [$BAPONI_API_KEY].
`

// Files is `localbaponi files ...`; it returns the exit code.
func Files(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(env.Stderr, filesUsage)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	switch args[0] {
	case "ls":
		return filesLs(ctx, args[1:], env)
	case "cp":
		return filesCp(ctx, args[1:], env)
	case "rm":
		return filesRm(ctx, args[1:], env)
	case "url":
		return filesURL(ctx, args[1:], env)
	}
	fmt.Fprintf(env.Stderr, "localbaponi files: unknown command %q\n\n%s", args[0], filesUsage)
	return ExitUsage
}

// parseArgs parses a subcommand's flags and positional arguments; when
// parsing fails or want does not accept how many arguments there are, it
// prints the usage (if the flag package has not) and returns the exit code,
// and ok false.
func parseArgs(fs *flag.FlagSet, args []string, want func(n int) bool) (pos []string, code int, ok bool) {
	pos, err := parse(fs, args)
	if err != nil {
		return nil, usageErr(err), false
	}
	if !want(len(pos)) {
		fs.Usage()
		return nil, ExitUsage, false
	}
	return pos, ExitOK, true
}

func usageErr(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	return ExitUsage
}

func filesLs(ctx context.Context, args []string, env Env) int {
	const cmd = "localbaponi files ls"
	fs := newFlagSet(cmd, cmd+" [--json] [--bytes] LOCATION...", env)
	var t target
	t.register(fs, env)
	asJSON := fs.Bool("json", false, "print the API's listing as JSON")
	exact := fs.Bool("bytes", false, "print sizes in bytes rather than KiB, MiB, GiB")
	pos, code, ok := parseArgs(fs, args, func(n int) bool { return n > 0 })
	if !ok {
		return code
	}
	c := t.client()
	for _, a := range pos {
		loc, err := ParseLocation(a)
		if err != nil {
			return failed(env, cmd, err)
		}
		files, err := c.List(ctx, loc)
		if err != nil {
			return failed(env, cmd, err)
		}
		if *asJSON {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(map[string][]File{"files": files}); err != nil {
				return failed(env, cmd, err)
			}
			continue
		}
		for _, f := range files {
			size, name := HumanSize(f.Size), f.Path
			if *exact {
				size = fmt.Sprint(f.Size)
			}
			if f.IsDirectory {
				size, name = "-", name+"/"
			}
			if _, err := fmt.Fprintf(env.Stdout, "%10s  %s  %s\n", size, f.Modified.UTC().Format(time.RFC3339), name); err != nil {
				return failed(env, cmd, err)
			}
		}
	}
	return ExitOK
}

func filesRm(ctx context.Context, args []string, env Env) int {
	const cmd = "localbaponi files rm"
	fs := newFlagSet(cmd, cmd+" [-r] LOCATION...", env)
	var t target
	t.register(fs, env)
	recursive := fs.Bool("r", false, "delete every file under the path")
	pos, code, ok := parseArgs(fs, args, func(n int) bool { return n > 0 })
	if !ok {
		return code
	}
	c := t.client()
	for _, a := range pos {
		loc, err := ParseLocation(a)
		if err != nil {
			return failed(env, cmd, err)
		}
		targets := []Location{loc}
		if *recursive {
			if targets, err = filesUnder(ctx, c, loc); err != nil {
				return failed(env, cmd, err)
			}
		} else if loc.Path == "" {
			return failed(env, cmd, fmt.Errorf("%s: no file path (use -r to delete everything under it)", a))
		}
		for _, l := range targets {
			if err := c.Delete(ctx, l); err != nil {
				return failed(env, cmd, fmt.Errorf("%s: %w", l, err))
			}
		}
	}
	return ExitOK
}

// filesUnder lists the files (not directories) at or under loc.Path.
func filesUnder(ctx context.Context, c *Client, loc Location) ([]Location, error) {
	files, err := c.List(ctx, loc)
	if err != nil {
		return nil, err
	}
	dir := strings.TrimSuffix(loc.Path, "/")
	var out []Location
	for _, f := range files {
		if f.IsDirectory {
			continue
		}
		if dir == "" || f.Path == dir || strings.HasPrefix(f.Path, dir+"/") {
			out = append(out, Location{Source: loc.Source, ID: loc.ID, Path: f.Path})
		}
	}
	return out, nil
}

func filesURL(ctx context.Context, args []string, env Env) int {
	const cmd = "localbaponi files url"
	fs := newFlagSet(cmd, cmd+" [--upload --size N [--content-type T]] LOCATION", env)
	var t target
	t.register(fs, env)
	upload := fs.Bool("upload", false, "print an upload (PUT) URL rather than a download URL")
	size := fs.Int64("size", -1, "content length of the upload in bytes (required with --upload)")
	ctype := fs.String("content-type", "", "content type of the upload (default: from the file name)")
	asJSON := fs.Bool("json", false, "print the whole answer (url, method, headers, expires_at) as JSON")
	pos, code, ok := parseArgs(fs, args, func(n int) bool { return n == 1 })
	if !ok {
		return code
	}
	loc, err := ParseLocation(pos[0])
	if err != nil {
		return failed(env, cmd, err)
	}
	c := t.client()
	var s SignedURL
	if *upload {
		if *size < 0 {
			fmt.Fprintf(env.Stderr, "%s: --upload needs --size (the exact content length in bytes)\n", cmd)
			return ExitUsage
		}
		if *ctype == "" {
			*ctype = contentType(loc.Path)
		}
		s, err = c.UploadURL(ctx, loc, *ctype, *size)
	} else {
		s, err = c.DownloadURL(ctx, loc)
	}
	if err != nil {
		return failed(env, cmd, err)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			return failed(env, cmd, err)
		}
		return ExitOK
	}
	fmt.Fprintln(env.Stdout, s.URL)
	return ExitOK
}

func filesCp(ctx context.Context, args []string, env Env) int {
	const cmd = "localbaponi files cp"
	fs := newFlagSet(cmd, cmd+" [-r] SRC DST\n\n"+
		"  SRC and DST: a local path (- for stdin/stdout) and thread:<id>/<path> or volume:<slug>/<path>.\n"+
		"  A DST ending in / (or a local directory) receives the file under its own name.", env)
	var t target
	t.register(fs, env)
	recursive := fs.Bool("r", false, "copy directories recursively")
	pos, code, ok := parseArgs(fs, args, func(n int) bool { return n == 2 })
	if !ok {
		return code
	}
	src, dst := pos[0], pos[1]
	tr := &Transfers{
		Client:   t.client(),
		Progress: env.Stderr,
		Log:      slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	switch {
	case IsRemote(src) && IsRemote(dst):
		return failed(env, cmd, errors.New("both SRC and DST are remote: copy through a local file"))
	case !IsRemote(src) && !IsRemote(dst):
		return failed(env, cmd, errors.New("neither SRC nor DST is remote (thread:<id>/<path> or volume:<slug>/<path>)"))
	case IsRemote(dst):
		loc, err := ParseLocation(dst)
		if err != nil {
			return failed(env, cmd, err)
		}
		err = uploadPath(ctx, tr, src, loc, *recursive, env.Stdin)
		if err != nil {
			return failed(env, cmd, err)
		}
	default:
		loc, err := ParseLocation(src)
		if err != nil {
			return failed(env, cmd, err)
		}
		err = downloadPath(ctx, tr, loc, dst, *recursive, env.Stdout)
		if err != nil {
			return failed(env, cmd, err)
		}
	}
	return ExitOK
}

// joinRemote puts name under dir (a remote path, maybe empty).
func joinRemote(dir, name string) string {
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func uploadPath(ctx context.Context, tr *Transfers, src string, dst Location, recursive bool, stdin io.Reader) error {
	intoDir := dst.Path == "" || strings.HasSuffix(dst.Path, "/")
	if src == "-" {
		if intoDir {
			return fmt.Errorf("%s: name the file to write stdin to", dst)
		}
		return uploadStdin(ctx, tr, stdin, dst)
	}
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		if intoDir {
			dst.Path = joinRemote(dst.Path, filepath.Base(src))
		}
		return uploadFile(ctx, tr, src, dst)
	}
	if !recursive {
		return fmt.Errorf("%s is a directory (use -r)", src)
	}
	base := dst.Path
	if intoDir {
		base = joinRemote(dst.Path, filepath.Base(filepath.Clean(src)))
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := dst
		to.Path = joinRemote(base, filepath.ToSlash(rel))
		return uploadFile(ctx, tr, p, to)
	})
}

func uploadFile(ctx context.Context, tr *Transfers, name string, dst Location) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	return tr.Upload(ctx, f, info.Size(), dst)
}

// uploadStdin spools stdin to a temporary file first: upload_url needs the
// exact content length before the first byte is sent.
func uploadStdin(ctx context.Context, tr *Transfers, stdin io.Reader, dst Location) error {
	f, err := os.CreateTemp("", "localbaponi-stdin-*")
	if err != nil {
		return fmt.Errorf("spool stdin: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.CopyBuffer(f, onlyReader{stdin}, make([]byte, copyBuf))
	if err != nil {
		return fmt.Errorf("spool stdin: %w", err)
	}
	return tr.Upload(ctx, f, n, dst)
}

func downloadPath(ctx context.Context, tr *Transfers, src Location, dst string, recursive bool, stdout io.Writer) error {
	if dst == "-" {
		if recursive {
			return errors.New("-r cannot write to stdout")
		}
		return tr.Download(ctx, src, stdout, nil)
	}
	info, statErr := os.Stat(dst)
	intoDir := strings.HasSuffix(dst, "/") || strings.HasSuffix(dst, string(filepath.Separator)) || (statErr == nil && info.IsDir())
	if !recursive {
		if src.Path == "" {
			return fmt.Errorf("%s: no file path (use -r to copy everything under it)", src)
		}
		if intoDir {
			dst = filepath.Join(dst, path.Base(src.Path))
		}
		return downloadFile(ctx, tr, src, dst)
	}
	files, err := filesUnder(ctx, tr.Client, src)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%s: no files", src)
	}
	dir := strings.TrimSuffix(src.Path, "/")
	base := dst
	if intoDir && dir != "" {
		base = filepath.Join(dst, path.Base(dir))
	}
	for _, f := range files {
		rel := f.Path
		if dir != "" {
			rel = strings.TrimPrefix(strings.TrimPrefix(f.Path, dir), "/")
		}
		if rel == "" {
			rel = path.Base(f.Path)
		}
		to := filepath.Join(base, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := downloadFile(ctx, tr, f, to); err != nil {
			return err
		}
	}
	return nil
}

// downloadFile writes src to a temporary file next to name and renames it
// into place once complete: a failed download leaves nothing half-written.
func downloadFile(ctx context.Context, tr *Transfers, src Location, name string) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".part-*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	restart := func() error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		return f.Truncate(0)
	}
	if err := tr.Download(ctx, src, f, restart); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return err
	}
	done = true
	return nil
}
