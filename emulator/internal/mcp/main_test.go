package mcp_test

import (
	"fmt"
	"os"
	"testing"
)

// TestMain gives the package's emulators a temporary directory of their own
// (TMPDIR), so that their sandbox roots sit apart from those of other
// emulator processes on the machine: a sweep of stale roots in the shared
// temporary directory by another process must not take a live one away.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "localbaponi-mcp-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("TMPDIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
