package conformance

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/localbaponi/localbaponi/emulator"
)

// Profiles say how EMU-level rules count (SPEC "Levels").
const (
	// ProfileEmulator makes EMU rules fail the run like DOC rules.
	ProfileEmulator = "emulator"
	// ProfileDeployment records EMU rule deviations as "observed".
	ProfileDeployment = "deployment"
)

// Dev defaults of the emulator (DESIGN "Dev defaults"); used when the
// embedded emulator runs, or when the target says it is localbaponi and is
// called with the dev key.
const (
	DevAPIKey      = emulator.DevAPIKey
	DevOtherAPIKey = emulator.DevOtherAPIKey
	DevRWVolume    = emulator.DevRWVolume
	DevROVolume    = emulator.DevROVolume
)

// Config is what a conformance run needs. Zero values mean "not given":
// Run fills in defaults (see doc.go).
type Config struct {
	// BaseURL is the target, e.g. "https://api.baponi.example". Empty starts
	// the embedded emulator.
	BaseURL string `yaml:"base_url"`
	// APIKey is a key of the organisation under test.
	APIKey string `yaml:"api_key"`
	// OtherOrgAPIKey is a key of a second organisation (isolation checks).
	OtherOrgAPIKey string `yaml:"other_org_api_key"`
	// SecondAPIKey is another key of the same organisation (S-3: volumes
	// are shared by every key of the organisation). On an emulator the run
	// makes one with the admin API when it is empty.
	SecondAPIKey string `yaml:"second_api_key"`
	// RateLimitedAPIKey is a key of the organisation with a small rate
	// limit (E-3: 429 with Retry-After). Made with the admin API on an
	// emulator when empty.
	RateLimitedAPIKey string `yaml:"rate_limited_api_key"`
	// SmallMemoryAPIKey is a key whose executions may use a few hundred
	// MiB at most (R-5: status oom). Made with the admin API on an emulator
	// when empty.
	SmallMemoryAPIKey string `yaml:"small_memory_api_key"`
	// RevokedAPIKey is a key of the organisation that has been revoked
	// 401). On an emulator the run makes and revokes one.
	RevokedAPIKey string `yaml:"revoked_api_key"`
	// RWVolume and ROVolume are slugs of a read-write and a read-only volume
	// of the organisation. The suite writes only under "conf-<run id>/" in
	// the read-write one and never writes to the read-only one.
	RWVolume string `yaml:"rw_volume"`
	ROVolume string `yaml:"ro_volume"`
	// Profile is "emulator" or "deployment"; empty picks "emulator" when the
	// target's /_emulator/info says it is localbaponi, else "deployment".
	Profile string `yaml:"profile"`
	// LabelFilter is a Ginkgo label filter; "slow" checks stay excluded
	// unless the filter names them.
	LabelFilter string `yaml:"label_filter"`
	// Report files; empty writes none.
	JUnitReport    string `yaml:"junit_report"`
	JSONReport     string `yaml:"json_report"`
	MarkdownReport string `yaml:"markdown_report"`
	// Keep leaves everything the run created in place.
	Keep bool `yaml:"keep"`
	// Timeout bounds the whole run (default 30m; the slow expiry checks
	// need more than 15 minutes).
	Timeout time.Duration `yaml:"timeout"`
	// Backend is the storage face of the embedded emulator (gcs, s3, azure).
	Backend string `yaml:"backend"`
	// EmulatorAdminToken is sent as the Bearer token on /_emulator/ routes
	// of a localbaponi started with --admin-token.
	EmulatorAdminToken string `yaml:"emulator_admin_token"`
	// Parallel is how many checks run at once (default DefaultParallel).
	// Checks that move the target's clock always run alone.
	Parallel int `yaml:"parallel"`
	// CompareURL runs the suite a second time against this target (the
	// word "embedded" starts the embedded emulator) and writes a drift
	// report of the two runs. The second run takes the Compare* keys and
	// volumes (a localbaponi target needs none: its dev ones apply).
	CompareURL            string `yaml:"compare_url"`
	CompareAPIKey         string `yaml:"compare_api_key"`
	CompareOtherOrgAPIKey string `yaml:"compare_other_org_api_key"`
	CompareRWVolume       string `yaml:"compare_rw_volume"`
	CompareROVolume       string `yaml:"compare_ro_volume"`
	// CompareReport and CompareJSON are where the drift report goes
	// (Markdown and JSON); without them the Markdown is printed.
	CompareReport string `yaml:"compare_report"`
	CompareJSON   string `yaml:"compare_json"`
	// Verbose prints every check as it finishes.
	Verbose bool `yaml:"verbose"`
	// Out receives progress output; default os.Stdout.
	Out io.Writer `yaml:"-"`
}

