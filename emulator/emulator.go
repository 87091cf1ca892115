// Package emulator runs a local emulator of the Baponi Files API (and the
// sandbox execute endpoint) in-process, like net/http/httptest or miniredis:
//
//	emu := emulator.RunT(t)                 // 127.0.0.1:0, dev fixture, cleaned up with t
//	emu.Clock().Advance(16 * time.Minute)   // every signed URL issued so far has now expired
//	emu.WriteFile(emulator.Thread("t1"), "input.json", data)
//
// The same server is the localbaponi binary.
package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/localbaponi/localbaponi/emulator/internal/api"
	"github.com/localbaponi/localbaponi/emulator/internal/clock"
	"github.com/localbaponi/localbaponi/emulator/internal/control"
	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/faults"
	"github.com/localbaponi/localbaponi/emulator/internal/journal"
	"github.com/localbaponi/localbaponi/emulator/internal/store"
	"github.com/localbaponi/localbaponi/emulator/internal/store/mirror"
	"github.com/localbaponi/localbaponi/emulator/internal/tenancy"
)

// Version is the emulator's version, reported by /_emulator/info.
const Version = "0.1.0"

// Clock is the emulator's clock: signed-URL expiry, expires_at, modified
// times and rate limits all read it. Advance and Set move it, also while
// requests are in flight.
type Clock = clock.Clock

// NewClock returns a clock that follows the real time until moved.
func NewClock() *Clock { return clock.NewReal() }

// NewFrozenClock returns a clock that stands at t until moved.
func NewFrozenClock(t time.Time) *Clock { return clock.NewFrozen(t) }

// Config is the tenants' configuration: orgs, keys, volumes and the signing
// identity. See fixtures/dev.yaml, and ExampleConfig for one built in Go.
type Config = tenancy.Config

// Org is one organisation of a Config: its ID, API keys and volumes.
type Org = tenancy.Org

// KeyConfig is one API key of an Org, with its rate limit and execution
// limits.
type KeyConfig = tenancy.KeyConfig

// RateLimit is a key's token bucket: RPS requests per second, bursts of
// Burst (SPEC E-3).
type RateLimit = tenancy.RateLimit

// VolumeConfig is one volume of an Org: its slug, whether it is read-only,
// and the files it is seeded with (path → content) when it is created empty.
type VolumeConfig = tenancy.VolumeConfig

// Signing is the identity that signed URLs are made with.
type Signing = tenancy.Signing

// CORSConfig is the config's cors section: the cross-origin rule of the
// signed-URL data plane on every face (nil: loopback origins only).
type CORSConfig = tenancy.CORSConfig

// DevConfig returns the built-in dev defaults.
func DevConfig() Config { return tenancy.DevConfig() }

// LoadConfig reads a YAML config file.
func LoadConfig(path string) (Config, error) { return tenancy.LoadConfig(path) }

// The dev defaults (DESIGN "Dev defaults").
const (
	DevAPIKey        = tenancy.DevKey
	DevOtherAPIKey   = tenancy.DevOtherKey
	DevOrg           = tenancy.DevOrg
	DevOtherOrg      = tenancy.DevOtherOrg
	DevRWVolume      = tenancy.DevRWVolume
	DevROVolume      = tenancy.DevROVolume
	DevSigningKeyID  = tenancy.DevSigningKeyID
	DevSigningSecret = tenancy.DevSigningKey
	// Bucket is the bucket (or container) name in signed URLs.
	Bucket = face.Bucket
)

// DefaultCloseTimeout is how long Close waits for requests in flight when
// Options.CloseTimeout is zero.
const DefaultCloseTimeout = 5 * time.Second

