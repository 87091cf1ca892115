// Package reqlog remembers what a handler answered, for the one log line
// per request that the API and every storage face write.
package reqlog

import (
	"io"
	"net/http"
)

// Recorder wraps a ResponseWriter and records the status, the body bytes
// and the provider's error code of the response. It keeps the writer's
// sendfile path (ReadFrom) and lets http.ResponseController reach it
// (Unwrap).
type Recorder struct {
	http.ResponseWriter
	// Status is the status sent: the first WriteHeader's, or 200 once the
	// body starts; 0 while nothing is sent.
	Status int
	// Bytes counts the body bytes written.
	Bytes int64
	// Code is the error code of a refusal, set by the face that wrote it.
	Code string
}

// NewRecorder returns a Recorder writing to w.
func NewRecorder(w http.ResponseWriter) *Recorder { return &Recorder{ResponseWriter: w} }

// WriteHeader sends the status; later calls are passed on (net/http logs
// them as superfluous) but do not change Status.
func (r *Recorder) WriteHeader(status int) {
	if r.Status == 0 {
		r.Status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

// Write writes body bytes.
func (r *Recorder) Write(p []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.Bytes += int64(n)
	return n, err
}

// ReadFrom copies src to the underlying writer, so that the copy from a
// plain file can still use sendfile.
func (r *Recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	n, err := io.Copy(r.ResponseWriter, src)
	r.Bytes += n
	return n, err
}

// Flush flushes the underlying writer if it can.
func (r *Recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// StatusOr200 is Status, or 200 when the handler sent nothing (net/http then
// answers 200 with an empty body).
func (r *Recorder) StatusOr200() int {
	if r.Status == 0 {
		return http.StatusOK
	}
	return r.Status
}
