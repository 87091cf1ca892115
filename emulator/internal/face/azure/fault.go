package azure

import (
	"net/http"

	"github.com/localbaponi/localbaponi/emulator/internal/reqlog"
)

// WriteFaultError writes an error that a fault rule injects, as Azure Blob
// Storage writes its errors.
func (f *Face) WriteFaultError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	reqID := newRequestID()
	h := w.Header()
	h.Set("x-ms-request-id", reqID)
	h.Set("x-ms-version", responseVersion(r))
	f.writeError(reqlog.NewRecorder(w), r, reqID, &azError{status: status, code: code, message: message})
}