// Options configure an emulator. The zero value is a working emulator on
// 127.0.0.1 with a free port, the dev defaults, the GCS face, a temporary
// data directory and the real clock.
type Options struct {
	// Addr is the listen address; default "127.0.0.1:0".
	Addr string
	// ExternalURL, if set, is the base URL that every signed URL (and URL
	// in a response) starts with, whoever asks. Unset, each request gets
	// URLs with the scheme and host it used (its Host header), so a client
	// that reached the emulator as localhost, 127.0.0.1, a compose service
	// name or a mapped port gets URLs that work for it.
	ExternalURL string
	// TrustForwardedHeaders takes the client's host and scheme from
	// X-Forwarded-Host and X-Forwarded-Proto (set by a reverse proxy in
	// front) for the URLs and for verifying signed URLs. Off, those
	// headers are ignored.
	TrustForwardedHeaders bool
	// DataDir keeps the data across restarts; default a temporary directory
	// removed by Close. For the file store only.
	DataDir string
	// Store says where the bytes of threads and volumes are kept: "" or
	// "file" (the file store, in DataDir: the default and the fastest), or
	// "s3://BUCKET[/PREFIX]?endpoint=URL&region=R" (an S3 bucket: AWS,
	// MinIO, ...; credentials as for any AWS tool: environment, shared
	// config and credentials files with $AWS_PROFILE, SSO, instance roles;
	// path-style requests when an endpoint is given), or
	// "gcs://BUCKET[/PREFIX]?endpoint=URL" (a GCS bucket: with an endpoint,
	// a server speaking GCS's JSON API reached without credentials, such
	// as fake-gcs-server; without, GCS with Application Default
	// Credentials). With a remote store, code runs in a local copy of its spaces,
	// fetched before and pushed after each run; snapshots are staged
	// under a prefix of the bucket and switched in by server-side copies.
	Store string
	// Backend is the storage face: "gcs" (default), "s3" or "azure".
	Backend string
	// Config replaces the dev defaults (orgs, keys, volumes, signing identity).
	Config *Config
	// SigningKeyID and SigningSecret override Config.Signing.
	SigningKeyID, SigningSecret string
	// StrictProviderLimits makes the face refuse what its provider would
	// (S3: a single PUT over 5 GiB).
	StrictProviderLimits bool
	// AdminToken, if set, is required on /_emulator/ routes other than health.
	AdminToken string
	// Clock is the emulator's clock; default NewClock().
	Clock *Clock
	// Sandbox configures code execution.
	Sandbox SandboxOptions
	// Logger receives the emulator's logs; default discards them.
	Logger *slog.Logger
	// Listener, if set, is used instead of listening on Addr.
	Listener net.Listener
	// CloseTimeout bounds how long Close waits for requests still being
	// served once executions are cancelled (an upload in progress, a
	// download to a slow client); then it closes their connections and
	// returns an error wrapping context.DeadlineExceeded. Default 5 s.
	CloseTimeout time.Duration
	// BodyIdleTimeout is how long a request body (a signed-URL PUT on any
	// face, a /v1 or admin JSON body) may send nothing before the emulator
	// gives up on it and discards the partial upload; the deadline moves
	// with every byte that arrives, so slow uploads of any size go on.
	// Zero means 60 s; a negative value turns the timeout off.
	BodyIdleTimeout time.Duration
	// JournalSize bounds the request journal (default 10 000 entries;
	// negative keeps none).
	JournalSize int
	// CaptureBodies keeps the bodies of /v1 requests (up to 64 KiB) in the
	// journal.
	CaptureBodies bool
	// Faults are fault rules in force from the start.
	Faults []FaultRule
	// Snapshot, if set, is a snapshot archive (GET /_emulator/snapshot,
	// WriteSnapshot) loaded at start; Reset goes back to it.
	Snapshot string
}

// Emulator is a running emulator. Close it when done.
type Emulator struct {
	opts    Options
	url     string
	clock   *Clock
	store   store.Backend
	files   *store.Store // the file store; nil with a remote store
	local   *store.Store // where code runs: files, or a remote store's local copy
	mirror  *mirror.Mirror
	tenants *tenancy.Registry
	face    face.Face
	srv     *http.Server
	fresh   freshConns // connections that have not sent a request yet
	ln      net.Listener
	exec    *execHandle
	log     *slog.Logger
	cfg     Config // the tenants' config it started with
	faults  *faults.Engine
	journal *journal.Journal
	ctl     *control.Controller

	closeOnce sync.Once
	closeErr  error
	served    chan struct{}
}

// Start starts an emulator and returns once it is ready to serve.
func Start(opts Options) (*Emulator, error) {
	e := &Emulator{opts: opts, served: make(chan struct{})}
	if err := e.start(); err != nil {
		e.shutdown()
		return nil, errors.Join(err, e.closeErr)
	}
	return e, nil
}

