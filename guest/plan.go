package guest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ktstr-go/ktstr/bpfmap"
	"github.com/ktstr-go/ktstr/guest/watchdog"
)

// PlanPath is where the host packs a test run's Plan in the initramfs.
const PlanPath = "/ktstr/plan.json"

// DefaultCgroup is the cgroup2 directory a test owns when its scheduler
// names no cgroup parent.
const DefaultCgroup = "/sys/fs/cgroup/ktstr"

// Plan is what the host settled for one test run beyond the boot
// parameters: what is too long or too structured for the kernel command
// line. The guest takes it as it is, so a scheduler replaced on the host
// (ktstr run --scheduler, KTSTR_SCHEDULER) is the one the guest launches.
type Plan struct {
	// Scheduler is launched before the body; nil runs under EEVDF.
	Scheduler *SchedPlan `json:"scheduler,omitempty"`
	// Cgroup is the test's cgroup2 directory, created before the
	// scheduler starts (under the scheduler's cgroup parent, if any).
	Cgroup string `json:"cgroup"`
	// Sysctls are written, and read back, before the scheduler starts.
	Sysctls []Sysctl `json:"sysctls,omitempty"`
	// MapWrites are applied, and read back, each time the scheduler
	// attaches.
	MapWrites []bpfmap.Write `json:"map_writes,omitempty"`
	// OpsLayout is where the kernel keeps the watchdog timeout in a
	// scheduler's ops, read by the host from the kernel's vmlinux (nil:
	// the guest reads its own BTF).
	OpsLayout *watchdog.Layout `json:"ops_layout,omitempty"`
	// Probes are the probes to attach around the body, the test's and
	// an auto-repro's, as probe.Format writes them (the probe package
	// builds on this one).
	Probes string `json:"probes,omitempty"`
	// ProbeTable is the kernel's types the probes need, read by the host
	// from the kernel's vmlinux (a probe.Table; absent: the guest parses
	// its own BTF, which costs a probed run 0.3-0.5 s under emulation).
	ProbeTable json.RawMessage `json:"probe_table,omitempty"`
}

// SchedPlan is the scheduler as the guest launches it.
type SchedPlan struct {
	// Name is the sched_ext ops name to expect; empty accepts whichever
	// attaches (a scheduler given by path). For a kernel-builtin
	// scheduler it only names it.
	Name string `json:"name,omitempty"`
	// Argv is the command line (guest paths) of a sched_ext scheduler.
	Argv []string `json:"argv,omitempty"`
	// Enable and Disable are the shell commands of a kernel-builtin
	// scheduler, run instead of a binary.
	Enable  []string `json:"enable,omitempty"`
	Disable []string `json:"disable,omitempty"`
	// AttachTimeout bounds the wait for attach (0: the default).
	AttachTimeout time.Duration `json:"attach_timeout,omitempty"`
}

// Builtin reports whether the scheduler is switched on by commands.
func (s *SchedPlan) Builtin() bool { return len(s.Enable) > 0 }

// ReadPlan reads the run's plan from the initramfs.
func ReadPlan() (*Plan, error) {
	b, err := os.ReadFile(PlanPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no run plan at %s: the host packs one with every test run (is this initramfs from another ktstr revision?)", PlanPath)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the run plan: %w", err)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("reading the run plan %s: %w", PlanPath, err)
	}
	return &p, nil
}
