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
	least, _ := tightest(dirs)
	return uint64(max(least, 0)), least >= 0
}

// tightest is what the tightest limit of dirs leaves and the index of its
// mount; -1, -1 when dirs is empty.
func tightest(dirs []limitedDir) (left int64, i int) {
	left, i = -1, -1
	for j, d := range dirs {
		if l := max(d.quota-d.used, 0); left < 0 || l < left {
			left, i = l, j
		}
	}
	return left, i
}

// sizeBaseline is what a run's limited mounts held before it started:
// enough to tell, once it failed, whether it ran into a size limit.
type sizeBaseline struct {
	dirs []limitedDir
}

// baseline records dirs before a run.
func baseline(dirs []limitedDir) sizeBaseline {
	return sizeBaseline{dirs: append([]limitedDir(nil), dirs...)}
}

// reached says, after a run that failed, which size limit the code ran
// into, so that the result names it: a mount that holds its limit (any
// write past it failed), or a file grown to exactly what the tightest
// limit leaves (RLIMIT_FSIZE: the write past it failed with EFBIG). ""
// when neither shows. It walks the mounts (only failed runs with a size
// limit pay for it). Not seen: a file at the limit in /tmp (gone with the
// sandbox), or one that got there by seeking (sparse).
func (b sizeBaseline) reached() string {
	left, ti := tightest(b.dirs)
	if ti < 0 {
		return ""
	}
	for _, d := range b.dirs {
		fd, err := unix.Open(d.host, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		var total int64
		atLimit := false
		if usageOf(os.NewFile(uintptr(fd), d.host), 0, &total, func(size int64) { atLimit = atLimit || (left > 0 && size == left) }) != nil {
			continue
		}
		t := b.dirs[ti]
		switch {
		case total >= d.quota:
			return fmt.Sprintf("Disk quota reached: %s holds %d MiB, %s is %d MiB; writes past it fail with EFBIG (File too large)",
				d.inside, total>>20, d.limitName, d.quota>>20)
		case atLimit:
			return fmt.Sprintf("File size limit reached: a file in %s is %d bytes, all that %s of %d MiB leaves (%s holds %d MiB); "+
				"writes past it fail with EFBIG (File too large)", d.inside, left, t.limitName, t.quota>>20, t.inside, t.used>>20)
		}
	}
	return ""
}

// quotaError is the Error of a run ended for holding too much.
func quotaError(d limitedDir, used int64) string {
	return fmt.Sprintf("Disk quota exceeded: %s holds %d MiB, over %s of %d MiB", d.inside, used>>20, d.limitName, d.quota>>20)
}

// watchQuota measures dirs every quotaWatchEvery until stop is called, and
// calls exceeded (once) with the error when one holds more than its limit.
// A measure walks the directories; when walking takes long (a big tree),
// the next one waits ten times as long, so the watcher takes at most about
// a tenth of a core. (It used to walk only when statfs showed the
// filesystem had grown enough; but files removed elsewhere on the same
// filesystem at the same time hide that growth, and the limit then did not
// hold.)
func watchQuota(ctx context.Context, dirs []limitedDir, exceeded func(msg string)) (stop func()) {
	if len(dirs) == 0 {
		return func() {}
	}
	dirs = append([]limitedDir(nil), dirs...)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(quotaWatchEvery)
		defer t.Stop()
		next := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if time.Now().Before(next) {
				continue
			}
			began := time.Now()
			for _, d := range dirs {
				used, err := dirUsage(d.host)
				if err != nil {
					continue
				}
				// Over the limit and grown during this run: a space that was
				// already over (before the limit was lowered, say) does not
				// stop code that only reads or removes.
				if used > d.quota && used > d.used {
					exceeded(quotaError(d, used))
					return
				}
			}
			next = began.Add(10 * time.Since(began))
		}
	}()
	return func() { cancel(); wg.Wait() }
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
	err = usageOf(os.NewFile(uintptr(fd), dir), 0, &total, nil)
	return total, err
}

// usageOf adds the sizes of the regular files below d to total, calling
// file (if set) with each; it closes d.
func usageOf(d *os.File, depth int, total *int64, file func(size int64)) error {
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
			if file != nil {
				file(st.Size)
			}
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
			if err := usageOf(os.NewFile(uintptr(fd), name), depth+1, total, file); err != nil {
				return err
			}
		}
	}
	return nil
}
