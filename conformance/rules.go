package conformance

// Levels of a rule (SPEC "Levels").
const (
	// DOC rules are stated by the public documentation and fail any target.
	DOC = "DOC"
	// EMU rules are this project's decisions: they fail only under profile
	// emulator and are recorded as observed otherwise.
	EMU = "EMU"
)

// Rule is one rule of SPEC.md sections 1–3.
type Rule struct {
	ID    string
	Level string
	Title string
}

// Rules lists every rule of SPEC.md sections 1–3; each has at least one
// check (rules_test.go keeps it so).
func Rules() []Rule {
	return []Rule{
		{"A-1", DOC, "Bearer key required; missing/other scheme/unknown key → 401 unauthorized"},
		{"A-2", DOC, "keys belong to one organisation; threads and volumes are scoped to it"},
		{"A-3", EMU, "another organisation's thread or volume → 404 not_found, never 403"},
		{"E-1", DOC, `error envelope {"error","message"} with Content-Type application/json`},
		{"E-2", EMU, "unknown route 404, wrong method 405 + Allow, bad JSON 400 naming the field, body over 4 MiB 413"},
		{"E-3", EMU, "429 carries Retry-After; no rate limit unless configured"},
		{"S-1", DOC, `source is "thread" or "volume"; source and id required and non-empty`},
		{"S-2", DOC, "/home/baponi/a/b.csv is path a/b.csv in the Files API"},
		{"S-3", DOC, "volumes are read-write or read-only and shared by the organisation"},
		{"S-4", EMU, "a thread exists once code ran in it or a file was uploaded to it"},
		{"P-1", EMU, "paths: relative, /-separated, 1–1024 bytes, no . .. empty segments, backslash or control characters"},
		{"P-2", DOC, "thread IDs and volume slugs [A-Za-z0-9._-]{1,128}; others 400"},
		{"L-1", DOC, "list entries {name, path, size, modified, is_directory}; full paths; RFC 3339 UTC"},
		{"L-2", DOC, "without path the listing is recursive and includes directories"},
		{"L-3", DOC, "path is a string prefix of the full path"},
		{"L-4", EMU, "sorted by path; directory modified is the newest of its contents; no match gives []"},
		{"L-5", DOC, "unknown thread or volume → 404 not_found"},
		{"U-1", DOC, `upload_url → {url, method "PUT", headers (Content-Type), expires_at}`},
		{"U-2", DOC, "expires_at RFC 3339 UTC, 15 minutes after issue; the URL stops working after it"},
		{"U-3", DOC, "content_length required integer 0 … 10737418240; over → 400 naming the limit"},
		{"U-4", DOC, "read-only volume → 403 forbidden"},
		{"U-5", EMU, "the URL takes exactly content_length bytes with the signed Content-Type; refusals in the provider's format"},
		{"U-6", DOC, "an interrupted upload leaves nothing; re-issued URL works; replacement is atomic"},
		{"D-1", DOC, `download_url → {url, method "GET", expires_at}`},
		{"D-2", DOC, "missing file, unknown thread or volume → 404 (directory → 404, EMU)"},
		{"D-3", EMU, "GET returns exactly the stored bytes with Content-Length and Content-Type; Range works; expiry/tamper as U-5"},
		{"X-1", DOC, `delete → {"deleted": true}; the file is gone from list and download`},
		{"X-2", DOC, "read-only volume → 403; missing file → 404"},
		{"X-3", EMU, "a directory path → 400; deletion is not recursive"},
		{"R-1", DOC, "execute → {success, stdout, stderr, exit_code}; success == (exit_code == 0)"},
		{"R-2", DOC, "language python (default), node, bash, else 400; code 1 byte … 1 MiB, else 400"},
		{"R-3", DOC, "with thread_id, /home/baponi is the thread's storage and persists; without, empty and discarded"},
		{"R-4", DOC, "a second execution on a busy thread → 409 conflict"},
		{"R-5", EMU, "timeout 1 … max (300), default 30; on timeout the process tree is killed, status timeout"},
		{"R-6", EMU, "volumes at /volumes/<slug>, read-only ones read-only; no network; other threads invisible"},
		{"R-7", EMU, "env_vars set; reserved names → 400 naming them"},
		{"R-8", DOC, "NDJSON streaming, async with webhook, GET /v1/executions/{trace_id}"},
	}
}

// ruleLevel returns the SPEC level of a rule ID, or "".
func ruleLevel(id string) string {
	for _, r := range Rules() {
		if r.ID == id {
			return r.Level
		}
	}
	return ""
}
