// Package hardening holds the regression tests of the sandbox and store
// hardening (issue 8): one test per defect found by an attack battery,
// written as the attacker would run it (a racer, inherited descriptors,
// kill -9, a deep tree, a stalled body, ...), each bounded in time. The
// tests are Linux only; on other systems the package is empty. See
// SECURITY.md at the top of the repository for the threat model.
package hardening
