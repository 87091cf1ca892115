//go:build unix

package sandbox

// Size limits of the disk-backed mounts (the thread at /home/baponi and
// writable volumes). Without privileges there is no per-directory quota
// that makes a write fail with ENOSPC, so the runner holds the limits in
// two ways (SECURITY.md says what that guarantees):
//   - RLIMIT_FSIZE: no single file can grow past what the tightest limit
//     leaves (a write past it fails with EFBIG; SIGXFSZ is ignored);
//   - a watcher measures the mounts while the code runs and ends the run,
//     with an error naming the limit, as soon as one holds more than its
//     limit.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// quotaWatchEvery is how often the watcher looks at the mounts.
const quotaWatchEvery = 200 * time.Millisecond

// usageMaxDepth bounds the watcher's walk (and so its open descriptors):
// the Files API cannot address anything deeper anyway.
const usageMaxDepth = 512

// limitedDir is one disk-backed mount with a size limit.
type limitedDir struct {
	host, inside, limitName string
	quota, used             int64
}

// limitedDirs lists the run's mounts with a size limit.
func limitedDirs(spec Spec) []limitedDir {
	var out []limitedDir
	if spec.HomeDir != "" && spec.HomeQuota > 0 {
		out = append(out, limitedDir{spec.HomeDir, "/home/baponi", "the thread's size limit (thread_quota_mib)", spec.HomeQuota, spec.HomeUsed})
	}
	for _, v := range spec.Volumes {
		if !v.ReadOnly && v.Quota > 0 {
			out = append(out, limitedDir{v.HostDir, "/volumes/" + v.Slug, fmt.Sprintf("volume %s's size limit (quota_mib)", v.Slug), v.Quota, v.Used})
		}
	}
	return out
}

// fileSizeLimit is the RLIMIT_FSIZE of a run: what the tightest limit
// leaves, and false when no mount has a limit.
func fileSizeLimit(dirs []limitedDir) (uint64, bool) {
	if len(dirs) == 0 {
		return 0, false
	}
	least := int64(-1)
	for _, d := range dirs {
		left := max(d.quota-d.used, 0)
		if least < 0 || left < least {
			least = left
		}
	}
	return uint64(least), true
}

// quotaError is the Error of a run ended for holding too much.
func quotaError(d limitedDir, used int64) string {
	return fmt.Sprintf("Disk quota exceeded: %s holds %d MiB, over %s of %d MiB", d.inside, used>>20, d.limitName, d.quota>>20)
}

// watchQuota measures dirs every quotaWatchEvery until stop is called, and
// calls exceeded (once) with the error when one holds more than its limit.
// A measure walks the directory only when its filesystem grew by more than
// what the limit leaves since the last one (statfs is cheap, a walk is not).
func watchQuota(ctx context.Context, dirs []limitedDir, exceeded func(msg string)) (stop func()) {
	if len(dirs) == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var fired atomic.Bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		base, start := make([]int64, len(dirs)), make([]int64, len(dirs))
		for i, d := range dirs {
			base[i], start[i] = fsUsed(d.host), d.used
		}
		t := time.NewTicker(quotaWatchEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for i, d := range dirs {
				if now := fsUsed(d.host); now >= 0 && base[i] >= 0 && now-base[i] <= d.quota-d.used {
					continue // the filesystem did not grow enough for this one to be over
				}
				used, err := dirUsage(d.host)
				if err != nil {
					continue
				}
				// Over the limit and grown during this run: a space that was
				// already over (before the limit was lowered, say) does not
				// stop code that only reads or removes.
				if used > d.quota && used > start[i] && fired.CompareAndSwap(false, true) {
					exceeded(quotaError(d, used))
					return
				}
				// Measure again from here.
				base[i], dirs[i].used = fsUsed(d.host), used
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// fsUsed is the bytes in use on the filesystem holding dir (-1 if unknown).
func fsUsed(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Blocks-st.Bfree) * int64(st.Bsize)
}

// dirUsage is the total size of the regular files below dir. It walks
// through directory descriptors with O_NOFOLLOW (never a symlink), at most
// usageMaxDepth levels deep.
func dirUsage(dir string) (int64, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	var total int64
	err = usageOf(os.NewFile(uintptr(fd), dir), 0, &total)
	return total, err
}

func usageOf(d *os.File, depth int, total *int64) error {
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(int(d.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			*total += st.Size
		case unix.S_IFDIR:
			if depth+1 >= usageMaxDepth {
				continue
			}
			fd, err := unix.Openat(int(d.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EACCES) {
					continue
				}
				return err
			}
			if err := usageOf(os.NewFile(uintptr(fd), name), depth+1, total); err != nil {
				return err
			}
		}
	}
	return nil
}
