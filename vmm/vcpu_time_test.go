package vmm

import (
	"os/exec"
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
	m := &kvmMachine{vcpus: []*vcpuThread{v, {}}}
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

// QEMU's time is split evenly over its vCPUs.
func TestQEMUVCPUTimes(t *testing.T) {
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	time.Sleep(300 * time.Millisecond)
	m := &qemuMachine{cmd: cmd, cpus: 3}
	ts, err := m.VCPUTimes()
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 || ts[0] == 0 || ts[0] != ts[1] || ts[1] != ts[2] {
		t.Errorf("VCPUTimes = %v, want three equal non-zero shares", ts)
	}
	if _, err := (&qemuMachine{cmd: exec.Command("true"), cpus: 1}).VCPUTimes(); err == nil {
		t.Error("VCPUTimes of a qemu that never started: no error")
	}
}
