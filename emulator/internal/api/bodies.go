package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// DefaultBodyIdleTimeout is how long a request body may send nothing before
// the emulator gives up on it (Options.BodyIdleTimeout, --body-idle-timeout).
const DefaultBodyIdleTimeout = 60 * time.Second

// BodyIdleError is the read error of a request body that sent nothing for
// longer than the idle timeout. It wraps os.ErrDeadlineExceeded, which is
// what the faces test for.
type BodyIdleError struct {
	Idle time.Duration
	Err  error // the connection's read error
}

func (e *BodyIdleError) Error() string {
	return fmt.Sprintf("request body sent no data for %s (the body idle timeout): %v", e.Idle, e.Err)
}

// Unwrap returns the connection's error (an os.ErrDeadlineExceeded).
func (e *BodyIdleError) Unwrap() error { return e.Err }

// IdleBodies makes every request body fail with a *BodyIdleError once it has
// sent no byte for idle: the read deadline of the connection is moved to
// now+idle before each read of the body, so a slow but steady upload of any
// size goes on, while a stalled one (a client that sent its headers and then
// nothing, or stopped halfway) releases its connection, file descriptor and
// temp file after idle instead of never. The handler sees the error from its
// next Read; the store then removes the partial upload (SPEC U-6).
//
// idle <= 0 turns the timeout off. The deadline is never touched once the
// body has ended, so the server's own wait for the next request on the
// connection and long handlers (an execution) are unaffected.
func IdleBodies(next http.Handler, idle time.Duration) http.Handler {
	if idle <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			// A shallow copy: the server must keep seeing its own body
			// type, or it cannot tell that the body was abandoned and
			// would keep the connection open for another request.
			r2 := *r
			r2.Body = IdleBody(w, r.Body, idle)
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}

// IdleBody is what IdleBodies does to one request body, for a caller that
// has its own copy of the request already (the emulator's controller): body
// with a read deadline moved to now+idle before each read, through w, the
// request's ResponseWriter. idle <= 0, or no body, returns body.
func IdleBody(w http.ResponseWriter, body io.ReadCloser, idle time.Duration) io.ReadCloser {
	if idle <= 0 || body == nil || body == http.NoBody {
		return body
	}
	return &idleBody{ReadCloser: body, w: w, idle: idle}
}

// idleBody is a request body with a per-read deadline.
type idleBody struct {
	io.ReadCloser
	w    http.ResponseWriter // its ResponseController moves the deadline
	idle time.Duration
	done bool // the body ended or failed, or deadlines are unsupported
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	if err := http.NewResponseController(b.w).SetReadDeadline(time.Now().Add(b.idle)); err != nil {
		// Not a plain HTTP/1 connection (a test recorder, HTTP/2): no
		// deadline to move; the server's own timeouts apply.
		b.done = true
		return b.ReadCloser.Read(p)
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		// At io.EOF net/http has already cleared the deadline for its
		// background read of the next request; on any error the
		// connection is finished with this body.
		b.done = true
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return n, &BodyIdleError{Idle: b.idle, Err: err}
		}
	}
	return n, err
}
