package scenario

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// SchedClass is a Linux scheduling policy.
type SchedClass string

// Scheduling policies a worker can run under.
const (
	SchedNormal SchedClass = "normal"
	SchedBatch  SchedClass = "batch"
	SchedIdle   SchedClass = "idle"
	SchedFIFO   SchedClass = "fifo"
	SchedRR     SchedClass = "rr"
	// SchedExt hands the task to the sched_ext scheduler (kernel >= 6.12
	// with CONFIG_SCHED_CLASS_EXT). Without a loaded BPF scheduler the
	// kernel runs it in the fair class.
	SchedExt SchedClass = "ext"
)

// Policy is a scheduling policy and, for FIFO and RR, its priority 1..99.
// The zero value is SCHED_NORMAL.
type Policy struct {
	Class    SchedClass `json:"class,omitempty"`
	Priority int        `json:"priority,omitempty"`
}

// Policies for CgroupDef.Policy and WorkloadConfig.Policy.
var (
	NormalPolicy = Policy{Class: SchedNormal}
	BatchPolicy  = Policy{Class: SchedBatch}
	IdlePolicy   = Policy{Class: SchedIdle}
	ExtPolicy    = Policy{Class: SchedExt}
)

// FIFOPolicy is SCHED_FIFO at priority prio (1..99).
func FIFOPolicy(prio int) Policy { return Policy{Class: SchedFIFO, Priority: prio} }

// RRPolicy is SCHED_RR at priority prio (1..99).
func RRPolicy(prio int) Policy { return Policy{Class: SchedRR, Priority: prio} }

// String is e.g. "fifo:10" or "normal".
func (p Policy) String() string {
	c := p.Class
	if c == "" {
		c = SchedNormal
	}
	if c == SchedFIFO || c == SchedRR {
		return fmt.Sprintf("%s:%d", c, p.Priority)
	}
	return string(c)
}

// kernelPolicy maps the class to the kernel's SCHED_* constant.
func (p Policy) kernelPolicy() (uint32, error) {
	switch p.Class {
	case "", SchedNormal:
		return unix.SCHED_NORMAL, nil
	case SchedBatch:
		return unix.SCHED_BATCH, nil
	case SchedIdle:
		return unix.SCHED_IDLE, nil
	case SchedFIFO, SchedRR:
		if p.Priority < 1 || p.Priority > 99 {
			return 0, fmt.Errorf("policy %s: real-time priority must be 1..99", p)
		}
		if p.Class == SchedFIFO {
			return unix.SCHED_FIFO, nil
		}
		return unix.SCHED_RR, nil
	case SchedExt:
		return unix.SCHED_EXT, nil
	}
	return 0, fmt.Errorf("unknown scheduling class %q (want normal, batch, idle, fifo, rr or ext)", p.Class)
}

// Validate reports a policy the kernel cannot accept.
func (p Policy) Validate() error {
	_, err := p.kernelPolicy()
	return err
}

// apply sets the policy and nice value of thread tid (0 = the caller).
// Threads it creates later inherit both.
func (p Policy) apply(tid, nice int) error {
	pol, err := p.kernelPolicy()
	if err != nil {
		return err
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: pol}
	if pol == unix.SCHED_FIFO || pol == unix.SCHED_RR {
		attr.Priority = uint32(p.Priority)
	} else {
		attr.Nice = int32(nice)
	}
	if err := unix.SchedSetAttr(tid, &attr, 0); err != nil {
		if pol == unix.SCHED_EXT && errors.Is(err, unix.EINVAL) && !ExtAvailable() {
			return fmt.Errorf("setting policy %s: this kernel has no sched_ext (CONFIG_SCHED_CLASS_EXT): %w", p, err)
		}
		return fmt.Errorf("setting policy %s nice %d on tid %d: %w", p, nice, tid, err)
	}
	return nil
}

// ExtAvailable reports whether the running kernel has sched_ext.
func ExtAvailable() bool {
	_, err := os.Stat("/sys/kernel/sched_ext")
	return err == nil
}
