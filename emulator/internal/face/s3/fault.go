package s3

import (
	"fmt"
	"net/http"

	"github.com/localbaponi/localbaponi/emulator/internal/reqlog"
)

// WriteFaultError writes an error that a fault rule injects, as S3 writes
// its errors.
func (f *Face) WriteFaultError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	id := fmt.Sprintf("%016X", f.reqID.Add(1))
	w.Header().Set("x-amz-request-id", id)
	f.writeError(reqlog.NewRecorder(w), r, id, &s3Error{status: status, Code: code, Message: message})
}
