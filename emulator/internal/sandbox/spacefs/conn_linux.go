//go:build linux

package spacefs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// The server loop of a FUSE connection. go-fuse's own (fuse.Server) is
// made for one long-lived mount: each server has its own pool of read
// buffers (MaxWrite each, zeroed when made) and readers blocked in read(2),
// each holding an OS thread. The sandbox makes a mount per run, so every
// run paid for fresh buffers (in an emulator that forks for every child,
// each new page is a copy-on-write fault: 407 minor faults a run in the
// emulator against 277 with bind mounts; 291 against 251 with this loop)
// and for the Go scheduler's handling of the blocked threads. Here the
// device is non-blocking and read through the runtime's poller (a waiting
// reader is a parked goroutine, no thread), and the buffers come from one
// free list for every connection of the process. go-fuse still parses the
// requests and calls the file system (fuse.ProtocolServer).
//
// One reader serves a connection, and answers each request itself: two
// readers of one descriptor take turns on its read lock, and each request
// then woke the other reader (a goroutine and a thread), which made a
// request's round trip 2-4 times slower (python's stat of a file in the
// home, a lookup and a getattr: 51-131 µs against 16-37). A request that
// may take long (a large READ or WRITE, an fsync) first starts a second
// reader if none waits, so that the others are not held behind it; a
// reader that finds another waiting when it is done goes away.

// maxWrite is the largest WRITE (and READ) the kernel sends, negotiated at
// INIT. Not 1 MiB: with 1 MiB a 100 MiB write took ~90 ms instead of
// ~110, but every buffer of the free list is that big.
const maxWrite = 128 << 10

// bufSize holds any request (a WRITE: its headers and maxWrite bytes) and
// any reply (a READ of maxWrite bytes); the kernel refuses reads into a
// smaller buffer.
const bufSize = maxWrite + 4096

// maxReaders is how many requests of one connection are served at once,
// at most.
const maxReaders = 4

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
	wg  sync.WaitGroup
	// readers is how many readers there are, waiting how many of them are
	// reading (or waiting to).
	readers, waiting atomic.Int32
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
	// and the reader starts after it (what it negotiated is then its).
	in, out := getBuf(), getBuf()
	k, err := c.read(in)
	ok := err == nil && c.serve(in[:k], out)
	putBuf(in)
	putBuf(out)
	if !ok {
		c.dev.Close()
		if err == nil || err == io.EOF || errors.Is(err, syscall.ENODEV) {
			return ErrUnmounted
		}
		return fmt.Errorf("spacefs: serve INIT: %w", err)
	}
	c.readers.Store(1)
	c.wg.Add(1)
	go c.loop()
	go func() {
		c.wg.Wait()
		c.dev.Close()
		done()
	}()
	return nil
}

// loop serves requests until the connection ends, or another reader
// waits when this one is done with a request.
func (c *conn) loop() {
	defer c.wg.Done()
	in, out := getBuf(), getBuf()
	defer putBuf(in)
	defer putBuf(out)
	for {
		k, err := c.read(in)
		if err == nil && mayBlock(in[:k]) {
			c.help()
		}
		if err != nil || !c.serve(in[:k], out) {
			c.readers.Add(-1) // the connection ended
			return
		}
		if c.surplus() {
			return
		}
	}
}

// help starts another reader if none waits (and there are not too many).
func (c *conn) help() {
	if c.waiting.Load() > 0 {
		return
	}
	for {
		n := c.readers.Load()
		if n >= maxReaders {
			return
		}
		if c.readers.CompareAndSwap(n, n+1) {
			break
		}
	}
	c.wg.Add(1)
	go c.loop()
}

// surplus reports whether this reader goes away (and counts it gone):
// another one waits for the next request.
func (c *conn) surplus() bool {
	for {
		n := c.readers.Load()
		if n <= 1 || c.waiting.Load() == 0 {
			return false
		}
		if c.readers.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// read reads one request; io.EOF or ENODEV when the connection ended.
func (c *conn) read(in []byte) (int, error) {
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	for {
		k, err := c.dev.Read(in)
		if errors.Is(err, syscall.ENOENT) { // interrupted before it was read
			continue
		}
		return k, err
	}
}

// testBeforeServe, set by tests only, sees each request before it is served.
var testBeforeServe func(req []byte)

// FUSE opcodes (include/uapi/linux/fuse.h; go-fuse keeps its own
// unexported) and the length of a request's header (fuse_in_header).
const (
	opRead, opWrite, opFsync, opFsyncDir, opFallocate, opCopyFileRange = 15, 16, 20, 30, 43, 47
	inHeader                                                           = 40
)

// mayBlock reports whether a request may take long enough that other
// requests should not wait for it: a READ or WRITE of 64 KiB or more, an
// fsync, an fallocate or a copy between files.
func mayBlock(req []byte) bool {
	if len(req) < inHeader {
		return false
	}
	switch binary.NativeEndian.Uint32(req[4:8]) {
	case opRead, opWrite:
		// fh, offset, then the size (fuse_read_in, fuse_write_in).
		return len(req) >= inHeader+20 && binary.NativeEndian.Uint32(req[inHeader+16:inHeader+20]) >= 64<<10
	case opFsync, opFsyncDir, opFallocate, opCopyFileRange:
		return true
	}
	return false
}

// serve answers one request; false when the connection ended (ENODEV:
// unmounted).
func (c *conn) serve(req, out []byte) bool {
	if testBeforeServe != nil {
		testBeforeServe(req)
	}
	n, st := c.ps.HandleRequest([][]byte{req}, [][]byte{out})
	if !st.Ok() {
		// A request go-fuse could not take (too short to have a header,
		// or a reply too big for out): the kernel still waits for an
		// answer to it.
		if len(req) < 16 {
			return true
		}
		n = replyError(out, binary.NativeEndian.Uint64(req[8:16]), syscall.EIO)
	}
	if n == 0 {
		return true // no reply (FORGET, INTERRUPT)
	}
	if _, err := c.dev.Write(out[:n]); err != nil && !errors.Is(err, syscall.ENOENT) {
		// ENOENT: the request was interrupted and is gone.
		return !errors.Is(err, syscall.ENODEV)
	}
	return true
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
