// Package tenancy knows the organisations, their API keys and their volumes,
// from the built-in dev defaults or a YAML config, changeable at run time
// through the admin API.
package tenancy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// Config is the YAML configuration of the emulator's tenants.
type Config struct {
	Signing Signing `yaml:"signing" json:"signing"`
	Orgs    []Org   `yaml:"orgs" json:"orgs"`
	// CORS is the data plane's cross-origin rule; nil means loopback
	// origins only (face.DefaultCORS).
	CORS *CORSConfig `yaml:"cors,omitempty" json:"cors,omitempty"`
}

// CORSConfig is the cross-origin rule of the signed-URL data plane, on
// every face: the bucket CORS configuration of GCS and S3, the CORS rule of
// an Azure storage account.
type CORSConfig struct {
	// Origins allowed: exact ("https://app.example"), with * for any run of
	// characters ("http://localhost:*"), or "*" for all.
	Origins []string `yaml:"origins" json:"origins"`
	// Methods a page may use; default GET, HEAD, PUT.
	Methods []string `yaml:"methods,omitempty" json:"methods,omitempty"`
	// Headers a page may send; default "*" (any).
	Headers []string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// ExposeHeaders a page may read, besides the face's own.
	ExposeHeaders []string `yaml:"expose_headers,omitempty" json:"expose_headers,omitempty"`
	// MaxAge is how many seconds a browser may cache a preflight; default 3600.
	MaxAge *int `yaml:"max_age,omitempty" json:"max_age,omitempty"`
}

// corsMethods are the methods a CORS rule may name.
var corsMethods = map[string]bool{"GET": true, "HEAD": true, "PUT": true, "POST": true, "DELETE": true, "OPTIONS": true}

func (c *CORSConfig) validate() error {
	var errs []error
	if len(c.Origins) == 0 {
		errs = append(errs, errors.New("cors.origins must name at least one origin (\"*\" for all)"))
	}
	for i, o := range c.Origins {
		if o == "" || strings.ContainsAny(o, " ,\t\r\n") {
			errs = append(errs, fmt.Errorf("cors.origins[%d] %q must be one origin, without spaces or commas", i, o))
		}
	}
	for i, m := range c.Methods {
		if !corsMethods[m] {
			errs = append(errs, fmt.Errorf("cors.methods[%d] %q must be one of GET, HEAD, PUT, POST, DELETE, OPTIONS (upper case)", i, m))
		}
	}
	for i, h := range append(append([]string(nil), c.Headers...), c.ExposeHeaders...) {
		if h == "" || strings.ContainsAny(h, " ,:\t\r\n") {
			errs = append(errs, fmt.Errorf("cors header %d %q must be one header name", i, h))
		}
	}
	if c.MaxAge != nil && (*c.MaxAge < 0 || *c.MaxAge > 86400) {
		errs = append(errs, fmt.Errorf("cors.max_age %d must be between 0 and 86400 seconds", *c.MaxAge))
	}
	return errors.Join(errs...)
}

// Signing is the identity that signed URLs are made with.
type Signing struct {
	KeyID  string `yaml:"key_id" json:"key_id"`
	Secret string `yaml:"secret" json:"secret"`
}

// Org is one organisation with its keys and volumes.
type Org struct {
	ID      string         `yaml:"id" json:"id"`
	Keys    []KeyConfig    `yaml:"keys" json:"keys"`
	Volumes []VolumeConfig `yaml:"volumes" json:"volumes"`
	// ThreadQuotaMiB caps the bytes one thread may hold (uploads and what
	// code writes); 0 means DefaultQuotaMiB.
	ThreadQuotaMiB int64 `yaml:"thread_quota_mib,omitempty" json:"thread_quota_mib,omitempty"`
	// VolumeQuotaMiB caps each volume of the org that sets no quota_mib of
	// its own; 0 means DefaultQuotaMiB.
	VolumeQuotaMiB int64 `yaml:"volume_quota_mib,omitempty" json:"volume_quota_mib,omitempty"`
}

// DefaultQuotaMiB is the size limit of a thread or volume when the config
// sets none (20 GiB).
const DefaultQuotaMiB = 20 << 10

// KeyConfig is one API key and its limits.
type KeyConfig struct {
	Key       string     `yaml:"key" json:"key"`
	RateLimit *RateLimit `yaml:"rate_limit,omitempty" json:"rate_limit,omitempty"`
	// MaxTimeoutSeconds caps an execution's timeout (default 300).
	MaxTimeoutSeconds int `yaml:"max_timeout_seconds,omitempty" json:"max_timeout_seconds,omitempty"`
	// MemoryLimitMiB caps an execution's memory (default 512).
	MemoryLimitMiB int `yaml:"memory_limit_mib,omitempty" json:"memory_limit_mib,omitempty"`
}

// RateLimit is a token bucket: RPS requests per second, bursts of Burst.
type RateLimit struct {
	RPS   float64 `yaml:"rps" json:"rps"`
	Burst int     `yaml:"burst" json:"burst"`
}