func (e *Emulator) start() error {
	o := &e.opts
	e.log = o.Logger
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.clock = o.Clock
	if e.clock == nil {
		e.clock = clock.NewReal()
	}
	cfg := tenancy.DevConfig()
	if o.Config != nil {
		cfg = *o.Config
	}
	if o.SigningKeyID != "" {
		cfg.Signing.KeyID = o.SigningKeyID
	}
	if o.SigningSecret != "" {
		cfg.Signing.Secret = o.SigningSecret
	}
	if cfg.Signing.KeyID == "" {
		cfg.Signing.KeyID = tenancy.DevSigningKeyID
	}
	if cfg.Signing.Secret == "" {
		cfg.Signing.Secret = tenancy.DevSigningKey
	}
	e.cfg = cfg
	backend := o.Backend
	if backend == "" {
		backend = "gcs"
	}
	var err error
	if e.tenants, err = tenancy.NewRegistry(cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := e.openStore(); err != nil {
		return err
	}
	if err := e.startRunner(); err != nil {
		return err
	}
	if err := e.seedVolumes("", true); err != nil { // a kept data dir keeps what its volumes hold
		return err
	}

	e.ln = o.Listener
	if e.ln == nil {
		addr := o.Addr
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		if e.ln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
	}
	e.url = "http://" + e.ln.Addr().String()
	external := strings.TrimSuffix(o.ExternalURL, "/")
	if external == "" {
		external = e.url
	}
	e.face, err = newFace(backend, face.Config{
		Store: e.store, Clock: e.clock, BaseURL: external,
		KeyID: cfg.Signing.KeyID, Secret: cfg.Signing.Secret,
		StrictProviderLimits: o.StrictProviderLimits,
		Access:               e.access,
		CORS:                 corsPolicy(cfg.CORS),
		Logger:               e.log.With("face", backend),
	})
	if err != nil {
		return err
	}
	server := &api.Server{
		Tenants: e.tenants, Store: e.store, Clock: e.clock, Face: e.face,
		Log: e.log, AdminToken: o.AdminToken, Info: e.info, Version: Version,
		RequestURLs: o.ExternalURL == "", TrustForwardedHeaders: o.TrustForwardedHeaders,
	}
	if u, err := url.Parse(o.ExternalURL); err == nil && o.ExternalURL != "" {
		server.MCPAllowedHosts = []string{u.Hostname()}
	}
	if err := e.startExec(server); err != nil {
		return err
	}
	idle := o.BodyIdleTimeout
	if idle == 0 {
		idle = api.DefaultBodyIdleTimeout
	}
	if err := e.startControl(server, backend, idle); err != nil {
		return err
	}
	e.srv = &http.Server{
		Handler:           e.ctl.Handler(server.Handler()), // bodies get the idle timeout there
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelDebug),
		ConnState:         e.fresh.track,
	}
	go func() {
		defer close(e.served)
		if err := e.srv.Serve(e.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("serve", "err", err)
		}
	}()
	return nil
}

// access tells a face whether a space exists and may be written.
func (e *Emulator) access(sp store.Space, write bool) error {
	switch sp.Kind {
	case store.Volume:
		v, ok := e.tenants.Volume(sp.Org, sp.ID)
		if !ok {
			return face.ErrNoSpace
		}
		if write && v.ReadOnly {
			return face.ErrReadOnly
		}
	case store.Thread:
		if !e.tenants.HasOrg(sp.Org) {
			return face.ErrNoSpace
		}
	}
	return nil
}

func (e *Emulator) info() map[string]any {
	m := map[string]any{"version": Version, "bucket": face.Bucket, "external_url": e.ExternalURL()}
	m["store"] = "file"
	if e.files == nil {
		m["store"] = e.opts.Store
	}
	e.execInfo(m)
	e.controlInfo(m)
	return m
}

// URL returns the emulator's base URL, e.g. "http://127.0.0.1:41234".
func (e *Emulator) URL() string { return e.url }

