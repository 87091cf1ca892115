package tenancy

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/localbaponi/localbaponi/emulator/internal/store"
)

// Defaults for a key's execution limits.
const (
	DefaultMaxTimeout  = 300 * time.Second
	DefaultMemoryLimit = 512 << 20
)

// Errors of the registry; the API maps them to its envelope.
var (
	ErrUnknownOrg    = errors.New("unknown organisation")
	ErrUnknownVolume = errors.New("unknown volume")
	ErrUnknownKey    = errors.New("unknown key")
	ErrExists        = errors.New("already exists")
)

// Key is an authenticated caller: an API key and what it may do.
type Key struct {
	Token       string
	Org         string
	MaxTimeout  time.Duration
	MemoryLimit int64
	limit       *RateLimit
	limiter     *rate.Limiter // nil: no rate limit
}

// Volume is one volume of an organisation.
type Volume struct {
	Org      string `json:"org"`
	Slug     string `json:"slug"`
	ReadOnly bool   `json:"read_only"`
	// QuotaMiB is the most the volume may hold, in MiB (its own quota_mib,
	// else the org's volume_quota_mib, else DefaultQuotaMiB).
	QuotaMiB int64 `json:"quota_mib"`
}

// QuotaBytes is the volume's size limit in bytes.
func (v Volume) QuotaBytes() int64 { return v.QuotaMiB << 20 }

// quotas are an organisation's size limits, in MiB.
type quotas struct{ thread, volume int64 }

func orDefault(mib int64) int64 {
	if mib > 0 {
		return mib
	}
	return DefaultQuotaMiB
}

// KeyInfo describes a key for the admin API.
type KeyInfo struct {
	Key       string     `json:"key"`
	Org       string     `json:"org"`
	Revoked   bool       `json:"revoked"`
	RateLimit *RateLimit `json:"rate_limit,omitempty"`
}

// Registry holds orgs, keys and volumes. Safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	orgs    map[string]bool
	keys    map[string]*Key
	revoked map[string]*Key
	volumes map[string]map[string]*Volume // org → slug → volume
	quotas  map[string]quotas             // org → size limits
}

// NewRegistry builds a registry from a validated config.
func NewRegistry(c Config) (*Registry, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r := &Registry{
		orgs:    map[string]bool{},
		keys:    map[string]*Key{},
		revoked: map[string]*Key{},
		volumes: map[string]map[string]*Volume{},
		quotas:  map[string]quotas{},
	}
	for _, o := range c.Orgs {
		r.orgs[o.ID] = true
		r.quotas[o.ID] = quotas{thread: orDefault(o.ThreadQuotaMiB), volume: orDefault(o.VolumeQuotaMiB)}
		r.volumes[o.ID] = map[string]*Volume{}
		for _, k := range o.Keys {
			r.keys[k.Key] = newKey(o.ID, k)
		}
		for _, v := range o.Volumes {
			q := v.QuotaMiB
			if q <= 0 {
				q = r.quotas[o.ID].volume
			}
			r.volumes[o.ID][v.Slug] = &Volume{Org: o.ID, Slug: v.Slug, ReadOnly: v.ReadOnly, QuotaMiB: q}
		}
	}
	return r, nil
}

func newKey(org string, kc KeyConfig) *Key {
	k := &Key{Token: kc.Key, Org: org, MaxTimeout: DefaultMaxTimeout, MemoryLimit: DefaultMemoryLimit}
	if kc.MaxTimeoutSeconds > 0 {
		k.MaxTimeout = time.Duration(kc.MaxTimeoutSeconds) * time.Second
	}
	if kc.MemoryLimitMiB > 0 {
		k.MemoryLimit = int64(kc.MemoryLimitMiB) << 20
	}
	if kc.RateLimit != nil {
		rl := *kc.RateLimit
		k.limit = &rl
		k.limiter = rate.NewLimiter(rate.Limit(rl.RPS), rl.Burst)
	}
	return k
}

// Authenticate returns the key with this token, if it exists and is not revoked.
func (r *Registry) Authenticate(token string) (*Key, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.keys[token]
	return k, ok
}

// Allow takes one request from the key's rate limit at the emulator time now.
// When the bucket is empty it returns false and how long to wait.
func (k *Key) Allow(now time.Time) (bool, time.Duration) {
	if k.limiter == nil {
		return true, 0
	}
	res := k.limiter.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// RetryAfterSeconds rounds a wait up to whole seconds, at least 1, for Retry-After.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// ThreadQuotaBytes is the size limit of each thread of the organisation.
func (r *Registry) ThreadQuotaBytes(org string) int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	q, ok := r.quotas[org]
	if !ok {
		return DefaultQuotaMiB << 20
	}
	return q.thread << 20
}

