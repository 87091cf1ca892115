package conformance

import "net/http"

// endpoint is one Files API operation with a valid body to start from.
type endpoint struct {
	name   string
	method string
	path   string
	// body is a valid request for sp (path "conf.txt" where one is needed).
	body func(sp space) map[string]any
}

// filesEndpoints are the four Files API operations.
var filesEndpoints = []endpoint{
	{"list", http.MethodPost, "/v1/files/list", func(sp space) map[string]any { return sp.body() }},
	{"upload_url", http.MethodPost, "/v1/files/upload_url", func(sp space) map[string]any {
		return sp.body("path", "conf.txt", "content_length", 1, "content_type", "text/plain")
	}},
	{"download_url", http.MethodPost, "/v1/files/download_url", func(sp space) map[string]any { return sp.body("path", "conf.txt") }},
	{"delete", http.MethodDelete, "/v1/files", func(sp space) map[string]any { return sp.body("path", "conf.txt") }},
}

// pathEndpoints are the operations that take a file path.
var pathEndpoints = filesEndpoints[1:]

func without(m map[string]any, k string) map[string]any {
	out := make(map[string]any, len(m))
	for kk, v := range m {
		if kk != k {
			out[kk] = v
		}
	}
	return out
}

func with(m map[string]any, k string, v any) map[string]any {
	out := without(m, k)
	out[k] = v
	return out
}
