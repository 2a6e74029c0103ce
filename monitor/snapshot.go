package monitor

import (
	"fmt"
	"time"

	"github.com/cilium/ebpf/btf"
)

// Trigger says why a snapshot was taken.
type Trigger string

// Snapshot triggers.
const (
	// TriggerRequest: the test asked for it (scenario.Snapshot), or the
	// harness did at a point of its own (the end of a scenario, a
	// scheduler's death).
	TriggerRequest Trigger = "request"
	// TriggerStall: a CPU stood still for CaptureAfter samples, before
	// the stall bound judges it.
	TriggerStall Trigger = "stall"
	// TriggerWatchdog: a runnable task has waited half of sched_ext's
	// watchdog timeout, so the state is kept before the watchdog ejects
	// the scheduler and sched_ext tears it down.
	TriggerWatchdog Trigger = "watchdog-half"
	// TriggerDisabled: sched_ext left the enabled state; this is the
	// last periodic snapshot taken while it was enabled.
	TriggerDisabled Trigger = "before-disable"
)

// Snapshot is the guest's scheduling state at one instant, read from
// guest memory: sched_ext's state and dispatch queues with the tasks on
// them, what each CPU runs, per-CPU schedstat, and the BPF maps (decoded
// with their own BTF) and programs. What the guest kernel lacks, or what
// could not be read, is in Notes; the rest is still there.
type Snapshot struct {
	Name    string        `json:"name"`
	Trigger Trigger       `json:"trigger"`
	At      time.Duration `json:"at"`
	// Took is how long reading it took.
	Took    time.Duration `json:"took"`
	Jiffies uint64        `json:"jiffies"`
	// SchedExt is nil on a kernel without sched_ext.
	SchedExt *SchedExt  `json:"sched_ext,omitempty"`
	CPUs     []CPUState `json:"cpus"`
	// SchedstatsOn reports the sched_schedstats static key: without it
	// only run_delay and pcount count.
	SchedstatsOn bool      `json:"schedstats_enabled"`
	Maps         []BPFMap  `json:"bpf_maps,omitempty"`
	Progs        []BPFProg `json:"bpf_progs,omitempty"`
	Notes        []string  `json:"notes,omitempty"`
}

// CPUState is one CPU in a snapshot.
type CPUState struct {
	CPU int `json:"cpu"`
	// Curr is the task running on it (rq->curr).
	Curr *Task `json:"curr,omitempty"`
	// LocalDSQ is its local dispatch queue (sched_ext).
	LocalDSQ *DSQ `json:"local_dsq,omitempty"`
	// OldestWait is the longest a sched_ext task queued for this CPU has
	// been runnable without running (ns).
	OldestWait uint64     `json:"oldest_wait_ns,omitempty"`
	Schedstat  *Schedstat `json:"schedstat,omitempty"`
}

// Schedstat is a CPU's runqueue statistics (CONFIG_SCHEDSTATS), the
// fields /proc/schedstat prints.
type Schedstat struct {
	// Pcount is how many times a task was run; RunDelay how long tasks
	// waited on this runqueue in all (ns): rq->rq_sched_info.
	Pcount   uint64 `json:"pcount"`
	RunDelay uint64 `json:"run_delay_ns"`
	// The rest count only while schedstats are enabled.
	YldCount    uint64 `json:"yld_count"`
	SchedCount  uint64 `json:"sched_count"`
	SchedGoidle uint64 `json:"sched_goidle"`
	TTWUCount   uint64 `json:"ttwu_count"`
	TTWULocal   uint64 `json:"ttwu_local"`
}

// introState is what a Guest keeps between snapshots: the translation
// and the BTF of BPF objects already parsed.
type introState struct {
	m      *kmem
	percpu []uint64
	btfs   map[uint32]*btf.Spec
	// tickNs is tick_nsec, the length of a jiffy in ns, once the guest
	// has set it (0 until then).
	tickNs   uint64
	tickAddr uint64
}

// tick returns the length of a jiffy in ns. The monitor may attach
// before the guest's timekeeping has set tick_nsec; until then it
// answers 1, and jiffies show as ns.
func (is *introState) tick() uint64 {
	if is.tickNs == 0 && is.tickAddr != 0 {
		if t, err := is.m.u64(is.tickAddr); err == nil && t > 0 && t < uint64(time.Second) {
			is.tickNs = t
		}
	}
	return max(is.tickNs, 1)
}

// intro sets up snapshot reading once per attached guest.
func (g *Guest) intro(walk PageWalker) (*introState, error) {
	if g.is != nil {
		return g.is, nil
	}
	m, err := g.newKmem(walk)
	if err != nil {
		return nil, err
	}
	is := &introState{m: m, btfs: map[uint32]*btf.Spec{}, tickAddr: g.k.syms.tickNsec}
	for cpu := range g.rq {
		off, err := g.readU64(text(g.k.syms.perCPUOffset + 8*uint64(cpu)))
		if err != nil {
			return nil, err
		}
		is.percpu = append(is.percpu, off)
	}
	g.is = is
	return is, nil
}

