//go:build linux

package sandbox

import "golang.org/x/sys/unix"

// limitPlain applies the memory limit to a fallback subprocess just after it
// started (there is no hook before its exec without the re-exec runner).
func limitPlain(pid int, spec Spec, r *Runner) {
	as := addressSpaceLimit(spec.Language, spec.MemoryLimit)
	if err := unix.Prlimit(pid, unix.RLIMIT_AS, &unix.Rlimit{Cur: as, Max: as}, nil); err != nil {
		r.log.Debug("sandbox: memory limit not applied", "err", err)
	}
	if fs, ok := fileSizeLimit(limitedDirs(spec)); ok {
		if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: fs, Max: fs}, nil); err != nil {
			r.log.Debug("sandbox: file size limit not applied", "err", err)
		}
	}
}
