//go:build linux

package spacefs

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// Options configure the file system of one space.
type Options struct {
	// Root is the space's host directory, opened by the caller with
	// O_DIRECTORY|O_NOFOLLOW. Attach takes it over (closes it at the end).
	Root *os.File `json:"-"`
	// ReadOnly refuses every change with EROFS.
	ReadOnly bool
	// Quota is the most the space may hold (the sum of its regular files'
	// sizes), in bytes; 0 means no limit. Used is what it held before.
	Quota, Used int64
	// Chown gives what the server creates to UID:GID (the emulator runs
	// as root and the sandbox user is another host id).
	Chown    bool
	UID, GID int
	// InsideUID and InsideGID are the ids files of UID:GID show inside the
	// sandbox (1000); files of the host's root show as 0 when RootMapped,
	// any other owner as 65534.
	InsideUID, InsideGID uint32
	RootMapped           bool
}

// FS is the FUSE file system of one space, an entry of a Mux (Attach).
type FS struct {
	fuse.RawFileSystem
	o      Options
	rootFd int

	mu     sync.Mutex
	nodes  map[uint64]*node // nodeid → node
	byIno  map[uint64]*node // host inode → node
	nextID uint64
	fhs    map[uint64]*handle
	nextFh uint64

	qmu  sync.Mutex // held across every size change, so that used is exact
	used int64
	hit  atomic.Bool // a change was refused for the size limit

	done chan struct{}
}

// node is an inode the kernel knows. Its place (parent and name) is where
// it was last seen; it is only a hint, checked on every use against ino.
type node struct {
	id      uint64
	ino     uint64
	typ     uint32 // S_IFMT bits
	parent  *node
	name    string
	lookups uint64
}

// handle is an open file (fd >= 0) or a directory listing.
type handle struct {
	fd      int
	n       *node
	entries []fuse.DirEntry
}

// entryTimeout and attrTimeout are zero: the store changes spaces while
// code runs (uploads, deletes), so the kernel asks every time. Only a
// directory's own attributes are kept for dirAttrTimeout: interpreters
// stat their working directory before every import (python: ~60 times
// at startup), and a directory's size and times say nothing about the
// files in it that a lookup would not ask for anyway.
const entryTimeout, attrTimeout, dirAttrTimeout = 0, 0, time.Second

// resolveFlags confine every lookup to the space.
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// openFiles counts the descriptors held for open files by every FS of
// this process; maxOpenFiles bounds it (EMFILE to the code beyond).
var (
	openFiles    atomic.Int64
	maxOpenFiles = func() int64 {
		var rl unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) != nil {
			return 256
		}
		return int64(min(max(rl.Cur/4, 64), 8192))
	}()
)

// MaxOpenFiles returns the bound on descriptors held for open files by
// all servers of this process (a quarter of RLIMIT_NOFILE at start, at
// most 8192).
func MaxOpenFiles() int64 { return maxOpenFiles }

// ErrUnmounted is ServeMux's error when the mount went away before its
// INIT was answered, and Attach's once the mount is gone: there is
// nothing left to serve.
var ErrUnmounted = errors.New("spacefs: the mount went away before it was served")

// newFS makes the file system of one space; it takes o.Root.
func newFS(o Options) (*FS, error) {
	if o.Root == nil {
		return nil, errors.New("spacefs: no root")
	}
	rootFd, err := unix.Dup(int(o.Root.Fd()))
	o.Root.Close()
	if err != nil {
		return nil, fmt.Errorf("spacefs: dup root: %w", err)
	}
	unix.CloseOnExec(rootFd)
	var st unix.Stat_t
	if err := unix.Fstat(rootFd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(rootFd)
		return nil, fmt.Errorf("spacefs: root is not a directory (%v)", err)
	}
	o.Root = nil
	fs := &FS{
		RawFileSystem: fuse.NewDefaultRawFileSystem(),
		o:             o, rootFd: rootFd, used: o.Used,
		nodes: map[uint64]*node{}, byIno: map[uint64]*node{}, nextID: fuse.FUSE_ROOT_ID + 1,
		fhs: map[uint64]*handle{}, nextFh: 1, done: make(chan struct{}),
	}
	root := &node{id: fuse.FUSE_ROOT_ID, ino: st.Ino, typ: unix.S_IFDIR, lookups: 1}
	fs.nodes[root.id] = root
	return fs, nil
}

