// Command gen writes conformance/RULES.md from conformance.Rules(). Run it
// with go generate ./conformance (or go run ./conformance/internal/gen
// from the repository root or the conformance directory).
package main

import (
	"log/slog"
	"os"
	"path/filepath"

	"github.com/localbaponi/localbaponi/conformance"
)

func main() {
	path := "RULES.md"
	if _, err := os.Stat("conformance"); err == nil {
		path = filepath.Join("conformance", "RULES.md")
	}
	if err := os.WriteFile(path, []byte(conformance.RulesMarkdown()), 0o644); err != nil {
		slog.Error("write RULES.md", "err", err)
		os.Exit(1)
	}
	slog.Info("wrote", "path", path)
}