// ErrConfig marks configuration and connection errors (exit code 2).
var ErrConfig = errors.New("configuration or connection error")

// ErrReport marks a report that could not be written (exit code 3).
var ErrReport = errors.New("report could not be written")

// LoadFile merges a YAML config file over cfg: keys present in the file win.
func LoadFile(cfg *Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: read config: %w", ErrConfig, err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: parse config %s: %w", ErrConfig, path, err)
	}
	return nil
}

// envNames maps environment variables to the fields they set.
var envNames = []struct {
	name string
	set  func(*Config, string)
}{
	{"BAPONI_BASE_URL", func(c *Config, v string) { c.BaseURL = v }},
	{"BAPONI_API_KEY", func(c *Config, v string) { c.APIKey = v }},
	{"BAPONI_OTHER_ORG_API_KEY", func(c *Config, v string) { c.OtherOrgAPIKey = v }},
	{"BAPONI_SECOND_API_KEY", func(c *Config, v string) { c.SecondAPIKey = v }},
	{"BAPONI_RATE_LIMITED_API_KEY", func(c *Config, v string) { c.RateLimitedAPIKey = v }},
	{"BAPONI_SMALL_MEMORY_API_KEY", func(c *Config, v string) { c.SmallMemoryAPIKey = v }},
	{"BAPONI_REVOKED_API_KEY", func(c *Config, v string) { c.RevokedAPIKey = v }},
	{"BAPONI_RW_VOLUME", func(c *Config, v string) { c.RWVolume = v }},
	{"BAPONI_COMPARE_URL", func(c *Config, v string) { c.CompareURL = v }},
	{"BAPONI_COMPARE_API_KEY", func(c *Config, v string) { c.CompareAPIKey = v }},
	{"BAPONI_COMPARE_OTHER_ORG_API_KEY", func(c *Config, v string) { c.CompareOtherOrgAPIKey = v }},
	{"BAPONI_COMPARE_RW_VOLUME", func(c *Config, v string) { c.CompareRWVolume = v }},
	{"BAPONI_COMPARE_RO_VOLUME", func(c *Config, v string) { c.CompareROVolume = v }},
	{"BAPONI_RO_VOLUME", func(c *Config, v string) { c.ROVolume = v }},
	{"BAPONI_PROFILE", func(c *Config, v string) { c.Profile = v }},
	{"BAPONI_EMULATOR_ADMIN_TOKEN", func(c *Config, v string) { c.EmulatorAdminToken = v }},
	{"BAPONI_LABEL_FILTER", func(c *Config, v string) { c.LabelFilter = v }},
	{"BAPONI_PARALLEL", func(c *Config, v string) {
		if n, err := strconv.Atoi(v); err == nil {
			c.Parallel = n
		}
	}},
}

// ApplyEnv sets fields from the BAPONI_* environment variables that are set
// and non-empty; getenv is usually os.Getenv.
func ApplyEnv(cfg *Config, getenv func(string) string) {
	for _, e := range envNames {
		if v := getenv(e.name); v != "" {
			e.set(cfg, v)
		}
	}
}