// Done is closed when the mount is gone and every descriptor is released.
func (fs *FS) Done() <-chan struct{} { return fs.done }

// QuotaHit reports whether a change was refused because it would take the
// space over its size limit.
func (fs *FS) QuotaHit() bool { return fs.hit.Load() }

// Used is what the space holds by the server's count: what it held at
// the start plus what code added through it, less what it removed.
func (fs *FS) Used() int64 {
	fs.qmu.Lock()
	defer fs.qmu.Unlock()
	return fs.used
}

// String names the file system (go-fuse's mount name).
func (fs *FS) String() string { return "localbaponi" }

// OnUnmount releases every descriptor once the mount is gone.
func (fs *FS) OnUnmount() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for id, h := range fs.fhs {
		if h.fd >= 0 {
			unix.Close(h.fd)
			openFiles.Add(-1)
		}
		delete(fs.fhs, id)
	}
	if fs.rootFd >= 0 {
		unix.Close(fs.rootFd)
		fs.rootFd = -1
	}
}

// --- nodes and paths ---

func (fs *FS) node(id uint64) *node {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.nodes[id]
}

// validName refuses what a single directory entry cannot be.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && len(name) <= 255 && !strings.ContainsAny(name, "/\x00")
}

// pathOf is n's last known path below the root ("." for the root); false
// when n was removed.
func (fs *FS) pathOf(n *node) ([]string, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var comps []string
	for c := n; c.id != fuse.FUSE_ROOT_ID; c = c.parent {
		if c.parent == nil {
			return nil, false
		}
		comps = append(comps, c.name)
	}
	for i, j := 0, len(comps)-1; i < j; i, j = i+1, j-1 {
		comps[i], comps[j] = comps[j], comps[i]
	}
	return comps, true
}

// chunkMax keeps each openat2 path well under PATH_MAX; a deeper node is
// reached in steps, holding at most two descriptors at a time.
const chunkMax = 3000

// open opens n with flags (O_NOFOLLOW and O_CLOEXEC are added) by its path
// from the root, confined to the space, and checks that it is still n.
func (fs *FS) open(n *node, flags int) (int, unix.Stat_t, error) {
	var st unix.Stat_t
	comps, ok := fs.pathOf(n)
	if !ok {
		return -1, st, unix.ESTALE
	}
	dir := fs.rootFd
	if dir < 0 {
		return -1, st, unix.ENOTCONN
	}
	closeDir := func() {
		if dir != fs.rootFd {
			unix.Close(dir)
		}
	}
	for {
		// Take as many components as fit in one chunk.
		k, size := 0, 0
		for k < len(comps) && (k == 0 || size+len(comps[k])+1 <= chunkMax) {
			size += len(comps[k]) + 1
			k++
		}
		last := k == len(comps)
		p := "."
		if k > 0 {
			p = strings.Join(comps[:k], "/")
		}
		f := unix.O_PATH | unix.O_DIRECTORY
		if last {
			f = flags
		}
		fd, err := unix.Openat2(dir, p, &unix.OpenHow{Flags: uint64(f | unix.O_NOFOLLOW | unix.O_CLOEXEC), Resolve: resolveFlags})
		closeDir()
		if err != nil {
			if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ELOOP) {
				err = unix.ESTALE // moved, or a symlink now stands where a directory was
			}
			return -1, st, err
		}
		if last {
			if err := unix.Fstat(fd, &st); err != nil {
				unix.Close(fd)
				return -1, st, err
			}
			if st.Ino != n.ino {
				unix.Close(fd)
				return -1, st, unix.ESTALE
			}
			return fd, st, nil
		}
		dir, comps = fd, comps[k:]
	}
}

// openNode is open of node id: ESTALE for an id the server no longer
// knows.
func (fs *FS) openNode(id uint64, flags int) (int, unix.Stat_t, *node, error) {
	n := fs.node(id)
	if n == nil {
		return -1, unix.Stat_t{}, nil, unix.ESTALE
	}
	fd, st, err := fs.open(n, flags)
	return fd, st, n, err
}

// dirOf opens directory n as an O_PATH descriptor for *at calls.
func (fs *FS) dirOf(id uint64) (int, *node, error) {
	fd, st, n, err := fs.openNode(id, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return -1, nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(fd)
		return -1, nil, unix.ENOTDIR
	}
	return fd, n, nil
}

