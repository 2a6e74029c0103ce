package native

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// spin burns d of CPU time on the calling thread. It measures the
// thread's own CPU clock, not wall time: on a busy host the thread gets
// less than all of the wall time, and the test would judge the host.
func spin(t *testing.T, d time.Duration) {
	t.Helper()
	cpu := func() time.Duration {
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
			t.Fatalf("thread CPU clock: %v", err)
		}
		return time.Duration(ts.Nano())
	}
	start, giveUp := cpu(), time.Now().Add(time.Minute)
	for cpu()-start < d {
		if time.Now().After(giveUp) {
			t.Fatalf("this thread got less than %v of CPU in a minute", d)
		}
	}
}

// A vCPU thread's time is its own thread's schedstat: it grows while the
// thread runs and reads zero once the thread left its run loop.
func TestKVMVCPUTimes(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	v := &vcpuThread{}
	v.setTID(unix.Gettid())
	m := &machine{vcpus: []*vcpuThread{v, {}}}
	before, err := m.VCPUTimes()
	if err != nil {
		t.Fatal(err)
	}
	spin(t, 50*time.Millisecond)
	after, err := m.VCPUTimes()
	if err != nil {
		t.Fatal(err)
	}
	if grew := after[0] - before[0]; grew < 20*time.Millisecond {
		t.Errorf("vCPU 0 time grew %v over 50 ms of its CPU time", grew)
	}
	if after[1] != 0 {
		t.Errorf("vCPU 1 (no thread) reads %v, want 0", after[1])
	}
	v.setTID(0)
	if gone, _ := m.VCPUTimes(); gone[0] != 0 {
		t.Errorf("after the run loop: %v, want 0", gone[0])
	}
}
