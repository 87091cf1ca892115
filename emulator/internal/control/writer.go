package control

import (
	"io"
	"net/http"
)

// respWriter counts what is written and, when a body fault is active,
// shapes it. Without a fault it passes ReadFrom through, so a face's
// sendfile path stays zero-copy.
type respWriter struct {
	http.ResponseWriter
	cl     *call
	status int
	bytes  int64
	shape  *shaper
}

func (w *respWriter) WriteHeader(code int) {
	if w.cl.cut {
		return
	}
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *respWriter) Write(p []byte) (int, error) {
	if w.cl.cut {
		return 0, errTruncated
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.shape != nil {
		n, err := w.shape.write(w, p)
		return n, err
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *respWriter) raw(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the underlying writer's zero-copy path when nothing shapes
// the body.
func (w *respWriter) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if w.shape != nil || w.cl.cut || !ok {
		return io.Copy(writerOnly{w}, src)
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := rf.ReadFrom(src)
	w.bytes += n
	return n, err
}

func (w *respWriter) Flush() {
	if w.cl.cut {
		return
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *respWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type writerOnly struct{ io.Writer }

// countBody counts the request body and fails reads once a reset aborted
// the request.
type countBody struct {
	io.ReadCloser
	cl *call
}

func (b *countBody) Read(p []byte) (int, error) {
	if b.cl.aborted.Load() {
		return 0, errAborted
	}
	n, err := b.ReadCloser.Read(p)
	b.cl.bodyIn.Add(int64(n))
	return n, err
}
