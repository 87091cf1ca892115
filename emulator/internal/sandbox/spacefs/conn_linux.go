//go:build linux

package spacefs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// The server loop of a FUSE connection. go-fuse's own (fuse.Server) is
// made for one long-lived mount: each server has its own pool of read
// buffers (MaxWrite each, zeroed when made) and readers blocked in read(2),
// each holding an OS thread. The sandbox makes a mount per run, so every
// run paid for fresh buffers (in an emulator that forks for every child,
// each new page is a copy-on-write fault: a FUSE run took ~340 minor
// faults against ~140 with bind mounts, ~205 with this loop) and for the
// Go scheduler's handling of the blocked threads; of the ~2-3 ms of
// emulator CPU a FUSE run added on the machine this was measured on, this
// loop removed about half. Here the device is non-blocking and read
// through the runtime's poller (a waiting reader is a parked goroutine, no
// thread), and the buffers come from one free list for every connection
// of the process. go-fuse still parses the requests and calls the file
// system (fuse.ProtocolServer).

// maxWrite is the largest WRITE (and READ) the kernel sends, negotiated at
// INIT. Not 1 MiB: with 1 MiB a 100 MiB write took ~90 ms instead of
// ~110, but every buffer of the free list is that big.
const maxWrite = 128 << 10

// bufSize holds any request (a WRITE: its headers and maxWrite bytes) and
// any reply (a READ of maxWrite bytes); the kernel refuses reads into a
// smaller buffer.
const bufSize = maxWrite + 4096

// connReaders is how many requests of one connection are served at once.
const connReaders = 2

// freeBufs keeps buffers between connections: a run's server takes its
// few from here instead of making them.
var freeBufs = make(chan []byte, 64)

func getBuf() []byte {
	select {
	case b := <-freeBufs:
		return b
	default:
		return make([]byte, bufSize)
	}
}

func putBuf(b []byte) {
	select {
	case freeBufs <- b:
	default:
	}
}

// conn serves one FUSE connection.
type conn struct {
	dev *os.File // the /dev/fuse descriptor, non-blocking (poller)
	ps  *fuse.ProtocolServer
}

// serveConn answers the kernel's INIT on the FUSE connection devFd for
// raw, then serves its requests in the background until the mount goes
// away, and then calls done. It always takes devFd.
// ErrUnmounted: the mount was gone before INIT.
func serveConn(devFd int, raw fuse.RawFileSystem, done func()) error {
	if err := unix.SetNonblock(devFd, true); err != nil {
		unix.Close(devFd)
		return fmt.Errorf("spacefs: the FUSE descriptor: %w", err)
	}
	unix.CloseOnExec(devFd)
	c := &conn{
		dev: os.NewFile(uintptr(devFd), "/dev/fuse"),
		ps: fuse.NewProtocolServer(raw, &fuse.MountOptions{
			MaxWrite:           maxWrite,
			DisableXAttrs:      true,
			DisableReadDirPlus: true,
			MaxBackground:      32,
			Logger:             discardLogger,
		}),
	}
	// INIT first, alone: the kernel sends nothing else before its answer,
	// and the readers start after it (what it negotiated is then theirs).
	in, out := getBuf(), getBuf()
	ok, err := c.serveOne(in, out)
	putBuf(in)
	putBuf(out)
	if !ok {
		c.dev.Close()
		if err == nil || errors.Is(err, syscall.ENODEV) {
			return ErrUnmounted
		}
		return fmt.Errorf("spacefs: serve INIT: %w", err)
	}
	var wg sync.WaitGroup
	for range connReaders {
		wg.Go(c.loop)
	}
	go func() {
		wg.Wait()
		c.dev.Close()
		done()
	}()
	return nil
}

// loop serves requests until the connection ends.
func (c *conn) loop() {
	in, out := getBuf(), getBuf()
	defer putBuf(in)
	defer putBuf(out)
	for {
		if ok, _ := c.serveOne(in, out); !ok {
			return
		}
	}
}

// serveOne reads one request and answers it; false (and why) when the
// connection ended (ENODEV: unmounted).
func (c *conn) serveOne(in, out []byte) (bool, error) {
	k, err := c.dev.Read(in)
	for errors.Is(err, syscall.ENOENT) { // interrupted before it was read
		k, err = c.dev.Read(in)
	}
	switch {
	case err == io.EOF:
		return false, nil
	case err != nil:
		return false, err
	}
	n, st := c.ps.HandleRequest([][]byte{in[:k]}, [][]byte{out})
	if !st.Ok() {
		// A request go-fuse could not take (too short to have a header,
		// or a reply too big for out): the kernel still waits for an
		// answer to it.
		if k < 16 {
			return true, nil
		}
		n = replyError(out, binary.NativeEndian.Uint64(in[8:16]), syscall.EIO)
	}
	if n == 0 {
		return true, nil // no reply (FORGET, INTERRUPT)
	}
	if _, err := c.dev.Write(out[:n]); err != nil && !errors.Is(err, syscall.ENOENT) {
		// ENOENT: the request was interrupted and is gone.
		return !errors.Is(err, syscall.ENODEV), err
	}
	return true, nil
}

// replyError writes into out a reply to request unique that carries only
// errno, and returns its length.
func replyError(out []byte, unique uint64, errno syscall.Errno) int {
	const outHeader = 16 // len uint32, error int32, unique uint64
	binary.NativeEndian.PutUint32(out[0:4], outHeader)
	binary.NativeEndian.PutUint32(out[4:8], uint32(-int32(errno)))
	binary.NativeEndian.PutUint64(out[8:16], unique)
	return outHeader
}
