package emulator

import (
	"fmt"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/face/azure"
	"github.com/localbaponi/localbaponi/emulator/internal/face/gcs"
	"github.com/localbaponi/localbaponi/emulator/internal/face/s3"
)

// Backends lists the storage faces this build offers.
func Backends() []string { return []string{"gcs", "s3", "azure"} }

// newFace builds the storage face of a backend.
func newFace(backend string, cfg face.Config) (face.Face, error) {
	switch backend {
	case "gcs":
		return gcs.New(cfg)
	case "s3":
		return s3.New(cfg)
	case "azure":
		return azure.New(cfg)
	}
	return nil, fmt.Errorf("backend %q is not available; choose one of: gcs, s3, azure", backend)
}
