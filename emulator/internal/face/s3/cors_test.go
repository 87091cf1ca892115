package s3

import (
	"net/http"
	"testing"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
	"github.com/localbaponi/localbaponi/emulator/internal/face/facetest"
)

func TestCORSPolicy(t *testing.T) {
	facetest.CheckCORS(t, func(cfg face.Config) (face.Face, error) { return New(cfg) }, facetest.CORSRefusal{Status: http.StatusForbidden, Code: "AccessForbidden"})
}
