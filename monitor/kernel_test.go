package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/kernel/kerneltest"
)

// The kernel under test's vmlinux has everything the monitor reads, with
// the types struct rq has had since sched_ext (cpu: int, nr_running:
// unsigned int, clock and nr_switches: u64, local_dsq.nr: u32), and the
// fields do not overlap.
func TestLoadKernel(t *testing.T) {
	vmlinux := kerneltest.Vmlinux(t)
	k, err := Load(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	if !k.SchedExt() {
		t.Error("struct rq has no scx fields: the kernel under test is built with CONFIG_SCHED_CLASS_EXT")
	}
	if k.syms.runqueues >= startKernelMap || k.syms.perCPUOffset < startKernelMap || k.syms.nrCPUIDs < startKernelMap {
		t.Errorf("symbols %+v: runqueues is a zero-based per-CPU offset, the others kernel image addresses", k.syms)
	}
	l := k.rq
	fields := map[string]field{"cpu": l.cpu, "nr_running": l.nrRunning, "clock": l.clock, "nr_switches": l.nrSwitches,
		"scx.nr_running": l.scxNrRunning, "scx.flags": l.scxFlags, "scx.local_dsq.nr": l.localDSQ}
	sizes := map[string]uint32{"cpu": 4, "nr_running": 4, "clock": 8, "nr_switches": 8, "scx.nr_running": 4, "scx.flags": 4, "scx.local_dsq.nr": 4}
	for name, f := range fields {
		if f.size != sizes[name] {
			t.Errorf("%s: %d bytes, want %d", name, f.size, sizes[name])
		}
		if f.off%f.size != 0 || f.off+f.size > l.span {
			t.Errorf("%s at %d: misaligned or outside the span %d", name, f.off, l.span)
		}
		for other, g := range fields {
			if other != name && f.off < g.off+g.size && g.off < f.off+f.size {
				t.Errorf("%s [%d,+%d) overlaps %s [%d,+%d)", name, f.off, f.size, other, g.off, g.size)
			}
		}
	}
	// Shutdown is told by system_state and three values of its enum
	// (SYSTEM_RUNNING, the state of every sampled instant, is not one).
	if k.syms.systemState < startKernelMap {
		t.Errorf("system_state at %#x, want a kernel image address", k.syms.systemState)
	}
	want := map[string]bool{"SYSTEM_HALT": true, "SYSTEM_POWER_OFF": true, "SYSTEM_RESTART": true}
	if k.shutdown.size != 4 || len(k.shutdown.values) != len(want) {
		t.Errorf("shutdown states %+v, want the 3 of a 4-byte enum system_states", k.shutdown)
	}
	for v, name := range k.shutdown.values {
		if !want[name] || v <= 3 {
			t.Errorf("shutdown state %s = %d: want SYSTEM_HALT, SYSTEM_POWER_OFF or SYSTEM_RESTART, after SYSTEM_RUNNING (3)", name, v)
		}
	}
	if again, err := Load(vmlinux); err != nil || again != k {
		t.Errorf("second Load: %p, %v; want the cached %p", again, err, k)
	}
}

// A file that is not a usable vmlinux gets an error naming what is
// missing.
func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	notELF := filepath.Join(dir, "bzImage")
	if err := os.WriteFile(notELF, []byte("MZ not an ELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable() // an x86-64 ELF, no kernel
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing"), "no such file"},
		{notELF, "is not an ELF vmlinux"},
		{self, "symbol"},
	} {
		if _, err := Load(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%s): %v, want an error with %q", tc.path, err, tc.want)
		}
	}
}