// remember records that the kernel learned (parent, name) as the inode
// of st, and returns its node (lookup count + 1).
func (fs *FS) remember(parent *node, name string, st *unix.Stat_t) *node {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	typ := st.Mode & unix.S_IFMT
	n := fs.byIno[st.Ino]
	if n != nil && n.typ != typ {
		n = nil // the inode number was reused for another kind of file
	}
	if n == nil || n.id == fuse.FUSE_ROOT_ID {
		if n != nil && n.id == fuse.FUSE_ROOT_ID {
			// The root's inode under another name (a bind on the host):
			// never give the root a parent.
			n = nil
		}
		n = &node{id: fs.nextID, ino: st.Ino, typ: typ}
		fs.nextID++
		fs.nodes[n.id] = n
		fs.byIno[st.Ino] = n
	}
	n.parent, n.name = parent, name
	n.lookups++
	return n
}

// moved updates the place of a node the server moved or removed.
func (fs *FS) moved(ino uint64, parent *node, name string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if n := fs.byIno[ino]; n != nil && n.id != fuse.FUSE_ROOT_ID {
		n.parent, n.name = parent, name
	}
}

// Forget drops the kernel's references to a node.
func (fs *FS) Forget(id, nlookup uint64) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := fs.nodes[id]
	if n == nil || id == fuse.FUSE_ROOT_ID {
		return
	}
	if n.lookups > nlookup {
		n.lookups -= nlookup
		return
	}
	delete(fs.nodes, id)
	if fs.byIno[n.ino] == n {
		delete(fs.byIno, n.ino)
	}
}

// --- attributes ---

func (fs *FS) attr(st *unix.Stat_t, a *fuse.Attr) {
	a.FromStat((*syscall.Stat_t)(unsafe.Pointer(st)))
	a.Uid, a.Gid = fs.insideID(st.Uid, uint32(fs.o.UID), fs.o.InsideUID), fs.insideID(st.Gid, uint32(fs.o.GID), fs.o.InsideGID)
	a.Mode &^= unix.S_ISUID | unix.S_ISGID
}

func (fs *FS) insideID(host, sandbox, inside uint32) uint32 {
	switch {
	case host == sandbox:
		return inside
	case host == 0 && fs.o.RootMapped:
		return 0
	}
	return 65534
}

func (fs *FS) entry(n *node, st *unix.Stat_t, out *fuse.EntryOut) {
	out.NodeId, out.Generation = n.id, 0
	out.SetEntryTimeout(entryTimeout)
	out.SetAttrTimeout(attrTimeoutOf(st))
	fs.attr(st, &out.Attr)
}

func attrTimeoutOf(st *unix.Stat_t) time.Duration {
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return dirAttrTimeout
	}
	return attrTimeout
}

// Lookup finds name in a directory.
func (fs *FS) Lookup(_ <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	if !validName(name) {
		return fuse.ENOENT
	}
	dir, parent, err := fs.dirOf(h.NodeId)
	if err != nil {
		return fuse.ToStatus(err)
	}
	defer unix.Close(dir)
	var st unix.Stat_t
	if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fuse.ToStatus(err)
	}
	fs.entry(fs.remember(parent, name, &st), &st, out)
	return fuse.OK
}

// GetAttr stats a node (through its open file when the kernel names one).
func (fs *FS) GetAttr(_ <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	var st unix.Stat_t
	if in.Flags()&fuse.FUSE_GETATTR_FH != 0 {
		if h := fs.handle(in.Fh()); h != nil && h.fd >= 0 {
			if err := unix.Fstat(h.fd, &st); err != nil {
				return fuse.ToStatus(err)
			}
			fs.attr(&st, &out.Attr)
			out.SetTimeout(attrTimeoutOf(&st))
			return fuse.OK
		}
	}
	fd, st, _, err := fs.openNode(in.NodeId, unix.O_PATH)
	if err != nil {
		return fuse.ToStatus(err)
	}
	unix.Close(fd)
	fs.attr(&st, &out.Attr)
	out.SetTimeout(attrTimeoutOf(&st))
	return fuse.OK
}

