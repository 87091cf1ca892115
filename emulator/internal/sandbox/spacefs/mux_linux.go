//go:build linux

package spacefs

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/localbaponi/localbaponi/emulator/internal/sandbox/child"
)

// Mux serves several spaces over one FUSE connection: the mount's root is
// a read-only directory whose entries "0", "1", … are the spaces' roots,
// each an FS of its own (its limit, its read-only flag). The sandbox
// binds each entry where code sees the space, so a run with a thread and
// volumes mounts FUSE once, and its server answers INIT once, whatever the
// number of spaces. The mount and INIT come before the run is known
// (ServeMux); the spaces are attached when it is (Attach).
//
// Node ids and file handles the kernel sees carry the space in their top
// bits (slot+1 << slotShift) and the FS's own id below; the mux's root is
// FUSE_ROOT_ID. Every request is handed to its space's FS with its ids
// translated, and refused when it would cross from one space to another
// (a rename: EXDEV).
type Mux struct {
	fuse.RawFileSystem
	list atomic.Pointer[[]*FS] // the attached spaces (nil: none yet)
	mu   sync.Mutex            // orders Attach and the server's end
	over bool
}

const (
	slotShift = 48
	localMask = 1<<slotShift - 1
	// muxRootFh is the handle of a listing of the mux's root, muxEmptyFh
	// of a placeholder's (empty).
	muxRootFh, muxEmptyFh = 1, 2
	// muxTimeout is how long the kernel keeps what never changes: the
	// root's attributes and its entries.
	muxTimeout = time.Hour
	// Placeholders is how many of the root's entries exist before Attach:
	// a sandbox child looks them up while it waits for its run, so that
	// binding a run's spaces asks the server nothing (the kernel keeps
	// the entries; their attributes, kept for no time, are asked for at
	// the first use, when the space is attached).
	Placeholders = child.FusePlaceholders
)

