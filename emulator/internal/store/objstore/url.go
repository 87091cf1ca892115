// Store URLs: scheme://BUCKET[/PREFIX]?PARAMETERS, the form --store takes.
package objstore

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Location is what a store URL names.
type Location struct {
	Bucket string
	// Prefix is "" or ends in "/".
	Prefix string
	// Params are the URL's parameters (the first value of each).
	Params map[string]string
}

// ParseURL parses raw as scheme://BUCKET[/PREFIX]?PARAMETERS, where known
// are the parameters it may have; a parameter "endpoint" must be an
// http(s) URL. Errors start with name ("gcs store") and show form, the
// URL's shape (gcs://BUCKET[/PREFIX]?endpoint=URL).
func ParseURL(name, scheme, form, raw string, known ...string) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("%s: %q: %w", name, raw, err)
	}
	if u.Scheme != scheme {
		return Location{}, fmt.Errorf("%s: %q is not %s", name, raw, form)
	}
	if u.Host == "" {
		return Location{}, fmt.Errorf("%s: %q: bucket is missing (want %s)", name, raw, form)
	}
	loc := Location{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), Params: map[string]string{}}
	if loc.Prefix != "" {
		loc.Prefix += "/"
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Location{}, fmt.Errorf("%s: %q: parameters: %w", name, raw, err)
	}
	for k := range q {
		if !slices.Contains(known, k) {
			return Location{}, fmt.Errorf("%s: %q: unknown parameter %q (known: %s)", name, raw, k, strings.Join(known, ", "))
		}
		loc.Params[k] = q.Get(k)
	}
	if ep := loc.Params["endpoint"]; ep != "" {
		if e, err := url.Parse(ep); err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			return Location{}, fmt.Errorf("%s: %q: endpoint %q is not an http(s) URL", name, raw, ep)
		}
	}
	return loc, nil
}