// procPath names an open descriptor of this process; reopening it or
// changing the file through it reaches exactly that inode, whatever code
// does to the tree.
func procPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// SetAttr truncates, changes the mode or the times of a node. Owners do
// not change (the kernel already refused it to code without CAP_CHOWN;
// giving a file to its current owner is a no-op).
func (fs *FS) SetAttr(_ <-chan struct{}, in *fuse.SetAttrIn, out *fuse.AttrOut) fuse.Status {
	if fs.o.ReadOnly {
		return fuse.Status(unix.EROFS)
	}
	fd, st, _, err := fs.openNode(in.NodeId, unix.O_PATH)
	if err != nil {
		return fuse.ToStatus(err)
	}
	defer unix.Close(fd)
	typ := st.Mode & unix.S_IFMT
	if uid, ok := in.GetUID(); ok && uid != fs.insideID(st.Uid, uint32(fs.o.UID), fs.o.InsideUID) {
		return fuse.EPERM
	}
	if gid, ok := in.GetGID(); ok && gid != fs.insideID(st.Gid, uint32(fs.o.GID), fs.o.InsideGID) {
		return fuse.EPERM
	}
	if size, ok := in.GetSize(); ok {
		if typ != unix.S_IFREG {
			return fuse.EINVAL
		}
		wfd := -1
		if fh, ok := in.GetFh(); ok {
			if h := fs.handle(fh); h != nil && h.fd >= 0 {
				wfd = h.fd
			}
		}
		if wfd < 0 {
			f, err := unix.Open(procPath(fd), unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
			if err != nil {
				return fuse.ToStatus(err)
			}
			defer unix.Close(f)
			wfd = f
		}
		if code := fs.truncate(wfd, int64(size)); !code.Ok() {
			return code
		}
	}
	if mode, ok := in.GetMode(); ok {
		if typ != unix.S_IFREG && typ != unix.S_IFDIR {
			return fuse.Status(unix.EOPNOTSUPP)
		}
		if err := unix.Chmod(procPath(fd), mode&0o1777); err != nil {
			return fuse.ToStatus(err)
		}
	}
	if in.Valid&(fuse.FATTR_ATIME|fuse.FATTR_MTIME|fuse.FATTR_ATIME_NOW|fuse.FATTR_MTIME_NOW) != 0 {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		switch {
		case in.Valid&fuse.FATTR_ATIME_NOW != 0:
			ts[0].Nsec = unix.UTIME_NOW
		case in.Valid&fuse.FATTR_ATIME != 0:
			ts[0] = unix.Timespec{Sec: int64(in.Atime), Nsec: int64(in.Atimensec)}
		}
		switch {
		case in.Valid&fuse.FATTR_MTIME_NOW != 0:
			ts[1].Nsec = unix.UTIME_NOW
		case in.Valid&fuse.FATTR_MTIME != 0:
			ts[1] = unix.Timespec{Sec: int64(in.Mtime), Nsec: int64(in.Mtimensec)}
		}
		if err := unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH); err != nil {
			return fuse.ToStatus(err)
		}
	}
	if err := unix.Fstat(fd, &st); err != nil {
		return fuse.ToStatus(err)
	}
	fs.attr(&st, &out.Attr)
	out.SetTimeout(attrTimeout)
	return fuse.OK
}

// --- the size limit ---

// grow reserves delta more bytes (what a change adds) and reports whether
// they fit; the caller holds qmu.
func (fs *FS) growLocked(delta int64) bool {
	if delta <= 0 {
		fs.used += delta
		return true
	}
	if fs.o.Quota > 0 && fs.used+delta > fs.o.Quota {
		fs.hit.Store(true)
		return false
	}
	fs.used += delta
	return true
}

// truncate sets the size of the regular file fd within the limit.
func (fs *FS) truncate(fd int, size int64) fuse.Status {
	fs.qmu.Lock()
	defer fs.qmu.Unlock()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fuse.ToStatus(err)
	}
	if !fs.growLocked(size - st.Size) {
		return fuse.Status(unix.ENOSPC)
	}
	if err := unix.Ftruncate(fd, size); err != nil {
		fs.used -= size - st.Size
		return fuse.ToStatus(err)
	}
	return fuse.OK
}

// freedBy is what removing the entry name of dir gives back: a regular
// file's size when this is its last link.
func freedBy(dir int, name string) int64 {
	var st unix.Stat_t
	if unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return 0
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Nlink == 1 {
		return st.Size
	}
	return 0
}

// --- creating and removing ---

// created gives a new file (open as fd, O_PATH or not) to the sandbox
// user with exactly mode, and returns its stat.
func (fs *FS) created(fd int, mode uint32, chmod bool) (unix.Stat_t, error) {
	var st unix.Stat_t
	if fs.o.Chown {
		if err := unix.Fchownat(fd, "", fs.o.UID, fs.o.GID, unix.AT_EMPTY_PATH); err != nil {
			return st, err
		}
	}
	if chmod {
		// The server's umask applied on top of the code's (the kernel
		// already applied the code's): set exactly what code asked for.
		if err := unix.Chmod(procPath(fd), mode&0o1777); err != nil {
			return st, err
		}
	}
	err := unix.Fstat(fd, &st)
	return st, err
}