// VolumeConfig is one volume; Files seeds it (path → content) when it is created empty.
type VolumeConfig struct {
	Slug     string            `yaml:"slug" json:"slug"`
	ReadOnly bool              `yaml:"read_only,omitempty" json:"read_only"`
	Files    map[string]string `yaml:"files,omitempty" json:"files,omitempty"`
	// QuotaMiB caps the bytes the volume may hold; 0 means the org's
	// volume_quota_mib.
	QuotaMiB int64 `yaml:"quota_mib,omitempty" json:"quota_mib,omitempty"`
}

// Dev defaults (DESIGN "Dev defaults").
const (
	DevOrg          = "org_local"
	DevKey          = "sk-us-bG9jYWwtZGV2LWtleQ"
	DevOtherOrg     = "org_other"
	DevOtherKey     = "sk-us-b3RoZXItZGV2LWtleQ"
	DevRWVolume     = "shared-data"
	DevROVolume     = "reference-data"
	DevSigningKeyID = "localbaponi"
	DevSigningKey   = "localbaponi-dev-secret"
)

// DevConfig returns the built-in dev defaults (the same as fixtures/dev.yaml).
func DevConfig() Config {
	return Config{
		Signing: Signing{KeyID: DevSigningKeyID, Secret: DevSigningKey},
		Orgs: []Org{
			{
				ID:   DevOrg,
				Keys: []KeyConfig{{Key: DevKey}},
				Volumes: []VolumeConfig{
					{Slug: DevRWVolume},
					{Slug: DevROVolume, ReadOnly: true, Files: map[string]string{
						"README.txt": "reference-data is a read-only volume of the localbaponi dev fixture.\n",
					}},
				},
			},
			{ID: DevOtherOrg, Keys: []KeyConfig{{Key: DevOtherKey}}},
		},
	}
}

// LoadConfig reads a YAML config file. Unknown fields are errors, so a typo
// does not silently fall back to a default.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("parse config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

var (
	keyIDPattern  = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	apiKeyPattern = regexp.MustCompile(`^sk-[a-z0-9]+-[A-Za-z0-9_-]{8,200}$`)
)

// ValidAPIKey reports whether s has the form of a Baponi key, sk-<region>-<token>.
func ValidAPIKey(s string) bool { return apiKeyPattern.MatchString(s) }

// Validate checks the config: unique org IDs, keys and slugs; well-formed
// names; a signing identity the Azure face can use as an account name.
func (c Config) Validate() error {
	var errs []error
	if c.Signing.KeyID != "" && !keyIDPattern.MatchString(c.Signing.KeyID) {
		errs = append(errs, fmt.Errorf("signing.key_id %q must be 3-24 lowercase letters and digits", c.Signing.KeyID))
	}
	if c.CORS != nil {
		if err := c.CORS.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	orgs := map[string]bool{}
	keys := map[string]bool{}
	for i, o := range c.Orgs {
		if err := store.ValidID(o.ID); err != nil {
			errs = append(errs, fmt.Errorf("orgs[%d].id %q: %w", i, o.ID, err))
		}
		if orgs[o.ID] {
			errs = append(errs, fmt.Errorf("orgs[%d].id %q is repeated", i, o.ID))
		}
		orgs[o.ID] = true
		if o.ThreadQuotaMiB < 0 {
			errs = append(errs, fmt.Errorf("orgs[%d].thread_quota_mib must not be negative", i))
		}
		if o.VolumeQuotaMiB < 0 {
			errs = append(errs, fmt.Errorf("orgs[%d].volume_quota_mib must not be negative", i))
		}
		for j, k := range o.Keys {
			if err := k.validate(); err != nil {
				errs = append(errs, fmt.Errorf("orgs[%d].keys[%d]: %w", i, j, err))
			}
			if keys[k.Key] {
				errs = append(errs, fmt.Errorf("orgs[%d].keys[%d]: key is repeated", i, j))
			}
			keys[k.Key] = true
		}
		slugs := map[string]bool{}
		for j, v := range o.Volumes {
			if err := store.ValidID(v.Slug); err != nil {
				errs = append(errs, fmt.Errorf("orgs[%d].volumes[%d].slug %q: %w", i, j, v.Slug, err))
			}
			if slugs[v.Slug] {
				errs = append(errs, fmt.Errorf("orgs[%d].volumes[%d].slug %q is repeated", i, j, v.Slug))
			}
			slugs[v.Slug] = true
			if v.QuotaMiB < 0 {
				errs = append(errs, fmt.Errorf("orgs[%d].volumes[%d].quota_mib must not be negative", i, j))
			}
			for p := range v.Files {
				if err := store.ValidPath(p); err != nil {
					errs = append(errs, fmt.Errorf("orgs[%d].volumes[%d].files %q: %w", i, j, p, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (k KeyConfig) validate() error {
	switch {
	case !ValidAPIKey(k.Key):
		return fmt.Errorf("key must look like sk-<region>-<token> (token of 8-200 characters of [A-Za-z0-9_-])")
	case k.RateLimit != nil && (k.RateLimit.RPS <= 0 || k.RateLimit.Burst < 1):
		return fmt.Errorf("rate_limit needs rps > 0 and burst >= 1")
	case k.MaxTimeoutSeconds < 0:
		return fmt.Errorf("max_timeout_seconds must not be negative")
	case k.MemoryLimitMiB < 0:
		return fmt.Errorf("memory_limit_mib must not be negative")
	}
	return nil
}
