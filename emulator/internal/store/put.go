// Writing: Put (stream to a temp file, then rename into the space) and Delete.
package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// commitAttempts bounds how often Put retries when the parent directory it
// has just made vanishes before the rename (sandboxed code removing it; the
// store's own Delete is kept out by Store.treeMu).
const commitAttempts = 4

// Put streams exactly size bytes from body into the file at p, creating the
// space and parent directories as needed, and records contentType for it
// ("" means: guess from the extension when read). The file's mtime is the
// emulator clock's now. A body shorter or longer than size gives
// ErrSizeMismatch; that, a read error or a cancelled ctx leaves nothing
// behind and any earlier file at p untouched. A completed Put replaces an
// earlier file atomically.
func (s *Store) Put(ctx context.Context, sp Space, p, contentType string, size int64, body io.Reader) (Object, error) {
	return s.put(ctx, sp, p, contentType, size, body, false, nil)
}

// PutMD5 is Put that also computes the MD5 of the content, while the body
// is written (on another goroutine, so the hash costs no time when a core
// is free), keeps it with the file (Object.MD5, also from Stat and Open) and,
// if want is not nil, commits the file only if the MD5 equals want: else it
// gives ErrBadDigest and leaves nothing behind.
func (s *Store) PutMD5(ctx context.Context, sp Space, p, contentType string, size int64, body io.Reader, want []byte) (Object, error) {
	return s.put(ctx, sp, p, contentType, size, body, true, want)
}

func (s *Store) put(ctx context.Context, sp Space, p, contentType string, size int64, body io.Reader, withMD5 bool, want []byte) (Object, error) {
	fail := func(err error) (Object, error) {
		return Object{}, fmt.Errorf("store: put %s: %w", sp.ObjectKey(p), err)
	}
	if err := validSpace(sp); err != nil {
		return fail(err)
	}
	if err := ValidPath(p); err != nil {
		return fail(err)
	}
	if size < 0 {
		return fail(fmt.Errorf("%w: declared length %d is negative", ErrSizeMismatch, size))
	}
	// The usual case, a file into a directory that exists, takes one
	// syscall to open that directory (parentBeneath). Else the space is
	// opened once, for the precheck and the commit; a space that does not
	// exist yet is made at the commit (SPEC S-4).
	var (
		r   *os.Root
		pd  *os.File // p's parent directory, when it exists already
		pfd = -1     // the same, opened by parentBeneath
		err error
	)
	if pfd, err = s.parentBeneath(sp, p, size); err != nil {
		return fail(err)
	}
	if pfd >= 0 {
		defer func() {
			if pfd >= 0 {
				unix.Close(pfd)
			}
		}()
	} else {
		r, err = s.openSpace(sp)
		switch {
		case errors.Is(err, ErrNotFound):
			r = nil
		case err != nil:
			return fail(err)
		default:
			// Refuse a path that cannot be written before receiving up to
			// 10 GiB.
			if pd, err = s.precheckDir(r, p); err != nil {
				r.Close()
				return fail(err)
			}
			if pd != nil {
				defer pd.Close()
			}
		}
		defer func() {
			if r != nil {
				r.Close()
			}
		}()
	}
	var h hash.Hash
	if withMD5 {
		h = md5.New()
	}
	tmp, si, err := s.receive(ctx, size, body, h)
	if err != nil {
		return fail(err)
	}
	var sum string
	if h != nil {
		got := h.Sum(nil)
		if want != nil && !bytes.Equal(got, want) {
			if rerr := s.tmpRoot.Remove(tmp); rerr != nil && !isNotFound(rerr) {
				s.log.Warn("store: remove temp file", "name", tmp, "err", rerr)
			}
			return fail(fmt.Errorf("%w: the content's MD5 is %x, the request said %x", ErrBadDigest, got, want))
		}
		sum = hex.EncodeToString(got)
	}
	obj, err := s.commit(sp, &r, pd, &pfd, p, contentType, sum, tmp, si)
	if err != nil {
		if rerr := s.tmpRoot.Remove(tmp); rerr != nil && !isNotFound(rerr) {
			s.log.Warn("store: remove temp file", "name", tmp, "err", rerr)
		}
		return fail(err)
	}
	return obj, nil
}

