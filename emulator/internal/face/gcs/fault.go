package gcs

import (
	"net/http"

	"github.com/localbaponi/localbaponi/emulator/internal/reqlog"
)

// WriteFaultError writes an error that a fault rule injects, as GCS's XML
// API writes its errors.
func (f *Face) WriteFaultError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	f.writeError(reqlog.NewRecorder(w), r, &gcsError{status: status, code: code, message: message,
		details: "injected by a localbaponi fault rule"})
}
