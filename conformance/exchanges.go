package conformance

import (
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

// Exchange is one request a check sent and the shape of what came back:
// what the drift report (compare) sets side by side for two targets.
type Exchange struct {
	Method string `json:"method"`
	// Target is the API path ("/v1/files/list"), or "storage" for a
	// signed URL.
	Target string `json:"target"`
	Status int    `json:"status"`
	// Code is the envelope's error code, or the provider's XML <Code>.
	Code string `json:"code,omitempty"`
	// Shape is the JSON body's structure: field names and JSON types,
	// e.g. {"deleted":bool}; arrays show their first element.
	Shape string `json:"shape,omitempty"`
	// Err is a transport error (no response).
	Err string `json:"error,omitempty"`
}

// maxExchanges bounds what one check records.
const maxExchanges = 40

// record keeps r as one of the check's exchanges.
func (c *checkRun) record(r *Response) {
	if r == nil || r.Req == nil {
		return
	}
	x := Exchange{Method: r.Req.Method, Target: "storage", Status: r.Status}
	if u, err := url.Parse(r.Req.URL); err == nil && (strings.HasPrefix(u.Path, "/v1/") || strings.HasPrefix(u.Path, "/_emulator/")) {
		x.Target = u.Path
		switch {
		case strings.HasPrefix(u.Path, "/v1/executions/"):
			x.Target = "/v1/executions/{trace_id}"
		case strings.HasPrefix(u.Path, "/_emulator/keys/"):
			x.Target = "/_emulator/keys/{key}"
		case strings.HasPrefix(u.Path, "/_emulator/volumes/"):
			x.Target = "/_emulator/volumes/{org}/{slug}"
		}
	}
	if r.Err != nil {
		x.Err = r.Err.Error()
	} else if r.Status >= 400 {
		x.Code = errorCode(r)
		if x.Code == "" {
			x.Code = xmlCode(r.Body)
		}
	}
	var v any
	if r.Err == nil && len(r.Body) > 0 && json.Unmarshal(r.Body, &v) == nil {
		x.Shape = shapeOf(v, 3)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rec.Exchanges) < maxExchanges {
		c.rec.Exchanges = append(c.rec.Exchanges, x)
	}
}

// shapeOf describes v's JSON structure down to depth levels.
func shapeOf(v any, depth int) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		if len(t) == 0 || depth == 0 {
			return "[]"
		}
		return "[" + shapeOf(t[0], depth-1) + "]"
	case map[string]any:
		if depth == 0 {
			return "{}"
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(k + ":" + shapeOf(t[k], depth-1))
		}
		b.WriteString("}")
		return b.String()
	}
	return "?"
}