// parentBeneath opens p's parent directory in one syscall (openDirBeneath)
// when it exists and nothing makes it unsafe to skip os.Root: it returns
// the descriptor, or -1 when the caller must take the os.Root path (the
// directory or the space does not exist yet, a symlink is on the way, no
// openat2, or a file owner is set, whose directories Put gives away as it
// makes them). A declared size over smallBufSize also gets precheck's
// refusal of a directory at p before the body is received; a small body
// costs less to receive than the check, and the rename refuses a directory
// anyway (EISDIR).
func (s *Store) parentBeneath(sp Space, p string, size int64) (int, error) {
	if s.owner.Load() != nil {
		return -1, nil
	}
	dir, base := parentOf(p)
	rel := sp.Key()
	if dir != "" {
		rel += "/" + dir
	}
	fd, err, ok := s.openDirBeneath(rel)
	if !ok || err != nil {
		return -1, nil
	}
	if size > smallBufSize {
		if si, err := fstatatNoFollow(fd, base); err == nil && si.mode.IsDir() {
			unix.Close(fd)
			return -1, fmt.Errorf("%w: %q is a directory and cannot be replaced by a file", ErrIsDir, p)
		}
	}
	return fd, nil
}

// precheckDir is precheck that also returns p's parent directory, opened,
// when it exists (the commit renames into it without resolving it again),
// or nil. A store with an owner to give directories to, and every case but
// an existing parent, take precheck itself.
func (s *Store) precheckDir(r *os.Root, p string) (*os.File, error) {
	if s.owner.Load() != nil {
		return nil, precheck(r, p)
	}
	dir, base := parentOf(p)
	pd, err := openDirIn(r, dir)
	if err != nil {
		return nil, precheck(r, p)
	}
	if si, err := lstatAt(pd, base); err == nil && si.mode.IsDir() {
		pd.Close()
		return nil, fmt.Errorf("%w: %q is a directory and cannot be replaced by a file", ErrIsDir, p)
	}
	return pd, nil
}

// precheck refuses early a path whose parent is a file, that leads outside
// the space r, or that names a directory.
func precheck(r *os.Root, p string) error {
	if dir, _ := parentOf(p); dir != "" {
		fi, err := r.Stat(dir)
		switch {
		case err == nil && !fi.IsDir():
			return fmt.Errorf("%w: %q is a file, so %q cannot be created under it", ErrInvalidPath, dir, p)
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return parentError(r, p, err)
		}
	}
	if fi, err := r.Lstat(p); err == nil && fi.IsDir() {
		return fmt.Errorf("%w: %q is a directory and cannot be replaced by a file", ErrIsDir, p)
	}
	return nil
}

// parentError explains why the parent directory of p could not be made or
// opened: a file in the way, or a symlink leading out of the space.
func parentError(r *os.Root, p string, err error) error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EEXIST) {
		if f := fileAncestor(r, p); f != "" {
			return fmt.Errorf("%w: %q is a file, so %q cannot be created under it", ErrInvalidPath, f, p)
		}
		return fmt.Errorf("%w: a parent of %q is not a directory: %w", ErrInvalidPath, p, err)
	}
	if isNotFound(err) && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: a parent of %q leads outside the space: %w", ErrInvalidPath, p, err)
	}
	return err
}

// fileAncestor returns the first proper prefix of p that exists and is
// neither a directory nor a symlink, or "".
func fileAncestor(r *os.Root, p string) string {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		fi, err := r.Lstat(p[:i])
		if err != nil {
			return ""
		}
		if !fi.IsDir() && fi.Mode()&os.ModeSymlink == 0 {
			return p[:i]
		}
	}
	return ""
}