// Snapshot reads the guest's scheduling state now. walk translates
// vmalloc'd memory (nil: only what the kernel image and the direct map
// hold is read, and the rest is noted).
func (g *Guest) Snapshot(walk PageWalker, name string, trigger Trigger) Snapshot {
	t0 := time.Now()
	s := Snapshot{Name: name, Trigger: trigger}
	is, err := g.intro(walk)
	if err != nil {
		s.Notes = append(s.Notes, fmt.Sprintf("guest memory: %v", err))
		return s
	}
	is.m.reset()
	if walk == nil {
		s.Notes = append(s.Notes, "no page walker: vmalloc'd memory (most BPF map values, BTF) is not read")
	}
	if s.Jiffies, err = is.m.u64(g.k.syms.jiffies); err != nil && g.k.syms.jiffies != 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("jiffies: %v", err))
	}
	g.snapSCX(is, &s)
	g.snapSchedstat(is, &s)
	g.snapBPF(is, &s)
	s.Took = time.Since(t0)
	return s
}

// note adds a note that is not empty.
func (s *Snapshot) note(n string) {
	if n != "" {
		s.Notes = append(s.Notes, n)
	}
}

// rqAddr is CPU cpu's struct rq as a kernel virtual address.
func (g *Guest) rqAddr(is *introState, cpu int) uint64 {
	return g.k.syms.runqueues + is.percpu[cpu]
}

func (g *Guest) scxReader(is *introState, jiffies uint64) *scxReader {
	return &scxReader{m: is.m, l: &g.k.intro.scx, s: &g.k.syms, jiffies: jiffies, tickNs: is.tick(), cgroups: map[uint64]string{}}
}

func (g *Guest) snapSCX(is *introState, s *Snapshot) {
	s.CPUs = make([]CPUState, len(g.rq))
	for cpu := range s.CPUs {
		s.CPUs[cpu].CPU = cpu
	}
	l := &g.k.intro.scx
	if !l.ok || g.k.syms.scxEnableState == 0 {
		if l.note == "" {
			l.note = "sched_ext state not read: the vmlinux has no scx_ops_enable_state_var (a kernel without CONFIG_SCHED_CLASS_EXT)"
		}
		s.Notes = append(s.Notes, l.note)
		return
	}
	r := g.scxReader(is, s.Jiffies)
	st, err := r.state()
	if err != nil {
		s.Notes = append(s.Notes, fmt.Sprintf("sched_ext: %v", err))
		return
	}
	s.SchedExt = st
	for cpu := range s.CPUs {
		rq := g.rqAddr(is, cpu)
		c := &s.CPUs[cpu]
		if c.Curr, err = r.curr(rq); err != nil {
			s.Notes = append(s.Notes, fmt.Sprintf("cpu%d's current task: %v", cpu, err))
		}
		d := r.dsq(rq+uint64(l.rqLocalDSQ), "local")
		c.LocalDSQ = &d
		if w, err := r.oldestWait(rq); err == nil {
			c.OldestWait = w * is.tick()
		}
	}
	global, err := r.globalDSQs()
	if err != nil {
		s.Notes = append(s.Notes, err.Error())
	}
	user, err := r.userDSQs()
	if err != nil {
		s.Notes = append(s.Notes, err.Error())
	}
	st.DSQs = append(global, user...)
}

func (g *Guest) snapSchedstat(is *introState, s *Snapshot) {
	l := &g.k.intro.schedstat
	if !l.ok {
		s.note(l.note)
		return
	}
	if g.k.syms.schedSchedstats != 0 {
		if v, err := is.m.u32(g.k.syms.schedSchedstats); err == nil {
			s.SchedstatsOn = v != 0
		}
	}
	for cpu := range s.CPUs {
		b, err := is.m.bytes(g.rqAddr(is, cpu), l.span)
		if err != nil {
			s.Notes = append(s.Notes, fmt.Sprintf("cpu%d's schedstat: %v", cpu, err))
			continue
		}
		s.CPUs[cpu].Schedstat = &Schedstat{
			Pcount: le(b, l.pcount), RunDelay: le(b, l.runDelay), YldCount: le(b, l.yld), SchedCount: le(b, l.sched),
			SchedGoidle: le(b, l.goidle), TTWUCount: le(b, l.ttwu), TTWULocal: le(b, l.ttwuLocal),
		}
	}
}

func (g *Guest) snapBPF(is *introState, s *Snapshot) {
	l := &g.k.intro.bpf
	switch {
	case !l.ok:
		s.note(l.note)
		return
	case g.k.syms.mapIDR == 0 || g.k.syms.progIDR == 0:
		s.Notes = append(s.Notes, "BPF maps and programs not read: the vmlinux has no map_idr or prog_idr (CONFIG_BPF_SYSCALL)")
		return
	}
	r := &bpfReader{m: is.m, l: l, s: &g.k.syms, percpu: is.percpu, btfs: is.btfs}
	var err error
	if s.Maps, err = r.maps(); err != nil {
		s.Notes = append(s.Notes, fmt.Sprintf("BPF maps: %v", err))
	}
	if s.Progs, err = r.progs(); err != nil {
		s.Notes = append(s.Notes, fmt.Sprintf("BPF programs: %v", err))
	}
}
