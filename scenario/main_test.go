package scenario

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	RunWorkerIfRequested()
	os.Exit(m.Run())
}

// skipWithoutRealtime skips t where this process may not use real-time
// policies (a container or Bazel's sandbox without CAP_SYS_NICE and an
// RLIMIT_RTPRIO of 0), which is not the code's fault.
func skipWithoutRealtime(t *testing.T) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the policy change must die with this thread
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 1}
		done <- unix.SchedSetAttr(0, &attr, 0)
	}()
	if err := <-done; errors.Is(err, unix.EPERM) {
		t.Skipf("raising scheduling policies (real-time, or back from idle) is not permitted here: %v", err)
	}
}

// skipWithoutNiceRaise skips where negative nice values are refused (no
// CAP_SYS_NICE, e.g. Bazel's sandbox): nice_sweep cycles down to -5.
func skipWithoutNiceRaise(t *testing.T) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the nice change must die with this thread
		done <- unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), -5)
	}()
	if err := <-done; errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
		t.Skipf("negative nice values are not permitted here (CAP_SYS_NICE): %v", err)
	}
}
