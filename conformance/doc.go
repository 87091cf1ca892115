// Package conformance is the Baponi Files API conformance suite: checks
// that hold any implementation (localbaponi, or a self-hosted Baponi
// deployment) to the contract in RULES.md (generated from Rules()), and
// the runner behind the baponi-conformance binary.
//
// # Running
//
// The same checks run two ways:
//
//	go test ./conformance/ -run TestConformance      # embedded emulator, or BAPONI_BASE_URL
//	go run ./cmd/baponi-conformance [flags]          # Run(ctx, cfg)
//
// Checks are registered at package initialisation (var _ = area(...) with
// check(...) inside, one file per area) into a registry that never changes
// afterwards. Run selects checks with a Ginkgo label filter and runs them
// on a bounded pool of workers (--parallel, default DefaultParallel);
// checks labelled "clock" move the target's clock and run alone after the
// others. Each run has its own state, so several runs can go on in one
// process (compare --compare-url; the suite's own deviation test). Reports
// list checks in registration order whatever order they finished in.
//
// # Configuration
//
// Defaults → --config FILE (YAML, keys as the flags with _ for -) →
// environment (BAPONI_BASE_URL, BAPONI_API_KEY, BAPONI_OTHER_ORG_API_KEY,
// BAPONI_RW_VOLUME, BAPONI_RO_VOLUME, BAPONI_PROFILE) → flags (--base-url,
// --api-key, --other-org-api-key, --rw-volume, --ro-volume, --profile,
// --label-filter, --junit-report, --json-report, --markdown-report, --keep,
// --timeout, --parallel; also --backend for the embedded emulator,
// --emulator-admin-token (BAPONI_EMULATOR_ADMIN_TOKEN) for a localbaponi
// started with --admin-token, and -v).
//
// With no base URL the embedded emulator starts with its dev defaults, and
// the keys, volumes and profile default to the dev ones. With a base URL,
// the profile defaults to "emulator" when GET /_emulator/info says
// {"name": "localbaponi"} (SPEC: EMU rules apply "when the target declares
// itself an emulator"), else "deployment"; and a localbaponi target called
// with the dev key (or no key) gets the dev second-org key and volumes
// unless others are given.
//
// # Checks, levels, statuses
//
// Each check is named "<rule>: <what>" and labelled with its rule ID, its
// level (DOC or EMU), its area (auth, errors, paths, list, upload,
// download, delete, limits, readonly, isolation, signed_urls, execute,
// flows, admin), the clauses of the rule it covers (e.g. "R-8.c"; see
// CLAUSES.md) and cost/capability labels (clock, slow). Select with
// --label-filter (Ginkgo's label filter syntax), e.g. 'list && DOC' or
// 'U-3'. Checks labelled slow (the real-time 15-minute expiry wait) are
// excluded unless the filter names "slow".
//
// A check's level is usually its rule's level. A few checks hold the part
// of an EMU rule that the public documentation does state and carry level
// DOC: a tampered signed URL is refused (any 4xx; the seed calls them
// pre-signed URLs) — the exact provider error codes stay EMU. P-2 is DOC
// for "a thread ID with / is refused" and EMU for the exact character set
// and length.
//
// Statuses: passed; failed (a DOC check, or an EMU check under profile
// emulator); observed (an EMU check that did not hold under profile
// deployment: information, never a failure); skipped (with the reason:
// no read-only volume, no second organisation key, no clock control, no
// code execution, ...). A check that panics, or that the run's timeout or
// a signal stops before it starts, fails.
//
// # Arranged state
//
// Some checks need state the run cannot assume: a key with a rate limit
// (E-3), a key with a small memory limit (R-5 oom), a second key of the
// organisation (S-3), a revoked key, a volume to flip read-only
// (M-3). On a target that says it is localbaponi the run makes them with
// /_emulator/keys and /_emulator/volumes and revokes the keys afterwards.
// On a deployment the operator gives them (--rate-limited-api-key,
// --small-memory-api-key, --second-api-key, --revoked-api-key or the
// BAPONI_* variables); without them the checks are skipped and the skip
// names the input.
//
// # Drift report
//
// Every check records its exchanges (method, API path or "storage",
// status, error code, JSON shape) and named observations (signed URL
// lifetimes, storage refusals, list path relativity, ...). Compare sets
// two JSON reports side by side rule by rule; `baponi-conformance compare
// A.json B.json` prints it, and --compare-url runs a second target in the
// same invocation.
//
// # Preflight and exit codes
//
// Before any check the runner asks /_emulator/info, lists an unused thread
// with the key (401/403 → configuration error), checks the second key and
// the volumes, reads the target's clock (/_emulator/clock, else the Date
// header) and works out whether code execution is offered. Exit codes:
// 0 every required check passed, 1 a required check failed, 2 configuration
// or connection error, 3 a report could not be written.
//
// # Time
//
// Expiry checks move the target's clock through POST /_emulator/clock when
// it offers one; otherwise only the slow check (which waits out the real
// 15 minutes) can show expiry. expires_at is compared with the target's
// clock (3 s tolerance with /_emulator/clock, 30 s from the Date header).
//
// # Safety on real deployments
//
// Every thread ID and volume path the run creates starts with
// "conf-<run id>" (8 random hex digits). Cleanup is registered when a
// thread or volume path is created (its files are deleted after
// the check); shared fixtures and anything left over are removed by a final
// sweep that lists only this run's threads and the "conf-<run id>/" prefix
// of the read-write volume. --keep skips both. Nothing is written to the
// read-only volume on purpose; under profile deployment the read-only
// delete check uses a path that does not exist.
//
// # Reports
//
// JUnit XML (Ginkgo's format), JSON ({run_id, target, config (keys
// redacted), preflight, summary, checks: [{rule, level, area, name,
// clauses, status, message, expected, actual, reproducer, exchanges,
// observations}]}) where the reproducer is a curl command
// that names keys by their environment variable, and a Markdown summary
// (verdict, redacted config, preflight, failures with reproducers,
// observations, skips with reasons, every check).
//
// # The suite proves it can fail
//
// mutation_test.go puts a reverse proxy in front of a real emulator
// (emulator.Options.ExternalURL = the proxy, so signed URLs go through it
// too), bends one behaviour per case, runs the suite against it, and
// requires exit 1 with the matching rule among the failed checks.
package conformance