// ServeMux serves the FUSE connection devFd (an open /dev/fuse, already
// mounted by a sandbox child) until the mount goes away: it answers the
// kernel's INIT before returning, and the root is empty until Attach. It
// always takes devFd; ErrUnmounted means the mount was gone before INIT.
func ServeMux(devFd int) (*Mux, error) {
	m := &Mux{RawFileSystem: fuse.NewDefaultRawFileSystem()}
	err := serveConn(devFd, m, func() {
		// Under mu: a space attached now would never be released.
		m.mu.Lock()
		defer m.mu.Unlock()
		m.over = true
		for _, fs := range m.spaces() {
			fs.OnUnmount()
			close(fs.done)
		}
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ErrAttached is Attach's error when spaces were attached already.
var ErrAttached = errors.New("spacefs: the mount has its spaces already")

// Attach makes the spaces the entries "0", "1", … of the mount's root, and
// returns their file systems. It can be called once. It always takes every
// spaces[i].Root; ErrUnmounted means the mount is gone.
func (m *Mux) Attach(spaces []Options) ([]*FS, error) {
	var list []*FS
	fail := func(err error) ([]*FS, error) {
		for _, fs := range list {
			fs.OnUnmount()
		}
		return nil, err
	}
	for i, o := range spaces {
		fs, err := newFS(o)
		if err != nil {
			for _, rest := range spaces[i+1:] {
				if rest.Root != nil {
					rest.Root.Close()
				}
			}
			return fail(err)
		}
		list = append(list, fs)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.over:
		return fail(ErrUnmounted)
	case m.list.Load() != nil:
		return fail(ErrAttached)
	}
	m.list.Store(&list)
	return list, nil
}

// spaces returns the attached spaces.
func (m *Mux) spaces() []*FS {
	if l := m.list.Load(); l != nil {
		return *l
	}
	return nil
}

// String names the file system (go-fuse's mount name).
func (m *Mux) String() string { return "localbaponi" }

// space returns the FS of a kernel id and its slot, or nil for the root
// or an id that names no space.
func (m *Mux) space(id uint64) (*FS, uint64) {
	slot := id >> slotShift
	spaces := m.spaces()
	if slot == 0 || slot > uint64(len(spaces)) {
		return nil, 0
	}
	return spaces[slot-1], slot
}

// local translates a kernel id (node or handle) of slot to the FS's own.
func local(id, slot uint64) (uint64, bool) {
	return id & localMask, id>>slotShift == slot
}

// global translates an FS's own id of slot to the kernel's.
func global(id, slot uint64) uint64 { return slot<<slotShift | id }

// node translates the node id of a request in place; it returns the
// space's FS and slot, or nil for the root or an unknown id.
func (m *Mux) node(h *fuse.InHeader) (*FS, uint64) {
	fs, slot := m.space(h.NodeId)
	if fs != nil {
		h.NodeId &= localMask
	}
	return fs, slot
}

// refuse is the answer to a change of the mux's root (code never sees it:
// only its entries are bound in the sandbox) or an id that names nothing.
func (m *Mux) refuse(id uint64) fuse.Status {
	var a fuse.Attr
	if id == fuse.FUSE_ROOT_ID || m.placeholder(id, &a) {
		return fuse.EPERM
	}
	return fuse.ENOENT
}

func (m *Mux) rootAttr(a *fuse.Attr) {
	*a = fuse.Attr{Ino: fuse.FUSE_ROOT_ID, Mode: unix.S_IFDIR | 0o555, Nlink: 2}
}

// placeholder reports whether the kernel id is the root of entry i <
// Placeholders that has no space (yet), and gives its attributes: an
// empty read-only directory.
func (m *Mux) placeholder(id uint64, a *fuse.Attr) bool {
	slot, l := id>>slotShift, id&localMask
	if l != fuse.FUSE_ROOT_ID || slot == 0 || slot > Placeholders || slot <= uint64(len(m.spaces())) {
		return false
	}
	*a = fuse.Attr{Ino: fuse.FUSE_ROOT_ID + slot, Mode: unix.S_IFDIR | 0o555, Nlink: 2}
	return true
}

// Lookup finds a space in the root, or a name in a space.
func (m *Mux) Lookup(cancel <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	if h.NodeId == fuse.FUSE_ROOT_ID {
		spaces := m.spaces()
		i, err := strconv.Atoi(name)
		if err != nil || i < 0 || strconv.Itoa(i) != name {
			return fuse.ENOENT
		}
		if i >= len(spaces) {
			id := global(fuse.FUSE_ROOT_ID, uint64(i+1))
			if !m.placeholder(id, &out.Attr) {
				return fuse.ENOENT
			}
			out.NodeId, out.Generation = id, 0
			out.SetEntryTimeout(muxTimeout)
			out.SetAttrTimeout(0)
			return fuse.OK
		}
		var attr fuse.AttrOut
		in := fuse.GetAttrIn{InHeader: fuse.InHeader{NodeId: fuse.FUSE_ROOT_ID}}
		if code := spaces[i].GetAttr(cancel, &in, &attr); !code.Ok() {
			return code
		}
		// The space's root stays known to its FS for the mount's life:
		// the kernel's forgets of it are not passed on.
		out.NodeId, out.Generation, out.Attr = global(fuse.FUSE_ROOT_ID, uint64(i+1)), 0, attr.Attr
		out.SetEntryTimeout(muxTimeout)
		out.SetAttrTimeout(dirAttrTimeout)
		return fuse.OK
	}
	fs, slot := m.node(h)
	if fs == nil {
		return fuse.ENOENT
	}
	code := fs.Lookup(cancel, h, name, out)
	if code.Ok() {
		out.NodeId = global(out.NodeId, slot)
	}
	return code
}

// Forget passes the kernel's forgets on, except of the spaces' roots.
func (m *Mux) Forget(id, nlookup uint64) {
	if fs, slot := m.space(id); fs != nil {
		if l, _ := local(id, slot); l != fuse.FUSE_ROOT_ID {
			fs.Forget(l, nlookup)
		}
	}
}

// GetAttr stats the root or a node of a space.
func (m *Mux) GetAttr(cancel <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	if in.NodeId == fuse.FUSE_ROOT_ID {
		m.rootAttr(&out.Attr)
		out.SetTimeout(muxTimeout)
		return fuse.OK
	}
	if m.placeholder(in.NodeId, &out.Attr) {
		out.SetTimeout(0)
		return fuse.OK
	}
	fs, slot := m.node(&in.InHeader)
	if fs == nil {
		return fuse.ENOENT
	}
	if in.Flags()&fuse.FUSE_GETATTR_FH != 0 {
		fh, ok := local(in.Fh_, slot)
		if !ok {
			return fuse.EBADF
		}
		in.Fh_ = fh
	}
	return fs.GetAttr(cancel, in, out)
}

// SetAttr changes a node of a space.
func (m *Mux) SetAttr(cancel <-chan struct{}, in *fuse.SetAttrIn, out *fuse.AttrOut) fuse.Status {
	fs, slot := m.node(&in.InHeader)
	if fs == nil {
		return m.refuse(in.NodeId)
	}
	if in.Valid&fuse.FATTR_FH != 0 {
		fh, ok := local(in.Fh, slot)
		if !ok {
			return fuse.EBADF
		}
		in.Fh = fh
	}
	return fs.SetAttr(cancel, in, out)
}

// entryIn runs a call that makes a node in a directory of a space and
// gives the kernel its id.
func (m *Mux) entryIn(h *fuse.InHeader, out *fuse.EntryOut, call func(*FS) fuse.Status) fuse.Status {
	fs, slot := m.node(h)
	if fs == nil {
		return m.refuse(h.NodeId)
	}
	code := call(fs)
	if code.Ok() {
		out.NodeId = global(out.NodeId, slot)
	}
	return code
}

// Mknod is refused by the space (device nodes and fifos: EPERM).
func (m *Mux) Mknod(cancel <-chan struct{}, in *fuse.MknodIn, name string, out *fuse.EntryOut) fuse.Status {
	return m.entryIn(&in.InHeader, out, func(fs *FS) fuse.Status { return fs.Mknod(cancel, in, name, out) })
}

// Mkdir makes a directory in a space.
func (m *Mux) Mkdir(cancel <-chan struct{}, in *fuse.MkdirIn, name string, out *fuse.EntryOut) fuse.Status {
	return m.entryIn(&in.InHeader, out, func(fs *FS) fuse.Status { return fs.Mkdir(cancel, in, name, out) })
}

// Symlink makes a symbolic link in a space.
func (m *Mux) Symlink(cancel <-chan struct{}, h *fuse.InHeader, target, name string, out *fuse.EntryOut) fuse.Status {
	return m.entryIn(h, out, func(fs *FS) fuse.Status { return fs.Symlink(cancel, h, target, name, out) })
}

// Link is refused, as by every space.
func (m *Mux) Link(cancel <-chan struct{}, in *fuse.LinkIn, name string, out *fuse.EntryOut) fuse.Status {
	return fuse.EPERM
}

// Readlink reads a symbolic link of a space.
func (m *Mux) Readlink(cancel <-chan struct{}, h *fuse.InHeader) ([]byte, fuse.Status) {
	fs, _ := m.node(h)
	if fs == nil {
		return nil, fuse.EINVAL
	}
	return fs.Readlink(cancel, h)
}

// Unlink removes a file of a space.
func (m *Mux) Unlink(cancel <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	fs, _ := m.node(h)
	if fs == nil {
		return m.refuse(h.NodeId)
	}
	return fs.Unlink(cancel, h, name)
}

// Rmdir removes a directory of a space.
func (m *Mux) Rmdir(cancel <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	fs, _ := m.node(h)
	if fs == nil {
		return m.refuse(h.NodeId)
	}
	return fs.Rmdir(cancel, h, name)
}

// Rename moves within one space; between two it is EXDEV, as between two
// file systems (mv then copies).
func (m *Mux) Rename(cancel <-chan struct{}, in *fuse.RenameIn, oldName, newName string) fuse.Status {
	from, fromSlot := m.space(in.NodeId)
	to, toSlot := m.space(in.Newdir)
	switch {
	case from == nil:
		return m.refuse(in.NodeId)
	case to == nil:
		return m.refuse(in.Newdir)
	case fromSlot != toSlot:
		return fuse.Status(unix.EXDEV)
	}
	in.NodeId &= localMask
	in.Newdir &= localMask
	return from.Rename(cancel, in, oldName, newName)
}

// Create makes and opens a file in a space.
func (m *Mux) Create(cancel <-chan struct{}, in *fuse.CreateIn, name string, out *fuse.CreateOut) fuse.Status {
	fs, slot := m.node(&in.InHeader)
	if fs == nil {
		return m.refuse(in.NodeId)
	}
	code := fs.Create(cancel, in, name, out)
	if code.Ok() {
		out.NodeId = global(out.NodeId, slot)
		out.Fh = global(out.Fh, slot)
	}
	return code
}

// Open opens a file of a space.
func (m *Mux) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	fs, slot := m.node(&in.InHeader)
	if fs == nil {
		return m.refuse(in.NodeId)
	}
	code := fs.Open(cancel, in, out)
	if code.Ok() {
		out.Fh = global(out.Fh, slot)
	}
	return code
}

// handleOf translates the node id and the handle of a request on an open
// file in place; nil when they do not name one space.
func (m *Mux) handleOf(h *fuse.InHeader, fh *uint64) *FS {
	fs, slot := m.node(h)
	if fs == nil {
		return nil
	}
	l, ok := local(*fh, slot)
	if !ok {
		return nil
	}
	*fh = l
	return fs
}

// Read reads an open file of a space.
func (m *Mux) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	fs := m.handleOf(&in.InHeader, &in.Fh)
	if fs == nil {
		return nil, fuse.EBADF
	}
	return fs.Read(cancel, in, buf)
}

// Write writes an open file of a space.
func (m *Mux) Write(cancel <-chan struct{}, in *fuse.WriteIn, data []byte) (uint32, fuse.Status) {
	fs := m.handleOf(&in.InHeader, &in.Fh)
	if fs == nil {
		return 0, fuse.EBADF
	}
	return fs.Write(cancel, in, data)
}

// Fallocate changes the space of an open file of a space.
func (m *Mux) Fallocate(cancel <-chan struct{}, in *fuse.FallocateIn) fuse.Status {
	fs := m.handleOf(&in.InHeader, &in.Fh)
	if fs == nil {
		return fuse.EBADF
	}
	return fs.Fallocate(cancel, in)
}

// Flush is called at each close of an open file of a space.
func (m *Mux) Flush(cancel <-chan struct{}, in *fuse.FlushIn) fuse.Status {
	fs := m.handleOf(&in.InHeader, &in.Fh)
	if fs == nil {
		return fuse.EBADF
	}
	return fs.Flush(cancel, in)
}

// Fsync syncs an open file of a space.
func (m *Mux) Fsync(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	fs := m.handleOf(&in.InHeader, &in.Fh)
	if fs == nil {
		return fuse.EBADF
	}
	return fs.Fsync(cancel, in)
}

// Release closes an open file of a space.
func (m *Mux) Release(cancel <-chan struct{}, in *fuse.ReleaseIn) {
	if fs := m.handleOf(&in.InHeader, &in.Fh); fs != nil {
		fs.Release(cancel, in)
	}
}

// OpenDir lists the root (its spaces) or a directory of a space.
func (m *Mux) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	var a fuse.Attr
	switch {
	case in.NodeId == fuse.FUSE_ROOT_ID:
		out.Fh = muxRootFh
		return fuse.OK
	case m.placeholder(in.NodeId, &a):
		out.Fh = muxEmptyFh
		return fuse.OK
	}
	fs, slot := m.node(&in.InHeader)
	if fs == nil {
		return fuse.ENOENT
	}
	code := fs.OpenDir(cancel, in, out)
	if code.Ok() {
		out.Fh = global(out.Fh, slot)
	}
	return code
}