// HasOrg reports whether the organisation exists.
func (r *Registry) HasOrg(org string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.orgs[org]
}

// Orgs lists the organisations, sorted.
func (r *Registry) Orgs() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.orgs))
	for o := range r.orgs {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}

// Volume returns one volume of an organisation.
func (r *Registry) Volume(org, slug string) (Volume, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.volumes[org][slug]
	if !ok {
		return Volume{}, false
	}
	return *v, true
}

// Volumes lists an organisation's volumes ("" for all), sorted by org and slug.
func (r *Registry) Volumes(org string) []Volume {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := []Volume{}
	for o, vs := range r.volumes {
		if org != "" && o != org {
			continue
		}
		for _, v := range vs {
			out = append(out, *v)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Org != out[j].Org {
			return out[i].Org < out[j].Org
		}
		return out[i].Slug < out[j].Slug
	})
	return out
}

// CreateVolume adds a volume to an existing organisation.
func (r *Registry) CreateVolume(org, slug string, readOnly bool) (Volume, error) {
	if err := store.ValidID(slug); err != nil {
		return Volume{}, fmt.Errorf("slug: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.orgs[org] {
		return Volume{}, fmt.Errorf("%w %q", ErrUnknownOrg, org)
	}
	if _, ok := r.volumes[org][slug]; ok {
		return Volume{}, fmt.Errorf("volume %q of %q: %w", slug, org, ErrExists)
	}
	q, ok := r.quotas[org]
	if !ok {
		q = quotas{thread: DefaultQuotaMiB, volume: DefaultQuotaMiB}
	}
	v := &Volume{Org: org, Slug: slug, ReadOnly: readOnly, QuotaMiB: q.volume}
	r.volumes[org][slug] = v
	return *v, nil
}

// SetReadOnly switches a volume between read-write and read-only.
func (r *Registry) SetReadOnly(org, slug string, readOnly bool) (Volume, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.volumes[org][slug]
	if !ok {
		return Volume{}, fmt.Errorf("%w %q of %q", ErrUnknownVolume, slug, org)
	}
	v.ReadOnly = readOnly
	return *v, nil
}

// CreateOrg adds an organisation (no error if it exists).
func (r *Registry) CreateOrg(org string) error {
	if err := store.ValidID(org); err != nil {
		return fmt.Errorf("org: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.orgs[org] {
		r.orgs[org] = true
		r.volumes[org] = map[string]*Volume{}
		r.quotas[org] = quotas{thread: DefaultQuotaMiB, volume: DefaultQuotaMiB}
	}
	return nil
}

// CreateKey adds a key to an existing organisation. An empty kc.Key gets a
// new random one.
func (r *Registry) CreateKey(org string, kc KeyConfig) (KeyInfo, error) {
	if kc.Key == "" {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return KeyInfo{}, fmt.Errorf("create key: %w", err)
		}
		kc.Key = "sk-us-" + base64.RawURLEncoding.EncodeToString(b)
	}
	if err := kc.validate(); err != nil {
		return KeyInfo{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.orgs[org] {
		return KeyInfo{}, fmt.Errorf("%w %q", ErrUnknownOrg, org)
	}
	if _, ok := r.keys[kc.Key]; ok {
		return KeyInfo{}, fmt.Errorf("key: %w", ErrExists)
	}
	if _, ok := r.revoked[kc.Key]; ok {
		return KeyInfo{}, fmt.Errorf("key was revoked and cannot be reused: %w", ErrExists)
	}
	k := newKey(org, kc)
	r.keys[kc.Key] = k
	return k.info(false), nil
}

// RevokeKey revokes a key: it answers 401 from now on.
func (r *Registry) RevokeKey(token string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, ok := r.keys[token]
	if !ok {
		return ErrUnknownKey
	}
	delete(r.keys, token)
	r.revoked[token] = k
	return nil
}

// Keys lists every key, live and revoked, sorted by org then key.
func (r *Registry) Keys() []KeyInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := []KeyInfo{}
	for _, k := range r.keys {
		out = append(out, k.info(false))
	}
	for _, k := range r.revoked {
		out = append(out, k.info(true))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Org != out[j].Org {
			return out[i].Org < out[j].Org
		}
		return out[i].Key < out[j].Key
	})
	return out
}

func (k *Key) info(revoked bool) KeyInfo {
	return KeyInfo{Key: k.Token, Org: k.Org, Revoked: revoked, RateLimit: k.limit}
}
