package child

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkChildHardening measures what the hardening added to the child's
// last steps before exec (close_range, the parent-death signal and its
// check, building and installing the seccomp filter), each iteration on a
// fresh OS thread that is thrown away (the filter stays on that thread
// only). Compare with BenchmarkChildHardeningBaseline, the same thread
// without the steps. Unlike BenchmarkStartup it measures CPU work, not the
// wall time of whole runs, so it is meaningful on a loaded machine.
//
//	go test -run '^$' -bench ChildHardening ./emulator/internal/sandbox/child/
func BenchmarkChildHardening(b *testing.B) {
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	wfd := int32(w.Fd())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		done := make(chan error, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
			if err := CloseOnExecAbove3(); err != nil {
				done <- err
				return
			}
			if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
				done <- err
				return
			}
			pfd := []unix.PollFd{{Fd: wfd, Events: unix.POLLOUT}}
			if _, err := unix.Poll(pfd, 0); err != nil {
				done <- err
				return
			}
			prog, err := seccompProgram()
			if err != nil {
				done <- err
				return
			}
			if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
				done <- err
				return
			}
			done <- installSeccomp(prog)
		}()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChildHardeningBaseline(b *testing.B) {
	for i := 0; i < b.N; i++ {
		done := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			done <- nil
		}()
		<-done
	}
}
