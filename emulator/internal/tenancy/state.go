package tenancy

import (
	"sort"
	"time"
)

// Export returns the registry's orgs, keys and volumes as a config (no
// signing identity, no seed files; revoked keys left out), sorted, so that
// NewRegistry or Replace rebuilds the same registry.
func (r *Registry) Export() Config {
	r.mu.RLock()
	defer r.mu.RUnlock()
	orgs := make([]string, 0, len(r.orgs))
	for o := range r.orgs {
		orgs = append(orgs, o)
	}
	sort.Strings(orgs)
	byOrg := map[string][]KeyConfig{}
	for _, k := range r.keys {
		byOrg[k.Org] = append(byOrg[k.Org], k.config())
	}
	var c Config
	for _, o := range orgs {
		keys := byOrg[o]
		sort.Slice(keys, func(i, j int) bool { return keys[i].Key < keys[j].Key })
		org := Org{ID: o, Keys: keys}
		for _, v := range r.volumes[o] {
			org.Volumes = append(org.Volumes, VolumeConfig{Slug: v.Slug, ReadOnly: v.ReadOnly})
		}
		sort.Slice(org.Volumes, func(i, j int) bool { return org.Volumes[i].Slug < org.Volumes[j].Slug })
		c.Orgs = append(c.Orgs, org)
	}
	return c
}

// config is the key as a KeyConfig.
func (k *Key) config() KeyConfig {
	kc := KeyConfig{Key: k.Token}
	if k.limit != nil {
		rl := *k.limit
		kc.RateLimit = &rl
	}
	if k.MaxTimeout != DefaultMaxTimeout {
		kc.MaxTimeoutSeconds = int(k.MaxTimeout / time.Second)
	}
	if k.MemoryLimit != DefaultMemoryLimit {
		kc.MemoryLimitMiB = int(k.MemoryLimit >> 20)
	}
	return kc
}

// Replace makes the registry what c says (the whole of it), or changes
// nothing if c does not validate.
func (r *Registry) Replace(c Config) error {
	n, err := NewRegistry(c)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.orgs, r.keys, r.revoked, r.volumes = n.orgs, n.keys, n.revoked, n.volumes
	return nil
}

// ResetOrg makes one org what c says of it: its keys (revoked ones back,
// added ones gone, rate limits fresh) and volumes as configured; an org
// that c does not have is removed with its keys and volumes.
func (r *Registry) ResetOrg(c Config, org string) error {
	var oc *Org
	for i := range c.Orgs {
		if c.Orgs[i].ID == org {
			oc = &c.Orgs[i]
		}
	}
	sub := Config{Signing: c.Signing}
	if oc != nil {
		sub.Orgs = []Org{*oc}
	}
	n, err := NewRegistry(sub)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for tok, k := range r.keys {
		if k.Org == org {
			delete(r.keys, tok)
		}
	}
	for tok, k := range r.revoked {
		if k.Org == org {
			delete(r.revoked, tok)
		}
	}
	delete(r.orgs, org)
	delete(r.volumes, org)
	if oc == nil {
		return nil
	}
	for tok, k := range n.keys {
		if other, taken := r.keys[tok]; taken && other.Org != org {
			continue // a key another org has taken since: keep theirs
		}
		r.keys[tok] = k
	}
	r.orgs[org] = true
	r.volumes[org] = n.volumes[org]
	return nil
}