// ExternalURL returns Options.ExternalURL if it was set, else URL(). Unless
// Options.ExternalURL was set, signed URLs use the scheme and host of the
// request they answer, and this is only their fallback.
func (e *Emulator) ExternalURL() string {
	if e.opts.ExternalURL != "" {
		return strings.TrimSuffix(e.opts.ExternalURL, "/")
	}
	return e.url
}

// APIKey returns the first key of the org_local organisation (the dev key
// sk-us-bG9jYWwtZGV2LWtleQ unless Options.Config says otherwise).
func (e *Emulator) APIKey() string { return e.firstKey(0) }

// OtherAPIKey returns the first key of the second organisation of the config
// (org_other in the dev defaults), or "" if there is none.
func (e *Emulator) OtherAPIKey() string { return e.firstKey(1) }

func (e *Emulator) firstKey(i int) string {
	if i < len(e.cfg.Orgs) && len(e.cfg.Orgs[i].Keys) > 0 {
		return e.cfg.Orgs[i].Keys[0].Key
	}
	return ""
}

// SigningIdentity returns the key id and secret that signed URLs are made
// with (the GCS HMAC access id, S3 access key id, Azure account name).
func (e *Emulator) SigningIdentity() (keyID, secret string) {
	return e.cfg.Signing.KeyID, e.cfg.Signing.Secret
}

// Clock returns the emulator's clock.
func (e *Emulator) Clock() *Clock { return e.clock }

// Backend returns the name of the storage face: "gcs", "s3" or "azure".
func (e *Emulator) Backend() string { return e.face.Name() }

// StoreURL returns where the bytes are kept: "file" or Options.Store.
func (e *Emulator) StoreURL() string {
	if e.files != nil {
		return "file"
	}
	return e.opts.Store
}

// DataDir returns the directory that holds the emulator's data; "" with a
// remote store (Options.Store).
func (e *Emulator) DataDir() string {
	if e.files == nil {
		return ""
	}
	return e.files.Dir()
}

// Close stops the emulator, as httptest.Server.Close does, and removes a
// temporary data directory. Running executions are cancelled first (their
// records say cancelled and their requests are answered), then the server
// stops accepting, closes the connections that have not sent a request, and
// waits for the requests still in flight, at most Options.CloseTimeout; a request still running then is cut off and Close
// reports it. Every error met on the way is returned; Close may be called
// more than once and returns the same error.
func (e *Emulator) Close() error {
	e.closeOnce.Do(e.shutdown)
	return e.closeErr
}

func (e *Emulator) shutdown() {
	// Executions first: a sync or streamed execution holds its request open
	// until the code ends, which the HTTP shutdown would wait for.
	errs := []error{e.stopExec()}
	if e.srv != nil {
		timeout := e.opts.CloseTimeout
		if timeout <= 0 {
			timeout = DefaultCloseTimeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		e.fresh.closeAll() // no request on them to wait for
		if err := e.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("emulator: close: requests still running after %s were cut off: %w", timeout, err))
			if err := e.srv.Close(); err != nil {
				errs = append(errs, fmt.Errorf("emulator: close connections: %w", err))
			}
		}
		cancel()
		<-e.served
	} else if e.ln != nil {
		if err := e.ln.Close(); err != nil {
			errs = append(errs, fmt.Errorf("emulator: close listener: %w", err))
		}
	}
	if e.store != nil {
		if err := e.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("emulator: close store: %w", err))
		}
	}
	if e.local != nil && e.local != e.files {
		if err := e.local.Close(); err != nil {
			errs = append(errs, fmt.Errorf("emulator: close the local copy of the store: %w", err))
		}
	}
	e.closeErr = errors.Join(errs...)
}

// corsPolicy turns the config's cors section into the faces' policy; nil
// (no section) keeps the loopback-only default.
func corsPolicy(c *tenancy.CORSConfig) *face.CORS {
	if c == nil {
		return nil
	}
	p := face.DefaultCORS()
	p.Origins = c.Origins
	if len(c.Methods) > 0 {
		p.Methods = c.Methods
	}
	if len(c.Headers) > 0 {
		p.Headers = c.Headers
	}
	p.ExposeHeaders = c.ExposeHeaders
	if c.MaxAge != nil {
		p.MaxAge = time.Duration(*c.MaxAge) * time.Second
	}
	return p
}