func (fs *FS) refuseChange() fuse.Status {
	if fs.o.ReadOnly {
		return fuse.Status(unix.EROFS)
	}
	return fuse.OK
}

// changeIn opens the directory nodeID for a change of its entry name:
// EROFS in a read-only space, EINVAL for a name that is not one path
// component. The caller closes dir.
func (fs *FS) changeIn(nodeID uint64, name string) (dir int, parent *node, code fuse.Status) {
	if code := fs.refuseChange(); !code.Ok() {
		return -1, nil, code
	}
	if !validName(name) {
		return -1, nil, fuse.EINVAL
	}
	dir, parent, err := fs.dirOf(nodeID)
	if err != nil {
		return -1, nil, fuse.ToStatus(err)
	}
	return dir, parent, fuse.OK
}

// Mkdir makes a directory.
func (fs *FS) Mkdir(_ <-chan struct{}, in *fuse.MkdirIn, name string, out *fuse.EntryOut) fuse.Status {
	dir, parent, code := fs.changeIn(in.NodeId, name)
	if !code.Ok() {
		return code
	}
	defer unix.Close(dir)
	if err := unix.Mkdirat(dir, name, 0o700); err != nil {
		return fuse.ToStatus(err)
	}
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fuse.ToStatus(err)
	}
	defer unix.Close(fd)
	st, err := fs.created(fd, in.Mode, true)
	if err != nil {
		return fuse.ToStatus(err)
	}
	fs.entry(fs.remember(parent, name, &st), &st, out)
	return fuse.OK
}

// Symlink stores a symlink as it is; the kernel resolves it in the
// sandbox's view, the server never follows it.
func (fs *FS) Symlink(_ <-chan struct{}, h *fuse.InHeader, target, name string, out *fuse.EntryOut) fuse.Status {
	dir, parent, code := fs.changeIn(h.NodeId, name)
	if !code.Ok() {
		return code
	}
	defer unix.Close(dir)
	if err := unix.Symlinkat(target, dir, name); err != nil {
		return fuse.ToStatus(err)
	}
	fd, err := unix.Openat(dir, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fuse.ToStatus(err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fuse.ToStatus(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK || int(st.Uid) != os.Geteuid() {
		return fuse.EIO // replaced between the two calls: give nothing away
	}
	if st, err = fs.created(fd, 0, false); err != nil {
		return fuse.ToStatus(err)
	}
	fs.entry(fs.remember(parent, name, &st), &st, out)
	return fuse.OK
}

// Readlink returns a symlink's target.
func (fs *FS) Readlink(_ <-chan struct{}, h *fuse.InHeader) ([]byte, fuse.Status) {
	fd, st, _, err := fs.openNode(h.NodeId, unix.O_PATH)
	if err != nil {
		return nil, fuse.ToStatus(err)
	}
	defer unix.Close(fd)
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return nil, fuse.EINVAL
	}
	buf := make([]byte, unix.PathMax)
	k, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return nil, fuse.ToStatus(err)
	}
	return buf[:k], fuse.OK
}

// Mknod makes an empty regular file; devices, fifos and sockets are refused.
func (fs *FS) Mknod(_ <-chan struct{}, in *fuse.MknodIn, name string, out *fuse.EntryOut) fuse.Status {
	if in.Mode&unix.S_IFMT != unix.S_IFREG {
		return fuse.EPERM
	}
	var co fuse.CreateOut
	code := fs.Create(nil, &fuse.CreateIn{InHeader: in.InHeader, Flags: unix.O_WRONLY, Mode: in.Mode}, name, &co)
	if !code.Ok() {
		return code
	}
	fs.Release(nil, &fuse.ReleaseIn{Fh: co.Fh})
	*out = co.EntryOut
	return fuse.OK
}

// Link is refused: a second name for a file would count its size twice
// against the limit and let it outlive a delete through the Files API.
func (fs *FS) Link(_ <-chan struct{}, _ *fuse.LinkIn, _ string, _ *fuse.EntryOut) fuse.Status {
	return fuse.EPERM
}

// Unlink removes a file.
func (fs *FS) Unlink(_ <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	return fs.remove(h, name, 0)
}

// Rmdir removes an empty directory.
func (fs *FS) Rmdir(_ <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	return fs.remove(h, name, unix.AT_REMOVEDIR)
}

func (fs *FS) remove(h *fuse.InHeader, name string, flags int) fuse.Status {
	dir, _, code := fs.changeIn(h.NodeId, name)
	if !code.Ok() {
		return code
	}
	defer unix.Close(dir)
	fs.qmu.Lock()
	defer fs.qmu.Unlock()
	var st unix.Stat_t
	if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fuse.ToStatus(err)
	}
	freed := freedBy(dir, name)
	if err := unix.Unlinkat(dir, name, flags); err != nil {
		return fuse.ToStatus(err)
	}
	fs.used -= freed
	fs.moved(st.Ino, nil, "")
	return fuse.OK
}