// receive streams body into a new temp file through fixed-size buffers,
// reading at most size+1 bytes so an overlong body is noticed without reading
// it all. With h, every byte written is also hashed into h: a small body in
// line, a larger one on a goroutine of its own that hashes each buffer while
// it is written and the next ones are read (see hasher). On success the file
// is closed, stamped with the emulator clock and described by si; on failure
// it is removed.
func (s *Store) receive(ctx context.Context, size int64, body io.Reader, h hash.Hash) (_ string, _ statInfo, err error) {
	name := s.tempName("put")
	f, err := createAt(s.tmpDir, name, FileMode)
	if err != nil {
		return "", statInfo{}, fmt.Errorf("create temp file: %w", err)
	}
	if o := s.owner.Load(); o != nil {
		if err := f.Chown(o.uid, o.gid); err != nil {
			f.Close()
			_ = s.tmpRoot.Remove(name)
			return "", statInfo{}, fmt.Errorf("give temp file to %d:%d: %w", o.uid, o.gid, err)
		}
	}
	defer func() {
		if err != nil {
			f.Close()
			if rerr := s.tmpRoot.Remove(name); rerr != nil && !isNotFound(rerr) {
				s.log.Warn("store: remove temp file", "name", name, "err", rerr)
			}
		}
	}()

	limit := size + 1
	if size == math.MaxInt64 {
		limit = size
	}
	src := io.LimitReader(body, limit)
	hs := startHasher(h, limit)
	defer hs.stop()
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return "", statInfo{}, fmt.Errorf("upload interrupted after %d of %d bytes: %w", n, size, err)
		}
		buf := hs.buffer()
		m, rerr := hs.read(src, buf)
		// The hash reads the buffer while the file write does.
		hs.hash(buf[:m])
		if m > 0 {
			if _, werr := f.Write(buf[:m]); werr != nil {
				return "", statInfo{}, fmt.Errorf("write temp file: %w", werr)
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", statInfo{}, fmt.Errorf("read body after %d of %d bytes: %w", n, size, rerr)
		}
	}
	switch {
	case n > size:
		return "", statInfo{}, fmt.Errorf("%w: got more than %d bytes", ErrSizeMismatch, size)
	case n < size:
		return "", statInfo{}, fmt.Errorf("%w: got %d bytes, want %d", ErrSizeMismatch, n, size)
	}
	hs.stop() // h has seen every byte
	if err := f.Close(); err != nil {
		return "", statInfo{}, fmt.Errorf("close temp file: %w", err)
	}
	// The emulator clock, not the real one, is the file's modified time.
	// Both calls are relative to the .tmp directory's descriptor: one
	// syscall each, no path resolved.
	if err := lutimesAt(s.tmpDir, name, s.clk.Now()); err != nil {
		return "", statInfo{}, fmt.Errorf("set modified time: %w", err)
	}
	si, err := lstatAt(s.tmpDir, name)
	if err != nil {
		return "", statInfo{}, fmt.Errorf("stat temp file: %w", err)
	}
	return name, si, nil
}

// Upload buffers, shared by every store of the process (tests start many
// emulators). An upload without a hash is streamed through one buffer:
// copyBufSize for a large one, smallBufSize for the small ones most uploads
// are, so that they neither allocate nor fault in 1 MiB. An upload with a
// hash larger than hashBufSize goes through up to hashBufs buffers of
// hashBufSize (2 MiB in all, as much as before the hash moved to its own
// goroutine): enough that the hash, the slowest stage (MD5 runs at ~800 MB/s
// on one core, about the speed of the loopback copy and the file write
// together), always finds the next buffer read and waiting when it is done
// with one, and never waits for the socket. A smaller one is hashed in line,
// in one buffer: handing it to a goroutine would cost more than hashing it.
const (
	smallBufSize = 32 << 10
	hashBufSize  = 256 << 10
	hashBufs     = 8
)

var (
	bigBufs   = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}
	smallBufs = sync.Pool{New: func() any { b := make([]byte, smallBufSize); return &b }}
	hashPool  = sync.Pool{New: func() any { b := make([]byte, hashBufSize); return &b }}
)

// hasher owns an upload's buffers and, for a large upload with a hash, the
// goroutine that feeds them to the hash in the order they were filled. A
// buffer goes back to the reader (through free) only once the hash is done
// with it, so memory stays bounded whatever the upload's size, and the file
// write and the hash read the same buffer at the same time.
type hasher struct {
	h      hash.Hash
	pool   *sync.Pool
	bufs   []*[]byte // taken from pool; all go back at stop
	inLine bool      // h (if any) is written on the reader's goroutine
	work   chan []byte
	free   chan []byte // buffers the hash is done with
	done   chan struct{}
	ended  bool
}

// startHasher takes the buffers for an upload that reads at most limit
// bytes and, for a large one with a hash, starts the hash's goroutine.
func startHasher(h hash.Hash, limit int64) *hasher {
	hs := &hasher{h: h, inLine: true}
	switch {
	case limit <= smallBufSize:
		hs.pool = &smallBufs
	case h == nil:
		hs.pool = &bigBufs
	default:
		hs.pool = &hashPool
		hs.inLine = limit <= hashBufSize
	}
	if hs.inLine {
		hs.bufs = []*[]byte{hs.pool.Get().(*[]byte)}
		return hs
	}
	hs.work = make(chan []byte, hashBufs)
	hs.free = make(chan []byte, hashBufs)
	hs.done = make(chan struct{})
	go func() {
		defer close(hs.done)
		for b := range hs.work {
			hs.h.Write(b) // a hash.Hash never fails
			hs.free <- b
		}
	}()
	return hs
}

