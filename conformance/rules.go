package conformance

//go:generate go run ./internal/gen
//go:generate go test -run TestClausesMarkdown -update-clauses .

import (
	"fmt"
	"strings"
)

// Levels of a rule (SPEC "Levels").
const (
	// DOC rules are stated by the public documentation and fail any target.
	DOC = "DOC"
	// EMU rules are this project's decisions: they fail only under profile
	// emulator and are recorded as observed otherwise.
	EMU = "EMU"
)

// Rule is one rule of the contract: the single source of RULES.md, of
// the rule IDs checks cite, and of their levels and wording.
type Rule struct {
	ID    string
	Level string
	// Section is where the rule stands in the contract, e.g.
	// "3. Endpoints — POST /v1/files/list — body {source, id, path?}".
	Section string
	// Title is the rule in one line (reports).
	Title string
	// Text is the rule's full wording (Markdown).
	Text string
	// Clauses split Text into the parts that can break one at a time; each
	// has a check and a deviation proving the check fails (CLAUSES.md).
	Clauses []Clause
}

// Clause is one independently breakable part of a rule: a status, a
// field, a format, an ordering, one side of an "and", an actor.
type Clause struct {
	// ID is the rule ID, a dot and a letter: "R-8.c".
	ID   string
	Text string
}

