//go:build unix && !linux

package sandbox

// limitPlain does nothing where prlimit(2) does not exist: the fallback
// subprocess runs without a memory limit there.
func limitPlain(int, Spec, *Runner) {}
