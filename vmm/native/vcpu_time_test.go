package native

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// spin burns CPU on the calling thread for d.
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
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
	spin(50 * time.Millisecond)
	after, err := m.VCPUTimes()
	if err != nil {
		t.Fatal(err)
	}
	if grew := after[0] - before[0]; grew < 20*time.Millisecond {
		t.Errorf("vCPU 0 time grew %v over 50 ms of spinning", grew)
	}
	if after[1] != 0 {
		t.Errorf("vCPU 1 (no thread) reads %v, want 0", after[1])
	}
	v.setTID(0)
	if gone, _ := m.VCPUTimes(); gone[0] != 0 {
		t.Errorf("after the run loop: %v, want 0", gone[0])
	}
}
