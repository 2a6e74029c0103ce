package qemu

import (
	"os/exec"
	"testing"
	"time"
)

// QEMU's time is split evenly over its vCPUs.
func TestQEMUVCPUTimes(t *testing.T) {
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	time.Sleep(300 * time.Millisecond)
	m := &machine{cmd: cmd, cpus: 3}
	ts, err := m.VCPUTimes()
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 || ts[0] == 0 || ts[0] != ts[1] || ts[1] != ts[2] {
		t.Errorf("VCPUTimes = %v, want three equal non-zero shares", ts)
	}
	if _, err := (&machine{cmd: exec.Command("true"), cpus: 1}).VCPUTimes(); err == nil {
		t.Error("VCPUTimes of a qemu that never started: no error")
	}
}