// Rules lists every rule of the contract in order; each has at least one
// check (rules_test.go keeps it so).
func Rules() []Rule {
	rules := []Rule{
		{ID: "A-1", Level: DOC, Section: "1. Transport, auth, errors",
			Title: "Bearer key required; missing/other scheme/unknown key → 401 unauthorized",
			Text:  "Every `/v1/...` request needs `Authorization: Bearer <key>`. Keys look like `sk-<region>-<token>` (`sk-us-...`). Missing header, other scheme, unknown or revoked key → **401** `unauthorized`."},
		{ID: "A-2", Level: DOC, Section: "1. Transport, auth, errors",
			Title: "keys belong to one organisation; threads and volumes are scoped to it",
			Text:  "A key belongs to one organisation. Threads and volumes are scoped to the organisation (the seed's storage layout is `orgs/<org>/threads/<thread_id>/<path>`)."},
		{ID: "A-3", Level: EMU, Section: "1. Transport, auth, errors",
			Title: "another organisation's thread or volume → 404 not_found, never 403",
			Text:  "A key of organisation B asking for a thread or volume of organisation A gets **404** `not_found` (never 403: existence is not leaked)."},
		{ID: "E-1", Level: DOC, Section: "1. Transport, auth, errors",
			Title: "error envelope {\"error\",\"message\"} with Content-Type application/json",
			Text:  "Every error body is JSON `{\"error\": \"<code>\", \"message\": \"<human text>\"}` with `Content-Type: application/json`. Codes: 400 `validation_error`, 401 `unauthorized`, 403 `forbidden`, 404 `not_found`, 409 `conflict`, 429 `rate_limited`."},
		{ID: "E-2", Level: EMU, Section: "1. Transport, auth, errors",
			Title: "unknown route 404, wrong method 405 + Allow, bad JSON 400 naming the field, body over 4 MiB 413",
			Text:  "Also enveloped: unknown route → 404 `not_found`; wrong method → 405 `method_not_allowed` with `Allow`; body not JSON / not valid UTF-8 / wrong types / unknown `source` / a key that differs from a known field only in case → 400 `validation_error` naming the field; body over 4 MiB → 413 `payload_too_large`; panics → 500 `internal_error` (and the server keeps serving). `message` names the offending field and, for limits, the limit."},
		{ID: "E-3", Level: EMU, Section: "1. Transport, auth, errors",
			Title: "429 carries Retry-After; no rate limit unless configured",
			Text:  "429 carries `Retry-After` (seconds). Rate limits are off unless configured per key (requests per second + burst)."},
		{ID: "S-1", Level: DOC, Section: "2. Sources, paths",
			Title: "source is \"thread\" or \"volume\"; source and id required and non-empty",
			Text:  "`source` is `\"thread\"` or `\"volume\"`; `id` is the thread ID or volume slug. Both required, non-empty."},
		{ID: "S-2", Level: DOC, Section: "2. Sources, paths",
			Title: "/home/baponi/a/b.csv is path a/b.csv in the Files API",
			Text:  "Thread storage is `/home/baponi` inside the sandbox; a file `/home/baponi/a/b.csv` has path `a/b.csv` in the Files API."},
		{ID: "S-3", Level: DOC, Section: "2. Sources, paths",
			Title: "volumes are read-write or read-only and shared by the organisation",
			Text:  "Volumes are made by an administrator (the emulator: config file or admin API), are read-write or read-only, and are shared by every key of the organisation."},
		{ID: "S-4", Level: EMU, Section: "2. Sources, paths",
			Title: "a thread exists once code ran in it or a file was uploaded to it",
			Text:  "A thread exists once code has run with its `thread_id` or a file has been uploaded to it (upload before first execution is allowed and creates it)."},
		{ID: "P-1", Level: EMU, Section: "2. Sources, paths",
			Title: "paths: relative, /-separated, 1–1024 bytes, no . .. empty segments, backslash or control characters",
			Text:  "A `path` is relative, `/`-separated, UTF-8, 1–1024 bytes. Rejected with 400 `validation_error`: leading `/`, `.` or `..` segments, empty segments (`a//b`), backslash, NUL or control characters (Unicode Cc: C0, DEL and C1 U+0080–U+009F). No request may ever read or write outside its own thread/volume."},
		{ID: "P-2", Level: DOC, Section: "2. Sources, paths",
			Title: "thread IDs and volume slugs [A-Za-z0-9._-]{1,128}; others 400",
			Text:  "Thread IDs and volume slugs: the emulator accepts `[A-Za-z0-9._-]{1,128}` (EMU) and rejects others with 400."},
		{ID: "L-1", Level: DOC, Section: "3. Endpoints — POST /v1/files/list  — body `{source, id, path?}`",
			Title: "list entries {name, path, size, modified, is_directory}; full paths; RFC 3339 UTC",
			Text:  "200 `{\"files\": [...]}`, each `{name, path, size, modified, is_directory}`. `path` is the full path from the storage root, `name` its last segment, `size` bytes (0 for directories), `modified` RFC 3339 UTC."},
		{ID: "L-2", Level: DOC, Section: "3. Endpoints — POST /v1/files/list  — body `{source, id, path?}`",
			Title: "without path the listing is recursive and includes directories",
			Text:  "Without `path` the listing is recursive and includes directory entries (the seed's example lists `data`, `data/output.csv`, `model.pkl`)."},
		{ID: "L-3", Level: DOC, Section: "3. Endpoints — POST /v1/files/list  — body `{source, id, path?}`",
			Title: "path is a string prefix of the full path",
			Text:  "With `path: \"data/\"` only entries under `data/` are returned. `path` is a string prefix of the full path (EMU for the no-trailing-slash case: `data` also matches `data.csv` and `data/...`)."},
		{ID: "L-4", Level: EMU, Section: "3. Endpoints — POST /v1/files/list  — body `{source, id, path?}`",
			Title: "sorted by path; directory modified is the newest of its contents; no match gives []",
			Text:  "Entries are sorted by `path` (byte order). A directory's `modified` is the newest of its contents. A prefix that matches nothing gives `{\"files\": []}` (not null)."},
		{ID: "L-5", Level: DOC, Section: "3. Endpoints — POST /v1/files/list  — body `{source, id, path?}`",
			Title: "unknown thread or volume → 404 not_found",
			Text:  "Unknown thread or volume → 404 `not_found`."},
		{ID: "U-1", Level: DOC, Section: "3. Endpoints — POST /v1/files/upload_url — body `{source, id, path, content_type?, content_length}`",
			Title: "upload_url → {url, method \"PUT\", headers (Content-Type), expires_at}",
			Text:  "200 `{url, method: \"PUT\", headers: {...}, expires_at}`. `headers` holds every header the client must send (at least `Content-Type`, whose default is `application/octet-stream`)."},
		{ID: "U-2", Level: DOC, Section: "3. Endpoints — POST /v1/files/upload_url — body `{source, id, path, content_type?, content_length}`",
			Title: "expires_at RFC 3339 UTC, 15 minutes after issue; the URL stops working after it",
			Text:  "`expires_at` is RFC 3339 UTC, 15 minutes after issue; the URL stops working after it."},
		{ID: "U-3", Level: DOC, Section: "3. Endpoints — POST /v1/files/upload_url — body `{source, id, path, content_type?, content_length}`",
			Title: "content_length required integer 0 … 10737418240; over → 400 naming the limit",
			Text:  "`content_length` is required, an integer, 0 ≤ n ≤ 10737418240 (10 GiB). Over the limit → 400 `validation_error` whose message names the limit in bytes. Missing, negative, fractional or non-numeric → 400. (EMU: 0 is allowed — empty files are real files.)"},
		{ID: "U-4", Level: DOC, Section: "3. Endpoints — POST /v1/files/upload_url — body `{source, id, path, content_type?, content_length}`",
			Title: "read-only volume → 403 forbidden",
			Text:  "Read-only volume → 403 `forbidden`."},
		{ID: "U-5", Level: EMU, Section: "3. Endpoints — POST /v1/files/upload_url — body `{source, id, path, content_type?, content_length}`",
			Title: "the URL takes exactly content_length bytes with the signed Content-Type; refusals in the provider's format",
			Text:  "The URL accepts a PUT of exactly `content_length` bytes with the signed `Content-Type`. Anything else is refused by storage in the provider's own XML error format: GCS — tampered signature, changed path/query/method/signed header/length → 403 `SignatureDoesNotMatch`; expired (now > `X-Goog-Date` + `X-Goog-Expires`) → 400 `ExpiredToken`; malformed date/expires → 400 `MalformedSecurityHeader`. S3 — 403 `SignatureDoesNotMatch`; expired → 403 `AccessDenied` \"Request has expired\"; missing query params → 400 `AuthorizationQueryParametersError`. Azure — 403 `AuthenticationFailed` (bad signature or outside the time window), wrong permission for the method → 403 `AuthorizationPermissionMismatch`."},
		{ID: "U-6", Level: DOC, Section: "3. Endpoints — POST /v1/files/upload_url — body `{source, id, path, content_type?, content_length}`",
			Title: "an interrupted upload leaves nothing; re-issued URL works; replacement is atomic",
			Text:  "An interrupted upload leaves nothing: no partial object is listed. Asking for a new URL and uploading again works. A completed upload replaces any earlier file at that path atomically."},
		{ID: "D-1", Level: DOC, Section: "3. Endpoints — POST /v1/files/download_url — body `{source, id, path}`",
			Title: "download_url → {url, method \"GET\", expires_at}",
			Text:  "200 `{url, method: \"GET\", expires_at}` (EMU: plus `headers: {}` when the provider needs none)."},
		{ID: "D-2", Level: DOC, Section: "3. Endpoints — POST /v1/files/download_url — body `{source, id, path}`",
			Title: "missing file, unknown thread or volume → 404 (directory → 404, EMU)",
			Text:  "Missing file, unknown thread or volume → 404 `not_found`. A directory path → 404 (EMU)."},
		{ID: "D-3", Level: EMU, Section: "3. Endpoints — POST /v1/files/download_url — body `{source, id, path}`",
			Title: "GET returns exactly the stored bytes with Content-Length and Content-Type; Range works; expiry/tamper as U-5",
			Text:  "A GET of the URL returns exactly the stored bytes, with `Content-Length` and `Content-Type` as uploaded; `Range` requests work; expiry and tampering as U-5."},
		{ID: "X-1", Level: DOC, Section: "3. Endpoints — DELETE /v1/files — body `{source, id, path}`",
			Title: "delete → {\"deleted\": true}; the file is gone from list and download",
			Text:  "200 `{\"deleted\": true}`; the file is gone from list and download."},
		{ID: "X-2", Level: DOC, Section: "3. Endpoints — DELETE /v1/files — body `{source, id, path}`",
			Title: "read-only volume → 403; missing file → 404",
			Text:  "Read-only volume → 403 `forbidden`; missing file → 404 `not_found`."},
		{ID: "X-3", Level: EMU, Section: "3. Endpoints — DELETE /v1/files — body `{source, id, path}`",
			Title: "a directory path → 400; deletion is not recursive",
			Text:  "A directory path → 400 `validation_error` (\"is a directory\"); deletion is not recursive."},
		{ID: "R-1", Level: DOC, Section: "3. Endpoints — POST /v1/sandbox/execute — body `{code, language?, thread_id?, timeout?, env_vars?}`",
			Title: "execute → {success, stdout, stderr, exit_code}; success == (exit_code == 0)",
			Text:  "200 `{success, stdout, stderr, exit_code}`; `success` is `exit_code == 0`. (EMU: also `error` (null or a platform message), `status`, `duration_ms`, `trace_id`.)"},
		{ID: "R-2", Level: DOC, Section: "3. Endpoints — POST /v1/sandbox/execute — body `{code, language?, thread_id?, timeout?, env_vars?}`",
			Title: "language python (default), node, bash, else 400; code 1 byte … 1 MiB, else 400",
			Text:  "`language`: `python` (default), `node`, `bash`; anything else → 400. `code` 1 byte … 1 MiB, else 400 (message as the docs: code must be between 1 byte and 1 MB)."},
		{ID: "R-3", Level: DOC, Section: "3. Endpoints — POST /v1/sandbox/execute — body `{code, language?, thread_id?, timeout?, env_vars?}`",
			Title: "with thread_id, /home/baponi is the thread's storage and persists; without, empty and discarded",
			Text:  "With `thread_id`, `/home/baponi` is that thread's storage, read-write, and what the code leaves there persists: the Files API lists and downloads it, and later executions see it. Without `thread_id` the home is empty and discarded."},
		{ID: "R-4", Level: DOC, Section: "3. Endpoints — POST /v1/sandbox/execute — body `{code, language?, thread_id?, timeout?, env_vars?}`",
			Title: "a second execution on a busy thread → 409 conflict",
			Text:  "A second execution on a busy thread → 409 `conflict`."},
		{ID: "R-5", Level: EMU, Section: "3. Endpoints — POST /v1/sandbox/execute — body `{code, language?, thread_id?, timeout?, env_vars?}`",
			Title: "timeout 1 … max (300), default 30; on timeout the process tree is killed, status timeout",
			Text:  "`timeout` seconds, default 30, 1 … the key's maximum (default 300), else 400. On timeout the whole process tree is killed: status `timeout`, `success: false`. Memory over the key's limit: status `oom`."},
		{ID: "R-6", Level: EMU, Section: "3. Endpoints — POST /v1/sandbox/execute — body `{code, language?, thread_id?, timeout?, env_vars?}`",
			Title: "volumes at /volumes/<slug>, read-only ones read-only; no network; other threads invisible",
			Text:  "Volumes of the key's organisation are mounted at `/volumes/<slug>`, read-only ones read-only (a write fails inside the code with EROFS). No network but loopback. Other threads are not visible."},
		{ID: "R-7", Level: EMU, Section: "3. Endpoints — POST /v1/sandbox/execute — body `{code, language?, thread_id?, timeout?, env_vars?}`",
			Title: "env_vars set; reserved names → 400 naming them",
			Text:  "`env_vars` are set; reserved names (`PATH`, `HOME`, `USER`, `SHELL`, `PWD`, names starting `BAPONI_`) → 400 naming them."},
		{ID: "R-8", Level: DOC, Section: "3. Endpoints — POST /v1/sandbox/execute — body `{code, language?, thread_id?, timeout?, env_vars?}`",
			Title: "NDJSON streaming, async with webhook, GET /v1/executions/{trace_id}",
			Text:  "`Accept: application/x-ndjson` streams one JSON object per line; the first is a `status` event carrying `trace_id`. `Prefer: respond-async` with `webhook_url` → 202 `{trace_id}` and the result is POSTed to the URL. `GET /v1/executions/{trace_id}` returns `{trace_id, status, exit_code, stdout, stderr, error, duration_ms, delivery_mode, created_at, completed_at}`; statuses `running, success, failed, timeout, blocked, oom, cancelled`. (EMU: event names `status`, `stdout`, `stderr`, `result`.)"},
		{ID: "M-1", Level: EMU, Section: "4. Emulator-only surface (admin), under `/_emulator/`",
			Title: "/_emulator/health 200 once ready; /_emulator/info names version, backend, features",
			Text:  "`GET /_emulator/health` → 200 once ready. `GET /_emulator/info` → version, backend (`gcs`, `s3`, `azure`), features."},
		{ID: "M-2", Level: EMU, Section: "4. Emulator-only surface (admin), under `/_emulator/`",
			Title: "/_emulator/clock reads and moves the one clock every time-based behaviour reads",
			Text:  "`GET /_emulator/clock` → `{\"now\": ...}`; `POST /_emulator/clock` with `{\"advance\": \"16m\"}` or `{\"set\": \"<RFC 3339>\"}` moves the emulator's clock: signed-URL expiry, `expires_at`, `modified`, rate limiting all read this clock. The clock never moves backwards unless `set` says so, or `{\"reset\": true}` puts it back where it started (the real time)."},
		{ID: "M-3", Level: EMU, Section: "4. Emulator-only surface (admin), under `/_emulator/`",
			Title: "admin API creates, lists and revokes keys and volumes, and flips read-only",
			Text:  "Admin API for volumes and keys (create, list, set read-only, revoke key) so tests can arrange state without restarting."},
		{ID: "M-4", Level: EMU, Section: "4. Emulator-only surface (admin), under `/_emulator/`",
			Title: "fault rules: POST /_emulator/faults → 201 with id, hits, remaining; a matching request gets the rule's action in its surface's dialect",
			Text:  "`POST /_emulator/faults` creates a fault rule → **201** `{id, ...rule, hits: 0, remaining}`; `GET` lists rules with `hits` and `remaining`, `GET`/`DELETE /_emulator/faults/{id}`, `DELETE` all. A rule matches on `route` (`files.list`, `files.upload_url`, `files.download_url`, `files.delete`, `sandbox.execute`, `executions.get`, `storage.put`, `storage.get`, `mcp.*`, `webhook`), `org`, `key`, `thread_id`, `volume_id`, `path` glob and `scope` (the `X-Localbaponi-Fault-Scope` header). Actions: `error` (status, code, message, `retry_after` → `Retry-After`) in the surface's dialect (the envelope on `/v1`, the provider's XML on a face), `latency` (fixed + jitter), `network` `reset` (TCP RST) or `close`, `body` (`truncate_after`, `stall_after` + `stall_for`, `throttle_bps`, `corrupt`), `execute.status` (`timeout`, `oom`, `failed`), `webhook` (`delay`, `drop`). `times`, `skip`, `probability` + `seed`, `ttl` (emulator clock); rules are checked in creation order, the first match acts, latencies add. A fired rule is logged, named in the journal's `fault_id` and in `X-Localbaponi-Fault`; `/_emulator/info` counts active rules."},
		{ID: "M-5", Level: EMU, Section: "4. Emulator-only surface (admin), under `/_emulator/`",
			Title: "GET /_emulator/requests is a bounded journal of every request, filterable, without secrets",
			Text:  "`GET /_emulator/requests` → `{\"requests\": [...]}`: every request with `time` (emulator clock), `method`, `route`, `org`, `key_id` (never the key), `source`, `id`, `path`, `status`, `bytes_in`, `bytes_out`, `duration_ms`, `fault_id`; filters `?route=&org=&thread_id=&status=&since=`; a ring of configurable size (default 10 000); `DELETE` clears it; `/v1` bodies up to 64 KiB only when asked for."},
		{ID: "M-6", Level: EMU, Section: "4. Emulator-only surface (admin), under `/_emulator/`",
			Title: "POST /_emulator/reset returns the emulator, one org or one thread to its start state",
			Text:  "`POST /_emulator/reset` returns the emulator to its start state (files, executions, keys and volumes made at run time, clock offset, fault rules, journal); `{\"org\"}` or `{\"org\", \"thread_id\"}` resets one org or one thread. Requests in flight are aborted first and leave nothing half-written."},
		{ID: "M-7", Level: EMU, Section: "4. Emulator-only surface (admin), under `/_emulator/`",
			Title: "GET/POST /_emulator/snapshot stream a versioned tar; another version is refused and nothing is half-loaded",
			Text:  "`GET /_emulator/snapshot` streams a tar (`manifest.json` with format `localbaponi-snapshot` and version, clock, orgs, keys, volumes; then every file with content type and modified time); `POST /_emulator/snapshot` or `--snapshot FILE` loads one, all or nothing: another version or a broken archive → 400 saying why, nothing changed. The data directory carries a layout version; a newer or unknown one stops the emulator at start with what to do."},
	}
	for i := range rules {
		rules[i].Clauses = clauses[rules[i].ID]
	}
	return append(rules, mcpRules()...)
}