// Rename moves a file (RENAME_NOREPLACE and RENAME_EXCHANGE included).
func (fs *FS) Rename(_ <-chan struct{}, in *fuse.RenameIn, oldName, newName string) fuse.Status {
	if code := fs.refuseChange(); !code.Ok() {
		return code
	}
	if !validName(oldName) || !validName(newName) || in.Flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE) != 0 {
		return fuse.EINVAL
	}
	od, op, err := fs.dirOf(in.NodeId)
	if err != nil {
		return fuse.ToStatus(err)
	}
	defer unix.Close(od)
	nd, np, err := fs.dirOf(in.Newdir)
	if err != nil {
		return fuse.ToStatus(err)
	}
	defer unix.Close(nd)
	fs.qmu.Lock()
	defer fs.qmu.Unlock()
	var ost, nst unix.Stat_t
	if err := unix.Fstatat(od, oldName, &ost, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fuse.ToStatus(err)
	}
	replaced := unix.Fstatat(nd, newName, &nst, unix.AT_SYMLINK_NOFOLLOW) == nil
	var freed int64
	if replaced && in.Flags&unix.RENAME_EXCHANGE == 0 && nst.Ino != ost.Ino {
		freed = freedBy(nd, newName)
	}
	if err := unix.Renameat2(od, oldName, nd, newName, uint(in.Flags)); err != nil {
		return fuse.ToStatus(err)
	}
	fs.used -= freed
	if replaced && in.Flags&unix.RENAME_EXCHANGE != 0 {
		fs.moved(nst.Ino, op, oldName)
	} else if replaced && nst.Ino != ost.Ino {
		fs.moved(nst.Ino, nil, "")
	}
	fs.moved(ost.Ino, np, newName)
	return fuse.OK
}

// --- open files ---

func (fs *FS) handle(fh uint64) *handle {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.fhs[fh]
}

func (fs *FS) addHandle(h *handle) uint64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fh := fs.nextFh
	fs.nextFh++
	fs.fhs[fh] = h
	return fh
}

// reserveFile takes one of the process's open-file descriptors.
func reserveFile() bool {
	if openFiles.Add(1) > maxOpenFiles {
		openFiles.Add(-1)
		return false
	}
	return true
}

// ioFlags are the open flags the server's own descriptor gets: the access
// mode (write-only becomes read-write where allowed: the page cache may
// read around a write), never append (writes come with their offset),
// create or truncate.
func ioFlags(flags uint32) int {
	switch int(flags) & unix.O_ACCMODE {
	case unix.O_WRONLY, unix.O_RDWR:
		return unix.O_RDWR
	}
	return unix.O_RDONLY
}

// Create makes and opens a new regular file.
func (fs *FS) Create(_ <-chan struct{}, in *fuse.CreateIn, name string, out *fuse.CreateOut) fuse.Status {
	dir, parent, code := fs.changeIn(in.NodeId, name)
	if !code.Ok() {
		return code
	}
	defer unix.Close(dir)
	if !reserveFile() {
		return fuse.Status(unix.EMFILE)
	}
	fd, err := unix.Openat(dir, name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_RDWR, 0o600)
	if err != nil {
		openFiles.Add(-1)
		return fuse.ToStatus(err)
	}
	st, err := fs.created(fd, in.Mode, true)
	if err != nil {
		unix.Close(fd)
		openFiles.Add(-1)
		return fuse.ToStatus(err)
	}
	n := fs.remember(parent, name, &st)
	fs.entry(n, &st, &out.EntryOut)
	out.Fh = fs.addHandle(&handle{fd: fd, n: n})
	return fuse.OK
}

