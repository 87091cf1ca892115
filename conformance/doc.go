// Package conformance is the Baponi Files API conformance suite: Ginkgo v2
// specs that check any implementation (localbaponi, or a self-hosted Baponi
// deployment) against SPEC.md sections 1–3, and the runner behind the
// baponi-conformance binary.
//
// # Running
//
// The same specs run two ways:
//
//	go test ./conformance/ -run TestConformance      # embedded emulator, or BAPONI_BASE_URL
//	go run ./cmd/baponi-conformance [flags]          # Run(ctx, cfg)
//
// Ginkgo's RunSpecs can run once per process, so Run (and RunTest) can be
// called once per process too. The spec tree is process-global in Ginkgo;
// the specs reach the current run through one package-level pointer that
// Run sets before RunSpecs and clears after — the only mutable package
// state, forced by Ginkgo's design.
//
// # Configuration
//
// Defaults → --config FILE (YAML, keys as the flags with _ for -) →
// environment (BAPONI_BASE_URL, BAPONI_API_KEY, BAPONI_OTHER_ORG_API_KEY,
// BAPONI_RW_VOLUME, BAPONI_RO_VOLUME, BAPONI_PROFILE) → flags (--base-url,
// --api-key, --other-org-api-key, --rw-volume, --ro-volume, --profile,
// --label-filter, --junit-report, --json-report, --markdown-report, --keep,
// --timeout; also --backend for the embedded emulator,
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
// Each check is a Ginkgo It named "<rule>: <what>", labelled with its rule
// ID, its level (DOC or EMU), its area (auth, errors, paths, list, upload,
// download, delete, limits, readonly, isolation, signed_urls, execute,
// flows) and cost/capability labels (clock, slow). Select with
// --label-filter, e.g. 'list && DOC' or 'U-3'. Checks labelled slow (the
// real-time 15-minute expiry wait) are excluded unless the filter names
// "slow".
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
// code execution, ...). Ginkgo's own verdict (timeouts, panics) wins over
// the check's record.
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
// thread or volume path is created (DeferCleanup deletes its files after
// the check); shared fixtures and anything left over are removed by a final
// sweep that lists only this run's threads and the "conf-<run id>/" prefix
// of the read-write volume. --keep skips both. Nothing is written to the
// read-only volume on purpose; under profile deployment the read-only
// delete check uses a path that does not exist.
//
// # Reports
//
// JUnit XML (Ginkgo's), JSON ({run_id, target, config (keys redacted),
// preflight, summary, checks: [{rule, level, area, name, status, message,
// expected, actual, reproducer}]}) where the reproducer is a curl command
// that names keys by their environment variable, and a Markdown summary
// (verdict, redacted config, preflight, failures with reproducers,
// observations, skips with reasons, every check).
//
// # The suite proves it can fail
//
// mutation_test.go puts a reverse proxy in front of a real emulator
// (emulator.Options.ExternalURL = the proxy, so signed URLs go through it
// too), bends one behaviour per case, runs the binary against it, and
// requires exit 1 with the matching rule among the failed checks.
package conformance