// ruleLevel returns the level of a rule ID, or "".
func ruleLevel(id string) string {
	for _, r := range Rules() {
		if r.ID == id {
			return r.Level
		}
	}
	return ""
}

// rulesPreamble opens RULES.md.
const rulesPreamble = `# The contract: Baponi Files API (and the execute endpoint it depends on)

<!-- Generated from conformance.Rules() by go generate ./conformance (go run ./conformance/internal/gen). Do not edit. -->

This is the behaviour that the emulator implements and that the conformance suite checks.
Every rule has an ID. The conformance suite cites these IDs in its reports; the emulator's
tests cite them in test names where that helps. Each rule is split into clauses in
[CLAUSES.md](CLAUSES.md), each with the check that fails when it breaks.

Levels:
- **DOC** — stated by the public Baponi documentation (the Files API page, or the public API
  overview/execute/executions pages). Checked against *every* implementation.
- **EMU** — not stated anywhere public; this project's decision. The emulator does it; the
  conformance suite checks it only when the target declares itself an emulator (profile
  ` + "`emulator`" + `), and otherwise reports what it observed as *information*, never as a failure.
  The admin surface (section 4) is the emulator's own and is EMU throughout.

Where a rule below and the public documentation disagree, the documentation wins.
`

// RulesMarkdown renders the rule table as RULES.md: every rule with its
// ID, level, section and full text, grouped by section.
func RulesMarkdown() string {
	var b strings.Builder
	b.WriteString(rulesPreamble)
	section := ""
	for _, r := range Rules() {
		if r.Section != section {
			section = r.Section
			fmt.Fprintf(&b, "\n## %s\n\n| ID | level | rule |\n|---|---|---|\n", section)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.ID, r.Level, strings.ReplaceAll(r.Text, "|", `\|`))
	}
	return b.String()
}