// Open opens a regular file: the node is pinned by an O_PATH descriptor
// and checked to be a regular file, then reopened through it.
func (fs *FS) Open(_ <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	write := int(in.Flags)&unix.O_ACCMODE != unix.O_RDONLY || in.Flags&unix.O_TRUNC != 0
	if write && fs.o.ReadOnly {
		return fuse.Status(unix.EROFS)
	}
	pfd, st, n, err := fs.openNode(in.NodeId, unix.O_PATH)
	if err != nil {
		return fuse.ToStatus(err)
	}
	defer unix.Close(pfd)
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fuse.EINVAL
	}
	if !reserveFile() {
		return fuse.Status(unix.EMFILE)
	}
	flags := ioFlags(in.Flags)
	fd, err := unix.Open(procPath(pfd), flags|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil && flags == unix.O_RDWR && int(in.Flags)&unix.O_ACCMODE == unix.O_WRONLY {
		fd, err = unix.Open(procPath(pfd), unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	}
	if err != nil {
		openFiles.Add(-1)
		return fuse.ToStatus(err)
	}
	if in.Flags&unix.O_TRUNC != 0 {
		if code := fs.truncate(fd, 0); !code.Ok() {
			unix.Close(fd)
			openFiles.Add(-1)
			return code
		}
	}
	out.Fh = fs.addHandle(&handle{fd: fd, n: n})
	return fuse.OK
}

// Read reads from an open file.
func (fs *FS) Read(_ <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	h := fs.handle(in.Fh)
	if h == nil || h.fd < 0 {
		return nil, fuse.EBADF
	}
	k, err := unix.Pread(h.fd, buf[:min(int(in.Size), len(buf))], int64(in.Offset))
	if err != nil {
		return nil, fuse.ToStatus(err)
	}
	return fuse.ReadResultData(buf[:k]), fuse.OK
}

// Write writes to an open file, within the size limit: a write that would
// take the space over it fails whole with ENOSPC.
func (fs *FS) Write(_ <-chan struct{}, in *fuse.WriteIn, data []byte) (uint32, fuse.Status) {
	if fs.o.ReadOnly {
		return 0, fuse.Status(unix.EROFS)
	}
	h := fs.handle(in.Fh)
	if h == nil || h.fd < 0 {
		return 0, fuse.EBADF
	}
	fs.qmu.Lock()
	defer fs.qmu.Unlock()
	var st unix.Stat_t
	if err := unix.Fstat(h.fd, &st); err != nil {
		return 0, fuse.ToStatus(err)
	}
	end := int64(in.Offset) + int64(len(data))
	grow := max(end-st.Size, 0)
	if !fs.growLocked(grow) {
		return 0, fuse.Status(unix.ENOSPC)
	}
	k, err := unix.Pwrite(h.fd, data, int64(in.Offset))
	if err != nil {
		fs.used -= grow
		return 0, fuse.ToStatus(err)
	}
	if k < len(data) {
		fs.used -= grow - max(int64(in.Offset)+int64(k)-st.Size, 0)
	}
	return uint32(k), fuse.OK
}

// Fallocate allocates (mode 0, counted like a write) or punches a hole;
// other modes are refused (KEEP_SIZE would take disk the limit cannot see).
func (fs *FS) Fallocate(_ <-chan struct{}, in *fuse.FallocateIn) fuse.Status {
	if fs.o.ReadOnly {
		return fuse.Status(unix.EROFS)
	}
	h := fs.handle(in.Fh)
	if h == nil || h.fd < 0 {
		return fuse.EBADF
	}
	switch in.Mode {
	case 0:
	case unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE:
		return fuse.ToStatus(unix.Fallocate(h.fd, in.Mode, int64(in.Offset), int64(in.Length)))
	default:
		return fuse.Status(unix.EOPNOTSUPP)
	}
	fs.qmu.Lock()
	defer fs.qmu.Unlock()
	var st unix.Stat_t
	if err := unix.Fstat(h.fd, &st); err != nil {
		return fuse.ToStatus(err)
	}
	grow := max(int64(in.Offset+in.Length)-st.Size, 0)
	if !fs.growLocked(grow) {
		return fuse.Status(unix.ENOSPC)
	}
	if err := unix.Fallocate(h.fd, 0, int64(in.Offset), int64(in.Length)); err != nil {
		fs.used -= grow
		return fuse.ToStatus(err)
	}
	return fuse.OK
}

// Flush has nothing to do (writes reach the file as they come): ENOSYS
// tells the kernel so, and it sends no FLUSH at each close from then on
// (one round trip less per file code writes).
func (fs *FS) Flush(_ <-chan struct{}, _ *fuse.FlushIn) fuse.Status { return fuse.ENOSYS }

// Fsync syncs an open file.
func (fs *FS) Fsync(_ <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	h := fs.handle(in.Fh)
	if h == nil || h.fd < 0 {
		return fuse.OK
	}
	return fuse.ToStatus(unix.Fsync(h.fd))
}

// FsyncDir is a no-op.
func (fs *FS) FsyncDir(_ <-chan struct{}, _ *fuse.FsyncIn) fuse.Status { return fuse.OK }

// Release closes an open file.
func (fs *FS) Release(_ <-chan struct{}, in *fuse.ReleaseIn) {
	fs.mu.Lock()
	h := fs.fhs[in.Fh]
	delete(fs.fhs, in.Fh)
	fs.mu.Unlock()
	if h != nil && h.fd >= 0 {
		unix.Close(h.fd)
		openFiles.Add(-1)
	}
}

// --- directories ---

// OpenDir reads a whole directory listing; no descriptor stays open.
func (fs *FS) OpenDir(_ <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	fd, st, n, err := fs.openNode(in.NodeId, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return fuse.ToStatus(err)
	}
	defer unix.Close(fd)
	entries := []fuse.DirEntry{{Name: ".", Mode: unix.S_IFDIR, Ino: st.Ino}, {Name: "..", Mode: unix.S_IFDIR}}
	buf := make([]byte, 32<<10)
	for {
		k, err := unix.Getdents(fd, buf)
		if err != nil {
			return fuse.ToStatus(err)
		}
		if k <= 0 {
			break
		}
		for b := buf[:k]; len(b) >= 19; {
			reclen := int(*(*uint16)(unsafe.Pointer(&b[16])))
			if reclen < 19 || reclen > len(b) {
				break
			}
			ino := *(*uint64)(unsafe.Pointer(&b[0]))
			typ := b[18]
			name := b[19:reclen]
			if i := strings.IndexByte(string(name), 0); i >= 0 {
				name = name[:i]
			}
			if s := string(name); s != "." && s != ".." {
				entries = append(entries, fuse.DirEntry{Name: s, Ino: ino, Mode: uint32(typ) << 12})
			}
			b = b[reclen:]
		}
	}
	out.Fh = fs.addHandle(&handle{fd: -1, n: n, entries: entries})
	return fuse.OK
}

// ReadDir returns a listing from an offset (the index of the next entry).
func (fs *FS) ReadDir(_ <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	h := fs.handle(in.Fh)
	if h == nil {
		return fuse.EBADF
	}
	for i := int(in.Offset); i < len(h.entries); i++ {
		e := h.entries[i]
		e.Off = uint64(i + 1)
		if !out.AddDirEntry(e) {
			break
		}
	}
	return fuse.OK
}

// ReleaseDir drops a listing.
func (fs *FS) ReleaseDir(in *fuse.ReleaseIn) {
	fs.mu.Lock()
	delete(fs.fhs, in.Fh)
	fs.mu.Unlock()
}

// StatFs reports the size limit as the file system's size when there is
// one, else the host file system's.
func (fs *FS) StatFs(_ <-chan struct{}, _ *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	var sf unix.Statfs_t
	fs.mu.Lock()
	root := fs.rootFd
	fs.mu.Unlock()
	if root < 0 || unix.Fstatfs(root, &sf) != nil {
		return fuse.EIO
	}
	out.Bsize, out.Frsize, out.NameLen = 4096, 4096, 255
	out.Files, out.Ffree = sf.Files, sf.Ffree
	if fs.o.Quota > 0 {
		used := fs.Used()
		out.Blocks = uint64(fs.o.Quota) / 4096
		free := uint64(max(fs.o.Quota-used, 0)) / 4096
		out.Bfree, out.Bavail = free, free
		return fuse.OK
	}
	scale := uint64(sf.Bsize) / 4096
	if scale == 0 {
		scale = 1
	}
	out.Blocks, out.Bfree, out.Bavail = sf.Blocks*scale, sf.Bfree*scale, sf.Bavail*scale
	return fuse.OK
}

// discardLogger silences go-fuse's own log lines (a read error at unmount).
var discardLogger = log.New(io.Discard, "", 0)