// ReadDir returns a listing from an offset (the index of the next entry).
func (m *Mux) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	if in.NodeId == fuse.FUSE_ROOT_ID {
		if in.Fh != muxRootFh {
			return fuse.EBADF
		}
		for i := int(in.Offset); i < len(m.spaces())+2; i++ {
			e := fuse.DirEntry{Name: ".", Mode: unix.S_IFDIR, Ino: fuse.FUSE_ROOT_ID, Off: uint64(i + 1)}
			switch {
			case i == 1:
				e.Name = ".."
			case i > 1:
				e.Name, e.Ino = strconv.Itoa(i-2), 0
			}
			if !out.AddDirEntry(e) {
				break
			}
		}
		return fuse.OK
	}
	if in.Fh == muxEmptyFh {
		for i := int(in.Offset); i < 2; i++ {
			if !out.AddDirEntry(fuse.DirEntry{Name: []string{".", ".."}[i], Mode: unix.S_IFDIR, Off: uint64(i + 1)}) {
				break
			}
		}
		return fuse.OK
	}
	fs := m.handleOf(&in.InHeader, &in.Fh)
	if fs == nil {
		return fuse.EBADF
	}
	return fs.ReadDir(cancel, in, out)
}

// ReleaseDir drops a listing.
func (m *Mux) ReleaseDir(in *fuse.ReleaseIn) {
	if in.NodeId == fuse.FUSE_ROOT_ID {
		return
	}
	if fs := m.handleOf(&in.InHeader, &in.Fh); fs != nil {
		fs.ReleaseDir(in)
	}
}

// FsyncDir has nothing to do (as in every space).
func (m *Mux) FsyncDir(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status { return fuse.OK }

// StatFs reports a space's size limit (see FS.StatFs); the root has none.
func (m *Mux) StatFs(cancel <-chan struct{}, h *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	fs, _ := m.node(h)
	if fs == nil {
		out.Bsize, out.Frsize, out.NameLen = 4096, 4096, 255
		return fuse.OK
	}
	return fs.StatFs(cancel, h, out)
}
