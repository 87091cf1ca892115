// Package spacefs serves one thread or volume directory (a "space") to a
// sandbox over FUSE, in place of a bind mount.
//
// The sandbox child mounts a FUSE file system at /home/baponi or
// /volumes/<slug> inside its own mount namespace and hands the /dev/fuse
// descriptor to the emulator, which serves it with this package for the
// run's lifetime. Two things follow that a bind mount cannot give:
//   - the kernel prints the FUSE mount's root as "/" in mountinfo, so no
//     host path of the data directory is visible to sandboxed code;
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
