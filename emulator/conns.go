package emulator

import (
	"net"
	"net/http"
	"sync"
)

// freshConns tracks the server's connections that have not yet sent a
// request, so that Close does not wait for them: http.Server.Shutdown
// counts such a connection as busy for its first 5 seconds
// (go.dev/issue/22682), and an HTTP client that dialled a connection it
// then did not use (Go's Transport does when concurrent requests race for
// connections) would hold Close for that long, past the default
// CloseTimeout. A connection that sent nothing carries no request to wait
// for, like an idle keep-alive connection, which Shutdown closes at once.
type freshConns struct {
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closing bool // Close began: a connection accepted from now on is closed
}

// track is the server's ConnState hook.
func (f *freshConns) track(c net.Conn, st http.ConnState) {
	if st == http.StateIdle {
		return // after every request: nothing to do, no lock to take
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch st {
	case http.StateNew:
		if f.closing {
			_ = c.Close()
			return
		}
		if f.conns == nil {
			f.conns = map[net.Conn]struct{}{}
		}
		f.conns[c] = struct{}{}
	case http.StateActive, http.StateClosed, http.StateHijacked:
		delete(f.conns, c)
	}
}

// closeAll closes every connection that has not sent a request yet, and
// each one accepted after it.
func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closing = true
	for c := range f.conns {
		_ = c.Close()
	}
	clear(f.conns)
}
