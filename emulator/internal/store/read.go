// Reading: Stat and Open of one regular file.
package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
)

// Reader reads one stored file: Read and Seek (for Range requests) over the
// bytes that were opened, and the Object describing them. Close it. The file
// store's Reader reads an open file (WriteTo hands it to the writer, for
// sendfile); a remote store's (NewReader) reads what the store fetches.
type Reader struct {
	io.ReadSeekCloser
	Object
	f *os.File
}

// WriteTo writes the rest of the file (from the current offset up to the
// size it had when opened) to w. io.Copy prefers it, and it hands w the open
// file itself, so an http.ResponseWriter can send it with sendfile(2).
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	if r.f == nil {
		return io.Copy(w, onlyReader{r.ReadSeekCloser})
	}
	off, err := r.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	return io.Copy(w, &io.LimitedReader{R: r.f, N: max(r.Size-off, 0)})
}

// Range positions the reader at start and returns a view of the next n
// bytes that closes the file when closed; its WriteTo also uses sendfile.
func (r *Reader) Range(start, n int64) (io.ReadCloser, error) {
	if r.f == nil {
		if _, err := r.ReadSeekCloser.Seek(start, io.SeekStart); err != nil {
			return nil, fmt.Errorf("store: seek to %d: %w", start, err)
		}
		return &section{LimitedReader: io.LimitedReader{R: onlyReader{r.ReadSeekCloser}, N: n}, c: r.ReadSeekCloser}, nil
	}
	if _, err := r.f.Seek(start, io.SeekStart); err != nil {
		return nil, fmt.Errorf("store: seek to %d: %w", start, err)
	}
	return &section{LimitedReader: io.LimitedReader{R: r.f, N: n}, c: r.f}, nil
}

// onlyReader hides every method but Read (so io.Copy does not come back to
// a WriteTo).
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// section is a limited view of an open file.
type section struct {
	io.LimitedReader
	c io.Closer
}

func (s *section) Close() error { return s.c.Close() }

// WriteTo hands w the limited file (see Reader.WriteTo).
func (s *section) WriteTo(w io.Writer) (int64, error) { return io.Copy(w, &s.LimitedReader) }

// lookup validates sp and p, opens the space and lstats p. Only a regular
// file passes: a directory gives ErrIsDir; anything missing, a symlink (even
// one that stays inside the space: List never shows them either), a FIFO,
// socket or device gives ErrNotFound. The caller closes the returned root.
func (s *Store) lookup(sp Space, p string) (*os.Root, statInfo, error) {
	if err := ValidPath(p); err != nil {
		return nil, statInfo{}, err
	}
	r, err := s.openSpace(sp)
	if err != nil {
		return nil, statInfo{}, err
	}
	fi, err := r.Lstat(p)
	if err != nil {
		r.Close()
		if isNotFound(err) {
			return nil, statInfo{}, fmt.Errorf("%w: %q: %w", ErrNotFound, p, err)
		}
		return nil, statInfo{}, err
	}
	si := infoFromFileInfo(fi)
	switch {
	case si.mode.IsDir():
		r.Close()
		return nil, statInfo{}, fmt.Errorf("%w: %q", ErrIsDir, p)
	case !si.mode.IsRegular():
		r.Close()
		return nil, statInfo{}, fmt.Errorf("%w: %q is not a regular file", ErrNotFound, p)
	}
	return r, si, nil
}

// Size returns the size of the regular file at p: Stat without the
// content type (no sidecar is read), for the hot path of upload_url. Errors
// as Stat's. An indexed space answers from its index (no syscall).
func (s *Store) Size(ctx context.Context, sp Space, p string) (int64, error) {
	fail := func(err error) (int64, error) { return 0, fmt.Errorf("store: size %s: %w", sp.ObjectKey(p), err) }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := validSpace(sp); err != nil {
		return fail(err)
	}
	if err := ValidPath(p); err != nil {
		return fail(err)
	}
	if idx := s.indexed(sp.Key()); idx != nil {
		return idx.sizeOf(sp, p)
	}
	si, err, ok := s.statBeneath(sp.ObjectKey(p))
	if !ok {
		r, rsi, lerr := s.lookup(sp, p)
		if lerr != nil {
			return fail(lerr)
		}
		r.Close()
		return rsi.size, nil
	}
	switch {
	case err != nil:
		// upload_url asks for the size of a file that is usually not
		// there yet and drops the error: it is formatted only if read.
		return 0, &sizeNotFound{sp: sp, p: p, err: err}
	case si.mode.IsDir():
		return fail(fmt.Errorf("%w: %q", ErrIsDir, p))
	case !si.mode.IsRegular():
		return fail(fmt.Errorf("%w: %q is not a regular file", ErrNotFound, p))
	}
	return si.size, nil
}

// Stat describes a regular file.
func (s *Store) Stat(ctx context.Context, sp Space, p string) (Object, error) {
	if err := ctx.Err(); err != nil {
		return Object{}, fmt.Errorf("store: stat %s: %w", sp.ObjectKey(p), err)
	}
	r, si, err := s.lookup(sp, p)
	if err != nil {
		return Object{}, fmt.Errorf("store: stat %s: %w", sp.ObjectKey(p), err)
	}
	r.Close()
	return s.object(sp, p, si), nil
}

// Open opens a regular file for reading. The Reader keeps reading the bytes
// it opened even if the file is replaced or deleted meanwhile.
func (s *Store) Open(ctx context.Context, sp Space, p string) (*Reader, error) {
	fail := func(err error) (*Reader, error) {
		return nil, fmt.Errorf("store: open %s: %w", sp.ObjectKey(p), err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	r, _, err := s.lookup(sp, p)
	if err != nil {
		return fail(err)
	}
	defer r.Close()
	// O_NONBLOCK: if sandboxed code swapped a FIFO in since the lstat, the
	// open returns at once instead of waiting for a writer; the fstat below
	// then refuses it. It has no effect on reads of a regular file.
	f, err := r.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if isNotFound(err) {
			return fail(fmt.Errorf("%w: %q: %w", ErrNotFound, p, err))
		}
		return fail(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fail(err)
	}
	si := infoFromFileInfo(fi)
	switch {
	case si.mode.IsDir():
		f.Close()
		return fail(fmt.Errorf("%w: %q", ErrIsDir, p))
	case !si.mode.IsRegular():
		f.Close()
		return fail(fmt.Errorf("%w: %q is not a regular file", ErrNotFound, p))
	}
	return &Reader{ReadSeekCloser: f, Object: s.object(sp, p, si), f: f}, nil
}

// sizeNotFound is Size's error for a missing file: it reads as
// fmt.Errorf("store: size %s: %w: %q: %w", key, ErrNotFound, p, err) would,
// and wraps the same errors, but costs nothing until its text is asked for.
type sizeNotFound struct {
	sp  Space
	p   string
	err error
}

func (e *sizeNotFound) Error() string {
	return "store: size " + e.sp.ObjectKey(e.p) + ": " + ErrNotFound.Error() + ": " + strconv.Quote(e.p) + ": " + e.err.Error()
}

func (e *sizeNotFound) Unwrap() []error { return []error{ErrNotFound, e.err} }