// ParseArgs builds a Config from defaults, then --config FILE, then the
// environment, then flags (each layer overrides the one before). It returns
// flag.ErrHelp for -h.
func ParseArgs(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("baponi-conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		configFile    string
		flagCfg       Config
		timeout       string
		keep, verbose bool
		parallel      int
	)
	fs.StringVar(&configFile, "config", "", "YAML config `file` (keys as the long flag names with _ for -)")
	fs.StringVar(&flagCfg.BaseURL, "base-url", "", "target base `URL`; empty starts the embedded emulator")
	fs.StringVar(&flagCfg.APIKey, "api-key", "", "API `key` of the organisation under test")
	fs.StringVar(&flagCfg.OtherOrgAPIKey, "other-org-api-key", "", "API `key` of a second organisation (isolation checks)")
	fs.StringVar(&flagCfg.SecondAPIKey, "second-api-key", "", "another API `key` of the same organisation (S-3; made with the admin API on an emulator)")
	fs.StringVar(&flagCfg.RateLimitedAPIKey, "rate-limited-api-key", "", "API `key` of the organisation with a small rate limit (E-3; made with the admin API on an emulator)")
	fs.StringVar(&flagCfg.SmallMemoryAPIKey, "small-memory-api-key", "", "API `key` whose executions get a few hundred MiB at most (R-5 oom; made with the admin API on an emulator)")
	fs.StringVar(&flagCfg.RevokedAPIKey, "revoked-api-key", "", "a revoked API `key` (A-1; made and revoked with the admin API on an emulator)")
	fs.StringVar(&flagCfg.RWVolume, "rw-volume", "", "read-write volume `slug`")
	fs.StringVar(&flagCfg.ROVolume, "ro-volume", "", "read-only volume `slug`")
	fs.StringVar(&flagCfg.Profile, "profile", "", "emulator|deployment (default: emulator if the target says it is localbaponi)")
	fs.StringVar(&flagCfg.LabelFilter, "label-filter", "", "Ginkgo label `filter`, e.g. 'upload && DOC' (slow checks need the label named)")
	fs.StringVar(&flagCfg.JUnitReport, "junit-report", "", "write a JUnit XML report to `file`")
	fs.StringVar(&flagCfg.JSONReport, "json-report", "", "write a JSON report to `file`")
	fs.StringVar(&flagCfg.MarkdownReport, "markdown-report", "", "write a Markdown report to `file`")
	fs.BoolVar(&keep, "keep", false, "leave the files the run created")
	fs.StringVar(&timeout, "timeout", "", "bound the whole run (`duration`, default 30m)")
	fs.StringVar(&flagCfg.Backend, "backend", "", "storage face of the embedded emulator: gcs|s3|azure")
	fs.StringVar(&flagCfg.EmulatorAdminToken, "emulator-admin-token", "", "Bearer `token` for /_emulator/ routes of a localbaponi started with --admin-token")
	fs.StringVar(&flagCfg.CompareURL, "compare-url", "", "also run against `URL` (\"embedded\": the embedded emulator) and report where the two differ")
	fs.StringVar(&flagCfg.CompareAPIKey, "compare-api-key", "", "API `key` for --compare-url")
	fs.StringVar(&flagCfg.CompareOtherOrgAPIKey, "compare-other-org-api-key", "", "second organisation's API `key` for --compare-url")
	fs.StringVar(&flagCfg.CompareRWVolume, "compare-rw-volume", "", "read-write volume `slug` for --compare-url")
	fs.StringVar(&flagCfg.CompareROVolume, "compare-ro-volume", "", "read-only volume `slug` for --compare-url")
	fs.StringVar(&flagCfg.CompareReport, "compare-report", "", "write the drift report (Markdown) to `file` instead of printing it")
	fs.StringVar(&flagCfg.CompareJSON, "compare-json", "", "write the drift report as JSON to `file`")
	fs.IntVar(&parallel, "parallel", 0, fmt.Sprintf("run `N` checks at once (default %d; clock-moving checks run alone)", DefaultParallel))
	fs.BoolVar(&verbose, "v", false, "print every check as it finishes")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected arguments %q", ErrConfig, fs.Args())
	}
	var cfg Config
	if configFile != "" {
		if err := LoadFile(&cfg, configFile); err != nil {
			return Config{}, err
		}
	}
	ApplyEnv(&cfg, getenv)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	over := func(name string, dst *string, v string) {
		if set[name] {
			*dst = v
		}
	}
	over("base-url", &cfg.BaseURL, flagCfg.BaseURL)
	over("api-key", &cfg.APIKey, flagCfg.APIKey)
	over("other-org-api-key", &cfg.OtherOrgAPIKey, flagCfg.OtherOrgAPIKey)
	over("second-api-key", &cfg.SecondAPIKey, flagCfg.SecondAPIKey)
	over("rate-limited-api-key", &cfg.RateLimitedAPIKey, flagCfg.RateLimitedAPIKey)
	over("small-memory-api-key", &cfg.SmallMemoryAPIKey, flagCfg.SmallMemoryAPIKey)
	over("revoked-api-key", &cfg.RevokedAPIKey, flagCfg.RevokedAPIKey)
	over("rw-volume", &cfg.RWVolume, flagCfg.RWVolume)
	over("ro-volume", &cfg.ROVolume, flagCfg.ROVolume)
	over("profile", &cfg.Profile, flagCfg.Profile)
	over("label-filter", &cfg.LabelFilter, flagCfg.LabelFilter)
	over("junit-report", &cfg.JUnitReport, flagCfg.JUnitReport)
	over("json-report", &cfg.JSONReport, flagCfg.JSONReport)
	over("markdown-report", &cfg.MarkdownReport, flagCfg.MarkdownReport)
	over("backend", &cfg.Backend, flagCfg.Backend)
	over("compare-url", &cfg.CompareURL, flagCfg.CompareURL)
	over("compare-api-key", &cfg.CompareAPIKey, flagCfg.CompareAPIKey)
	over("compare-other-org-api-key", &cfg.CompareOtherOrgAPIKey, flagCfg.CompareOtherOrgAPIKey)
	over("compare-rw-volume", &cfg.CompareRWVolume, flagCfg.CompareRWVolume)
	over("compare-ro-volume", &cfg.CompareROVolume, flagCfg.CompareROVolume)
	over("compare-report", &cfg.CompareReport, flagCfg.CompareReport)
	over("compare-json", &cfg.CompareJSON, flagCfg.CompareJSON)
	over("emulator-admin-token", &cfg.EmulatorAdminToken, flagCfg.EmulatorAdminToken)
	if set["keep"] {
		cfg.Keep = keep
	}
	if set["parallel"] {
		cfg.Parallel = parallel
	}
	if set["v"] {
		cfg.Verbose = verbose
	}
	if set["timeout"] {
		d, err := time.ParseDuration(timeout)
		if err != nil {
			return Config{}, fmt.Errorf("%w: --timeout: %w", ErrConfig, err)
		}
		cfg.Timeout = d
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate reports values that can never work.
func (c Config) Validate() error {
	switch c.Profile {
	case "", ProfileEmulator, ProfileDeployment:
	default:
		return fmt.Errorf("%w: profile %q: want %q or %q", ErrConfig, c.Profile, ProfileEmulator, ProfileDeployment)
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		return fmt.Errorf("%w: base URL %q must start with http:// or https://", ErrConfig, c.BaseURL)
	}
	if c.CompareURL != "" && c.CompareURL != "embedded" && !strings.HasPrefix(c.CompareURL, "http://") && !strings.HasPrefix(c.CompareURL, "https://") {
		return fmt.Errorf("%w: compare URL %q must start with http:// or https:// (or be \"embedded\")", ErrConfig, c.CompareURL)
	}
	if c.Parallel < 0 {
		return fmt.Errorf("%w: parallel %d is negative", ErrConfig, c.Parallel)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("%w: timeout %v is negative", ErrConfig, c.Timeout)
	}
	switch c.Backend {
	case "", "gcs", "s3", "azure":
	default:
		return fmt.Errorf("%w: backend %q: want gcs, s3 or azure", ErrConfig, c.Backend)
	}
	if c.Backend != "" && c.BaseURL != "" && c.CompareURL != "embedded" {
		return fmt.Errorf("%w: --backend only applies to the embedded emulator (no --base-url, or --compare-url embedded)", ErrConfig)
	}
	return nil
}

// Redacted returns the config as shown in reports: keys cut to their
// region prefix and length, empty fields left out.
func (c Config) Redacted() map[string]string {
	m := map[string]string{}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put("base_url", c.BaseURL)
	put("api_key", redactKey(c.APIKey))
	put("other_org_api_key", redactKey(c.OtherOrgAPIKey))
	put("second_api_key", redactKey(c.SecondAPIKey))
	put("rate_limited_api_key", redactKey(c.RateLimitedAPIKey))
	put("small_memory_api_key", redactKey(c.SmallMemoryAPIKey))
	put("revoked_api_key", redactKey(c.RevokedAPIKey))
	put("rw_volume", c.RWVolume)
	put("ro_volume", c.ROVolume)
	put("profile", c.Profile)
	put("label_filter", c.LabelFilter)
	put("backend", c.Backend)
	put("compare_url", c.CompareURL)
	put("compare_api_key", redactKey(c.CompareAPIKey))
	put("emulator_admin_token", redactKey(c.EmulatorAdminToken))
	if c.Keep {
		m["keep"] = "true"
	}
	if c.Timeout > 0 {
		m["timeout"] = c.Timeout.String()
	}
	if c.Parallel > 0 {
		m["parallel"] = strconv.Itoa(c.Parallel)
	}
	return m
}

// redactKey keeps the "sk-<region>-" prefix and says how long the key is.
func redactKey(k string) string {
	if k == "" {
		return ""
	}
	prefix := ""
	if parts := strings.SplitN(k, "-", 3); len(parts) == 3 && parts[0] == "sk" && len(parts[1]) <= 8 {
		prefix = parts[0] + "-" + parts[1] + "-"
	}
	return prefix + "***(" + strconv.Itoa(len(k)) + " chars)"
}
