// Package spacefs serves thread and volume directories ("spaces") to a
// sandbox over FUSE, in place of bind mounts.
//
// The sandbox child mounts one FUSE file system inside its own mount
// namespace and hands the /dev/fuse descriptor to the emulator, which
// serves it with a Mux: each of the run's spaces is an entry ("0", "1", …)
// of the mount's root, an FS of its own, which the child binds at
// /home/baponi or /volumes/<slug>. Two things follow that a bind mount of
// the host directory cannot give:
//   - the kernel prints a mount's root as the entry ("/0") in mountinfo,
//     so no host path of the data directory is visible to sandboxed code;
//   - every size change goes through the server, which refuses a write,
//     truncate, fallocate or create past the space's size limit with
//     ENOSPC, exactly, with no overshoot.
//
// The server often runs as root and acts on a tree that sandboxed code
// changes concurrently (renames, symlinks). It never resolves a path
// string that code can change with a lookup that follows symlinks or
// leaves the space: every node is reached from the space's root
// descriptor with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) and checked against the inode
// number it was looked up with; files are created, changed and removed
// with *at calls on a directory descriptor and a single name, or through
// the descriptor of the file itself. Descriptors are held only for open
// files (bounded per process) and for the duration of one request.
package spacefs