// buffer returns a buffer to fill: the one buffer of an upload hashed in
// line, else one the hash is done with, or a new one while fewer than
// hashBufs are out, else the first the hash gives back.
func (hs *hasher) buffer() []byte {
	if hs.inLine {
		return *hs.bufs[0]
	}
	select {
	case b := <-hs.free:
		return b[:cap(b)]
	default:
	}
	if len(hs.bufs) < hashBufs {
		b := hs.pool.Get().(*[]byte)
		hs.bufs = append(hs.bufs, b)
		return *b
	}
	b := <-hs.free
	return b[:cap(b)]
}

// read reads the next part of src into buf. With a hash on its own
// goroutine it fills buf (or reaches the end), so the hash gets whole
// buffers however small the body's reads are; the end is io.EOF, with or
// without bytes.
func (hs *hasher) read(src io.Reader, buf []byte) (int, error) {
	if hs.inLine {
		return src.Read(buf)
	}
	n := 0
	for n < len(buf) {
		m, err := src.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// hash hands b, the filled part of the current buffer, to the hash. The
// buffer is the hash's until it gives it back; an empty one goes straight
// back with the free ones.
func (hs *hasher) hash(b []byte) {
	switch {
	case hs.h == nil:
	case hs.inLine:
		hs.h.Write(b)
	case len(b) == 0:
		hs.free <- b // never blocks: free holds every buffer there is
	default:
		hs.work <- b
	}
}

// stop waits for the hash to finish and returns the buffers to the pool.
// It may be called more than once.
func (hs *hasher) stop() {
	if hs.ended {
		return
	}
	hs.ended = true
	if !hs.inLine {
		close(hs.work)
		<-hs.done
	}
	for _, b := range hs.bufs {
		hs.pool.Put(b)
	}
}

// commit moves the finished temp file tmp into place at p.
//
// os.Root offers no rename between two roots, and renaming by path from the
// store root would re-resolve every component of the space path at the
// moment of the rename, where a symlink planted by sandboxed code could
// redirect it. So the destination's parent directory is resolved once, inside
// the space root (MkdirAll, then open it as a directory fd: os.Root refuses
// any step that leaves the space), and the rename is renameat(2) from the
// .tmp directory fd to that parent fd with single-segment names: no path
// component is resolved again, and renameat never follows a symlink at the
// destination (it replaces the link itself).
//
// *pfd, if not -1, is p's parent directory as parentBeneath opened it
// (resolved as strictly, in one syscall): the first attempt renames into it
// and nothing else is opened. Put closes it; commit sets it to -1 when it
// closes it itself.
//
// *rp is the space as Put opened it, or nil if it did not exist then (or
// parentBeneath found the parent): it is made and opened here, and also
// opened again if it was removed meanwhile (so the file never lands in a
// directory that is gone). Put closes *rp.
// pd, if not nil, is p's parent directory, opened in *rp by the precheck:
// the first attempt renames into it (renameat into a directory removed
// since fails with ENOENT, and the next attempt makes it again).
func (s *Store) commit(sp Space, rp **os.Root, pd *os.File, pfd *int, p, contentType, md5sum, tmp string, si statInfo) (Object, error) {
	dir, base := parentOf(p)

	// The sidecar is written first, under the temp file's inode (which the
	// rename keeps), so the new file is never visible without its type; the
	// sidecar of a file it replaces is keyed by that file's inode and stays
	// valid if the rename fails. A type that the name's extension gives
	// anyway needs none (guessType is what a file without a sidecar gets).
	guess := guessType(p)
	if contentType == "" {
		contentType = guess
	}
	wroteMeta := false
	if contentType != guess || md5sum != "" {
		if err := s.writeSidecar(sp, p, contentType, md5sum, si); err != nil {
			s.log.Warn("store: write sidecar", "space", sp.Key(), "path", p, "err", err)
		} else {
			wroteMeta = true
		}
	}
	var (
		old statInfo
		err error
	)
	if *pfd >= 0 {
		// A parent removed since it was opened fails the rename with
		// ENOENT (errRaced): the attempts below make it again.
		s.treeMu.RLock()
		old, si, err = s.renameAt(*pfd, base, p, tmp, si)
		s.treeMu.RUnlock()
		if err == nil {
			return s.committed(sp, nil, *pfd, p, contentType, md5sum, guess, wroteMeta, old, si), nil
		}
		unix.Close(*pfd)
		*pfd = -1
		if !errors.Is(err, errRaced) {
			if wroteMeta {
				s.removeSidecar(sp, p, si.ino)
			}
			return Object{}, err
		}
	}
	if *rp != nil {
		if fi, err := (*rp).Lstat("."); err != nil || linkCount(fi) == 0 {
			(*rp).Close()
			*rp = nil
			pd = nil // in the space that is gone
		}
	}
	if *rp == nil {
		if err := s.Create(sp); err != nil {
			return Object{}, err
		}
		r, err := s.openSpace(sp)
		if err != nil {
			return Object{}, err
		}
		*rp = r
	}
	r := *rp
	for attempt := 1; attempt <= commitAttempts; attempt++ {
		s.treeMu.RLock()
		old, si, err = s.renameInto(r, pd, dir, base, p, tmp, si)
		s.treeMu.RUnlock()
		pd = nil // a retry resolves the parent again
		if err == nil || !errors.Is(err, errRaced) {
			break
		}
	}
	if err != nil {
		if wroteMeta {
			s.removeSidecar(sp, p, si.ino)
		}
		return Object{}, err
	}
	return s.committed(sp, r, -1, p, contentType, md5sum, guess, wroteMeta, old, si), nil
}

// committed finishes a commit whose rename succeeded: the sidecar of the
// file it replaced goes, the index learns the new file (through the parent
// descriptor pfd if not -1, else r), and the Object describes it.
func (s *Store) committed(sp Space, r *os.Root, pfd int, p, contentType, md5sum, guess string, wroteMeta bool, old, si statInfo) Object {
	if old.ino != 0 && old.ino != si.ino {
		s.removeSidecar(sp, p, old.ino)
	}
	s.reindex(sp, r, pfd, p)
	obj := Object{Path: p, Size: si.size, ContentType: guess, Modified: si.mtime, ETag: etag(si)}
	s.noteCommit(sp.Key(), p, obj.ETag)
	if wroteMeta {
		obj.ContentType, obj.MD5 = contentType, md5sum
	}
	return obj
}

// errRaced marks a failure caused by the parent directory that Put had just
// made vanishing before the rename (mkdirat saw EEXIST, then it was gone; or
// it was gone before renameat): sandboxed code removed it. Put tries again.
var errRaced = errors.New("parent directory removed concurrently")

// raceOr classifies an error from making or opening p's parent: a race with
// a pruning Delete (retried) when nothing is in the way, else parentError.
func raceOr(r *os.Root, p string, err error) error {
	if (errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EEXIST)) && fileAncestor(r, p) == "" {
		return fmt.Errorf("%w: %w", errRaced, err)
	}
	return parentError(r, p, err)
}

// renameInto makes dir inside r and renames tmp (described by si) to
// dir/base there; into pd, if not nil, without resolving dir. It returns what was at p before (zero if no regular file)
// for sidecar cleanup, and si as it is after the rename (which changes the
// ctime that the ETag includes).
func (s *Store) renameInto(r *os.Root, pd *os.File, dir, base, p, tmp string, si statInfo) (old, _ statInfo, err error) {
	if pd == nil {
		if dir != "" {
			if err := r.MkdirAll(dir, DirMode); err != nil {
				return statInfo{}, si, raceOr(r, p, err)
			}
			if err := s.giveDirs(r, dir); err != nil {
				return statInfo{}, si, raceOr(r, p, err)
			}
		}
		pd, err = openDirIn(r, dir)
		if err != nil {
			return statInfo{}, si, raceOr(r, p, err)
		}
		defer pd.Close()
	}
	var rerr error
	err = withFd(pd, func(to int) error {
		old, si, rerr = s.renameAt(to, base, p, tmp, si)
		return nil
	})
	if err == nil {
		err = rerr
	}
	return old, si, err
}

// renameAt renames tmp (described by si) to base in the directory
// descriptor to. It returns what was at base before (zero if no regular
// file) for sidecar cleanup, and si as it is after the rename (which
// changes the ctime that the ETag includes).
func (s *Store) renameAt(to int, base, p, tmp string, si statInfo) (old, _ statInfo, err error) {
	// Most uploads make a new file: a rename that refuses to replace
	// anything moves it in without first looking for a file to replace
	// (one syscall fewer). Anything at base (a file, a directory, a link)
	// makes it fail with EEXIST, and the general path below decides.
	err = withFd(s.tmpDir, func(from int) error {
		return renameNoReplace(from, tmp, to, base)
	})
	switch {
	case err == nil:
		if after, serr := fstatatNoFollow(to, base); serr == nil && after.ino == si.ino {
			si = after
		}
		return statInfo{}, si, nil
	case errors.Is(err, syscall.ENOENT):
		return statInfo{}, si, fmt.Errorf("%w: rename into place: %w", errRaced, err)
	}
	if cur, err := fstatatNoFollow(to, base); err == nil && cur.mode.IsRegular() {
		old = cur
	}
	if old.size >= exchangeMin {
		if done, old, si, err := s.exchangeAt(to, base, p, tmp, si); done {
			return old, si, err
		}
	}
	err = withFd(s.tmpDir, func(from int) error {
		return unix.Renameat(from, tmp, to, base)
	})
	switch {
	case err == nil:
		if after, serr := fstatatNoFollow(to, base); serr == nil && after.ino == si.ino {
			si = after
		}
		return old, si, nil
	case errors.Is(err, syscall.ENOENT):
		return statInfo{}, si, fmt.Errorf("%w: rename into place: %w", errRaced, err)
	case errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ENOTEMPTY), errors.Is(err, syscall.EEXIST):
		return statInfo{}, si, fmt.Errorf("%w: %q is a directory and cannot be replaced by a file", ErrIsDir, p)
	default:
		return statInfo{}, si, fmt.Errorf("rename into place: %w", err)
	}
}

