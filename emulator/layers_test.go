package emulator_test

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/localbaponi/localbaponi/"

// layers is the house's order, top down: cmd → conformance → emulator → api
// → services → faces → store, sandbox and helpers → clock and leaf helpers.
// A package may import only packages of a lower layer. A package under
// emulator/internal that is not listed is taken for a leaf helper (layer 1,
// importing nothing of the module); give it its layer here when it needs
// more. Packages outside emulator/ and
// conformance/ (cmd, bench, hardening) are at the top.
var layers = map[string]int{
	"cmd/localbaponi/internal/cli":      20, // a client: imports nothing of the emulator
	"conformance/internal/gen":          10,
	"conformance":                       9,
	"emulator":                          8,
	"emulator/internal/api":             7,
	"emulator/internal/control":         6,
	"emulator/internal/mcp":             6,
	"emulator/internal/execution":       6,
	"emulator/internal/tenancy":         6,
	"emulator/internal/faults":          5,
	"emulator/internal/journal":         5,
	"emulator/internal/face/gcs":        4,
	"emulator/internal/face/s3":         4,
	"emulator/internal/face/azure":      4,
	"emulator/internal/face/facetest":   4,
	"emulator/internal/face":            3,
	"emulator/internal/store/s3store":   4, // remote stores: adapters under objstore
	"emulator/internal/store/gcsstore":  4,
	"emulator/internal/store/objstore":  3, // a bucket's Backend, over store's types
	"emulator/internal/store/mirror":    3,
	"emulator/internal/store/storetest": 3,
	"emulator/internal/store":           2,
	"emulator/internal/sandbox":         3,
	"emulator/internal/sandbox/spacefs": 2, // its leaf: sandbox/child, the re-executed child
	"emulator/internal/signing":         2,
	"emulator/internal/reqlog":          2,
	"emulator/internal/clock":           1,
	"emulator/internal/rmtree":          1,
}

const top = 100

func layerOf(pkg string) int {
	if l, ok := layers[pkg]; ok {
		return l
	}
	if strings.HasPrefix(pkg, "emulator/internal/") {
		return 1
	}
	return top
}

// TestImportsGoDown: no package imports one above it or beside it, so the
// code reads top-down with no arrow back up (issue 9).
func TestImportsGoDown(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found above the emulator package: %v", err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); dir != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(dir, 0)
		if err != nil {
			return nil // no Go files here (or none for this platform)
		}
		rel, _ := filepath.Rel(root, dir)
		pkg := filepath.ToSlash(rel)
		from := layerOf(pkg)
		for _, imp := range p.Imports {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			checked++
			if to := layerOf(dep); to >= from {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must go down the house (see layers)", pkg, from, dep, to)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("only %d imports of the module checked; the walk missed the tree", checked)
	}
}
