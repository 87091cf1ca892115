package conformance

// clauses split each rule into the parts that can break on their own
// (see Clause). Every clause is cited by at least one check (a label with
// the clause ID) and broken by at least one deviation in mutation_test.go;
// CLAUSES.md is the table (rules_test.go and mutation_test.go keep all
// three true).
var clauses = map[string][]Clause{
	"A-1": {
		{"A-1.a", "no Authorization header → 401 on every endpoint"},
		{"A-1.b", "another scheme than Bearer → 401"},
		{"A-1.c", "an unknown key (or one not shaped sk-<region>-<token>) → 401"},
		{"A-1.d", "a revoked key → 401"},
		{"A-1.e", "the 401's error code is unauthorized"},
		{"A-1.f", "a valid key is accepted by every endpoint (authentication does not over-refuse)"},
		{"A-1.g", "authentication comes before validation: no key and a bad body → 401"},
	},
	"A-2": {
		{"A-2.a", "another organisation cannot list or download a thread's files"},
		{"A-2.b", "another organisation cannot delete a thread's files"},
		{"A-2.c", "the same thread ID in another organisation is another thread (its upload does not replace ours)"},
		{"A-2.d", "another organisation cannot see or change the organisation's volumes"},
	},
	"A-3": {
		{"A-3.a", "another organisation's thread → 404 not_found, never 403"},
		{"A-3.b", "another organisation's volume → 404 not_found, never 403"},
	},
	"E-1": {
		{"E-1.a", "an error answers Content-Type: application/json"},
		{"E-1.b", `an error body has a string "error" code`},
		{"E-1.c", `an error body has a non-empty "message"`},
		{"E-1.d", "the code belongs to the status: 400 validation_error"},
		{"E-1.e", "the code belongs to the status: 404 not_found"},
		{"E-1.f", "the code belongs to the status: 403 forbidden"},
	},
	"E-2": {
		{"E-2.a", "an unknown /v1 route → 404 not_found"},
		{"E-2.b", "a wrong method → 405 method_not_allowed"},
		{"E-2.c", "a 405 carries Allow naming the method that works"},
		{"E-2.d", "a body that is not JSON → 400 validation_error"},
		{"E-2.e", "a body that is not valid UTF-8 → 400 validation_error"},
		{"E-2.f", "a field of the wrong type or an unknown source → 400 validation_error"},
		{"E-2.g", "the message names the offending field"},
		{"E-2.h", "a key that differs from a known field only in case → 400"},
		{"E-2.i", "a body over 4 MiB → 413 payload_too_large"},
	},
	"E-3": {
		{"E-3.a", "no rate limit unless one is configured for the key"},
		{"E-3.b", "over a key's rate limit → 429"},
		{"E-3.c", "a 429 carries Retry-After in seconds"},
		{"E-3.d", "a 429's error code is rate_limited"},
	},
	"S-1": {
		{"S-1.a", `source other than "thread" or "volume" (unknown, empty, other case) → 400`},
		{"S-1.b", "source is required → 400 without it"},
		{"S-1.c", "id is required and non-empty, and a string → 400"},
		{"S-1.d", "path is required and non-empty where the operation takes one → 400"},
	},
	"S-2": {
		{"S-2.a", "a file code writes at /home/baponi/a/b.csv is path a/b.csv"},
		{"S-2.b", "a file uploaded at a path is at /home/baponi/<path> for code"},
	},
	"S-3": {
		{"S-3.a", "the read-write volume takes uploads, lists, downloads and deletes"},
		{"S-3.b", "the read-only volume lists and downloads"},
		{"S-3.c", "a volume is shared by every key of the organisation"},
	},
	"S-4": {
		{"S-4.a", "a thread exists once a file was uploaded to it (before any execution)"},
		{"S-4.b", "a thread exists once code ran with its thread_id (even if it left no file)"},
	},
	"P-1": {
		{"P-1.a", "a leading / → 400"},
		{"P-1.b", ". or .. segments → 400"},
		{"P-1.c", "empty segments (a//b, a trailing /) → 400"},
		{"P-1.d", "a backslash → 400"},
		{"P-1.e", "NUL and control characters → 400"},
		{"P-1.f", "1024 bytes are accepted, 1025 → 400"},
		{"P-1.g", "a UTF-8 path with spaces round-trips through upload, list and download"},
	},
	"P-2": {
		{"P-2.a", "a thread ID or slug with / → 400"},
		{"P-2.b", "characters outside [A-Za-z0-9._-] → 400"},
		{"P-2.c", "128 characters are accepted, 129 → 400"},
	},
	"L-1": {
		{"L-1.a", `200 {"files": [...]}`},
		{"L-1.b", "each entry has name, path, size, modified, is_directory with their JSON types"},
		{"L-1.c", "path is the full path from the storage root"},
		{"L-1.d", "name is the path's last segment"},
		{"L-1.e", "size is the file's size in bytes"},
		{"L-1.f", "a directory's size is 0"},
		{"L-1.g", "modified is RFC 3339 in UTC"},
		{"L-1.h", "modified is the time of the upload"},
	},
	"L-2": {
		{"L-2.a", "without path the listing is recursive"},
		{"L-2.b", "the listing includes directory entries"},
		{"L-2.c", "is_directory is true for directories and false for files"},
	},
	"L-3": {
		{"L-3.a", `path "data/" returns only entries under data/`},
		{"L-3.b", "with a path, entries keep their full paths from the root"},
		{"L-3.c", `path "data" (no slash) is a string prefix: data, data.csv and data/...`},
	},
	"L-4": {
		{"L-4.a", "entries are sorted by path in byte order"},
		{"L-4.b", "a directory's modified is the newest of its contents"},
		{"L-4.c", `a prefix that matches nothing gives {"files": []}, not null`},
	},
	"L-5": {
		{"L-5.a", "an unknown thread → 404 not_found"},
		{"L-5.b", "an unknown volume → 404 not_found"},
	},
	"U-1": {
		{"U-1.a", "200 with a string url that is an absolute URL"},
		{"U-1.b", `method is "PUT"`},
		{"U-1.c", "headers is an object carrying the requested Content-Type"},
		{"U-1.d", "Content-Type defaults to application/octet-stream"},
		{"U-1.e", "a PUT with exactly the returned headers stores the file"},
	},
	"U-2": {
		{"U-2.a", "expires_at is RFC 3339 in UTC"},
		{"U-2.b", "expires_at is 15 minutes after issue (upload_url)"},
		{"U-2.c", "expires_at is 15 minutes after issue (download_url)"},
		{"U-2.d", "the URL works until expires_at"},
		{"U-2.e", "the URL stops working after expires_at"},
	},
	"U-3": {
		{"U-3.a", "content_length of exactly 10737418240 is accepted"},
		{"U-3.b", "content_length over 10737418240 → 400 validation_error"},
		{"U-3.c", "the over-limit message names the limit in bytes"},
		{"U-3.d", "missing, negative, fractional or non-numeric content_length → 400"},
		{"U-3.e", "content_length 0 is allowed and an empty file is a real file"},
	},
	"U-4": {
		{"U-4.a", "upload_url on a read-only volume → 403"},
		{"U-4.b", "the 403's error code is forbidden"},
	},
	"U-5": {
		{"U-5.a", "a tampered upload URL is refused and stores nothing"},
		{"U-5.b", "a tampered URL gets the provider's signature error (GCS 403 SignatureDoesNotMatch, ...)"},
		{"U-5.c", "an expired URL gets the provider's expiry error (GCS 400 ExpiredToken, ...)"},
		{"U-5.d", "a PUT with another Content-Type than the signed one is refused"},
		{"U-5.e", "a PUT of other than content_length bytes is refused"},
		{"U-5.f", "an upload URL used for another path is refused"},
		{"U-5.g", "an upload URL serves no GET, a download URL takes no PUT"},
	},
	"U-6": {
		{"U-6.a", "an interrupted upload leaves nothing listed"},
		{"U-6.b", "after an interrupted upload a re-issued URL works"},
		{"U-6.c", "a completed upload replaces the earlier file"},
		{"U-6.d", "an interrupted upload leaves the earlier file intact"},
	},
	"D-1": {
		{"D-1.a", `200 {url, method "GET", expires_at}`},
		{"D-1.b", "the URL returns the uploaded bytes"},
		{"D-1.c", "download_url also carries a headers object (EMU)"},
	},
	"D-2": {
		{"D-2.a", "a missing file → 404 not_found"},
		{"D-2.b", "an unknown thread or volume → 404 not_found"},
		{"D-2.c", "a directory path → 404 not_found (EMU)"},
	},
	"D-3": {
		{"D-3.a", "a GET returns exactly the stored bytes"},
		{"D-3.b", "with the uploaded Content-Length"},
		{"D-3.c", "with the uploaded Content-Type"},
		{"D-3.d", "a Range request gets 206 and exactly that range"},
		{"D-3.e", "a tampered download URL is refused and serves nothing"},
	},
	"X-1": {
		{"X-1.a", `200 {"deleted": true}`},
		{"X-1.b", "the file is gone from list and download"},
		{"X-1.c", "only that file is deleted"},
		{"X-1.d", "delete works on the read-write volume"},
	},
	"X-2": {
		{"X-2.a", "delete on a read-only volume → 403 forbidden and the file stays"},
		{"X-2.b", "a missing file (also one deleted before) or unknown thread → 404 not_found"},
	},
	"X-3": {
		{"X-3.a", `a directory path → 400 validation_error ("is a directory")`},
		{"X-3.b", "deletion is not recursive: the directory's files stay"},
	},
	"R-1": {
		{"R-1.a", "200 with success, stdout, stderr, exit_code"},
		{"R-1.b", "success is exit_code == 0"},
		{"R-1.c", "stdout and stderr are what the code wrote to each"},
		{"R-1.d", "exit_code is the code's exit status"},
		{"R-1.e", "also error, status, duration_ms and trace_id (EMU)"},
		{"R-1.f", `status "success" for a run that succeeded (EMU)`},
	},
	"R-2": {
		{"R-2.a", "python is the default language"},
		{"R-2.b", "node and bash run"},
		{"R-2.c", "another language → 400"},
		{"R-2.d", "empty code → 400"},
		{"R-2.e", "code over 1 MiB → 400"},
		{"R-2.f", "code of exactly 1 MiB runs (EMU)"},
	},
	"R-3": {
		{"R-3.a", "with thread_id, what code leaves in /home/baponi is listed and downloads"},
		{"R-3.b", "later executions on the thread see it"},
		{"R-3.c", "without thread_id the home starts empty and is discarded"},
	},
	"R-4": {
		{"R-4.a", "a second execution on a busy thread is refused with 409"},
		{"R-4.b", "the 409's error code is conflict"},
	},
	"R-5": {
		{"R-5.a", `over its timeout a run ends with status "timeout", success false`},
		{"R-5.b", "on timeout the whole process tree is killed"},
		{"R-5.c", "timeout outside 1 … the key's maximum, or not an integer → 400"},
		{"R-5.d", `over the key's memory limit a run ends with status "oom"`},
	},
	"R-6": {
		{"R-6.a", "volumes are mounted at /volumes/<slug>"},
		{"R-6.b", "read-only volumes refuse writes with EROFS"},
		{"R-6.c", "no network but loopback"},
		{"R-6.d", "other threads are not visible"},
	},
	"R-7": {
		{"R-7.a", "env_vars are set for the code"},
		{"R-7.b", "reserved names → 400 naming them"},
	},
	"R-8": {
		{"R-8.a", "Accept: application/x-ndjson streams one JSON object per line"},
		{"R-8.b", "the first streamed object is a status event carrying trace_id"},
		{"R-8.c", "the stream is Content-Type application/x-ndjson with status, stdout, result events (EMU)"},
		{"R-8.d", "Prefer: respond-async with webhook_url → 202 {trace_id}"},
		{"R-8.e", "the result is POSTed to the webhook URL, naming the execution"},
		{"R-8.f", "GET /v1/executions/{trace_id} has every record field"},
		{"R-8.g", "the record describes the run: its trace_id, status and stdout"},
		{"R-8.h", `a failed run's record has status "failed"`},
		{"R-8.i", "created_at and completed_at are RFC 3339, completed_at not before created_at"},
		{"R-8.j", "executions are scoped to the organisation: another organisation does not get the record"},
	},
	"M-1": {
		{"M-1.a", "GET /_emulator/health → 200"},
		{"M-1.b", "GET /_emulator/info names version, backend and features"},
	},
	"M-2": {
		{"M-2.a", "POST /_emulator/clock {advance} moves the clock GET reads"},
	},
	"M-3": {
		{"M-3.a", "a key made with the admin API works at once"},
		{"M-3.b", "a key revoked with the admin API gets 401 at once"},
		{"M-3.c", "a volume made with the admin API, seeded with files, lists them"},
		{"M-3.d", "a read-only flip takes effect at once, both ways"},
	},
	"M-4": {
		{"M-4.a", "POST /_emulator/faults stores the rule → 201 with id, hits 0 and remaining"},
		{"M-4.b", "a matching request gets the rule's error in the envelope, with its Retry-After"},
		{"M-4.c", "after times hits the rule stops"},
	},
	"M-5": {
		{"M-5.a", "the journal lists each request with route, target, status and the rule that fired"},
		{"M-5.b", "the journal names the key by a key_id, never the key"},
	},
	"M-6": {
		{"M-6.a", "resetting one thread removes its files and leaves other threads"},
	},
	"M-7": {
		{"M-7.a", "GET /_emulator/snapshot is a tar starting with manifest.json naming format and version"},
		{"M-7.b", "a snapshot of another format version is refused with 400, nothing changed"},
	},
}
