package gcs

import "net/http"

// WriteFaultError writes an error that a fault rule injects, as GCS's XML
// API writes its errors.
func (f *Face) WriteFaultError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	f.fail(&recorder{ResponseWriter: w}, r, status, code, message, "injected by a localbaponi fault rule")
}
