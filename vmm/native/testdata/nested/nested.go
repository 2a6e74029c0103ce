// Package nested is the contract between the nested KVM test
// (vmm/kvm_nested_test.go) and L1's init (vmm/testdata/kvmhost): the runs
// the test asks for and the results L1 prints as "KTSTR-RESULT <json>".
package nested

import "time"

// ResultPrefix starts each result line on L1's console.
const ResultPrefix = "KTSTR-RESULT "

// AlivePrefix is the line L1 prints every Heartbeat while it runs.
const AlivePrefix = "KTSTR-L1-ALIVE"

// Heartbeat is how often L1 says it is alive.
const Heartbeat = 20 * time.Second

// MemMarker is what the L2 guest of nested_eevdf writes into a page and
// L1 reads back through Machine.Memory while the VM runs.
const MemMarker = "ktstr nested guest-memory marker 81d4e2"

// SpecPath is where the runs are in L1's initramfs (a JSON []Run).
const SpecPath = "/l2/spec.json"

// Run is one L2 boot.
type Run struct {
	Name     string        `json:"name"`
	Topology string        `json:"topology"`
	Cmdline  string        `json:"cmdline"`
	MemoryMB int           `json:"memory_mb"`
	Timeout  time.Duration `json:"timeout"`
	// Backend is "kvm" (default) or "qemu" (the QEMU backend on L1's
	// /dev/kvm, for the boot-time comparison).
	Backend string `json:"backend"`
	// Test, if set, names a test registered in this binary to run
	// through the harness; Topology and Cmdline are then the test's.
	Test string `json:"test,omitempty"`
	// Inspect, if set, is how long after L2's init announced itself L1
	// asks the VMM where the vCPUs are (vmm.VCPUInspector), the VM still
	// running; the answer goes in Result.Live.
	Inspect time.Duration `json:"inspect,omitempty"`
}

// Result is what the host test checks.
type Result struct {
	Name        string        `json:"name"`
	Backend     string        `json:"backend"`
	Reason      string        `json:"reason"`
	Detail      string        `json:"detail"`
	StartErr    string        `json:"start_err,omitempty"`
	Topo        string        `json:"topo"`
	Channel     string        `json:"channel"`
	BootToInit  time.Duration `json:"boot_to_init"`
	Duration    time.Duration `json:"duration"`
	ConsoleTail string        `json:"console_tail,omitempty"`
	// Where is kernel.Symbolizer.Where for each vCPU of a VM that was
	// killed ("vCPU 0 in ...; vCPU 1 in ..."), named with /l2/vmlinux.
	Where string `json:"where,omitempty"`
	// Live is where the vCPUs were when L1 asked the running VM (see
	// Run.Inspect; for nested_eevdf, when the guest reported its marker
	// page), in Where's form, or "error: ..." when it could not tell.
	Live string `json:"live,omitempty"`
	// DeadlineTimer is vmm.DeadlineTimerUsable on L1: whether L2 was
	// offered the TSC-deadline timer.
	DeadlineTimer bool `json:"deadline_timer"`
	// Harness runs only.
	Verdict string         `json:"verdict,omitempty"`
	Reasons []string       `json:"reasons,omitempty"`
	Records map[string]int `json:"records,omitempty"` // record kind → count
	Workers int            `json:"workers,omitempty"` // workers that reported work
	// MemRead is what L1 read through Machine.Memory at the address the
	// guest reported for its marker page.
	MemRead string `json:"mem_read,omitempty"`
	// Monitor is what the host monitor (ktstr.Result.Monitor) saw of
	// L2's runqueues through the KVM backend's guest memory.
	Monitor *Monitor `json:"monitor,omitempty"`
}

// Monitor condenses a monitor.Report for the host test.
type Monitor struct {
	Err     string `json:"error,omitempty"`
	Samples int    `json:"samples"`
	CPUs    int    `json:"cpus"`
	// MaxRunning is the most runnable tasks seen on any CPU; Advanced
	// says whether every CPU's rq clock and context-switch count moved
	// from the first sample to the last.
	MaxRunning uint32 `json:"max_running"`
	Advanced   bool   `json:"advanced"`
	Summary    string `json:"summary"`
	// VCPUTimes is each vCPU thread's host CPU time at the last sample:
	// non-zero proves the monitor's preemption exemption has its input.
	VCPUTimes []time.Duration `json:"vcpu_times"`
	// Violations are what monitor.DefaultThresholds would have failed.
	Violations []string `json:"violations,omitempty"`
}
