package emulator

import (
	"sort"

	"github.com/localbaponi/localbaponi/emulator/internal/face"
)

// faces are the storage faces this build offers, by backend name.
var faces = map[string]func(face.Config) (face.Face, error){}

func faceNames() []string {
	names := make([]string, 0, len(faces))
	for n := range faces {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