// Delete removes a regular file and its sidecar, then every parent directory
// that became empty, up to (not including) the space root: as in an object
// store, "data/" vanishes with its last file. A directory gives ErrIsDir
// (deletion is not recursive); anything else that is not a regular file
// gives ErrNotFound.
func (s *Store) Delete(ctx context.Context, sp Space, p string) error {
	fail := func(err error) error { return fmt.Errorf("store: delete %s: %w", sp.ObjectKey(p), err) }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := ValidPath(p); err != nil {
		return fail(err)
	}
	r, err := s.openSpace(sp)
	if err != nil {
		return fail(err)
	}
	defer r.Close()
	dir, base := parentOf(p)
	pd, err := openDirIn(r, dir)
	if err != nil {
		if isNotFound(err) {
			return fail(fmt.Errorf("%w: %q: %w", ErrNotFound, p, err))
		}
		return fail(err)
	}
	si, err := lstatAt(pd, base)
	if err == nil {
		switch {
		case si.mode.IsDir():
			err = fmt.Errorf("%w: %q (deletion is not recursive)", ErrIsDir, p)
		case !si.mode.IsRegular():
			err = fmt.Errorf("%w: %q is not a regular file", ErrNotFound, p)
		default:
			// unlinkat without AT_REMOVEDIR never removes a directory,
			// even one swapped in since the lstat.
			err = withFd(pd, func(fd int) error { return unix.Unlinkat(fd, base, 0) })
			if errors.Is(err, syscall.EISDIR) {
				err = fmt.Errorf("%w: %q (deletion is not recursive)", ErrIsDir, p)
			}
		}
	}
	pd.Close()
	if err != nil {
		if isNotFound(err) {
			return fail(fmt.Errorf("%w: %q: %w", ErrNotFound, p, err))
		}
		return fail(err)
	}
	s.removeSidecar(sp, p, si.ino)
	s.pruneEmptyParents(r, dir)
	s.reindex(sp, r, -1, p)
	return nil
}

// pruneEmptyParents removes dir and its ancestors while they are empty real
// directories (never a symlink), stopping at the space root.
func (s *Store) pruneEmptyParents(r *os.Root, dir string) {
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	for dir != "" {
		parent, base := parentOf(dir)
		pd, err := openDirIn(r, parent)
		if err != nil {
			return
		}
		si, err := lstatAt(pd, base)
		if err == nil && si.mode.IsDir() {
			// AT_REMOVEDIR fails with ENOTEMPTY on a non-empty directory
			// and with ENOTDIR on a symlink: both end the walk.
			err = withFd(pd, func(fd int) error { return unix.Unlinkat(fd, base, unix.AT_REMOVEDIR) })
		} else if err == nil {
			err = errors.New("not a directory")
		}
		pd.Close()
		if err != nil {
			return
		}
		dir = parent
	}
}
