package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Built-in dispatch queue IDs (enum scx_dsq_id_flags, Linux 6.12).
const (
	dsqFlagBuiltin = 1 << 63
	dsqGlobal      = dsqFlagBuiltin | 1
	dsqLocal       = dsqFlagBuiltin | 2
)

// Walk bounds: the guest changes its lists while the host reads them,
// so every walk is bounded and a broken one is reported, not followed.
const (
	maxDSQTasks = 256
	maxUserDSQs = 256
	maxWaitScan = 64
)

// lnodeIterCursor marks a BPF DSQ iterator's cursor in a DSQ's list
// (SCX_DSQ_LNODE_ITER_CURSOR): a list node that is not a task.
const lnodeIterCursor = 1

// Task is a task on a dispatch queue, or the one running on a CPU.
type Task struct {
	PID  int32  `json:"pid"`
	Comm string `json:"comm"`
	// Cgroup is the name of the task's cgroup2 directory (its leaf).
	Cgroup string `json:"cgroup,omitempty"`
	// Weight, Slice and DSQVtime are p->scx.weight, p->scx.slice (ns
	// left) and p->scx.dsq_vtime.
	Weight   uint32 `json:"weight"`
	Slice    uint64 `json:"slice_ns"`
	DSQVtime uint64 `json:"dsq_vtime"`
	// Waited is how long the task has been runnable without running
	// (jiffies since p->scx.runnable_at, in ns); what sched_ext's
	// watchdog measures.
	Waited uint64 `json:"waited_ns,omitempty"`
}

// DSQ is one sched_ext dispatch queue and the tasks on it, in dispatch
// order.
type DSQ struct {
	ID uint64 `json:"id"`
	// Name is "local", "global node0" or "user 0x..".
	Name  string `json:"name"`
	Nr    uint32 `json:"nr"`
	Tasks []Task `json:"tasks,omitempty"`
	// Err says why the list was not read to its end (it changed under
	// the read, or was longer than the bound).
	Err string `json:"error,omitempty"`
}

// SchedExt is sched_ext's global state.
type SchedExt struct {
	// State is the enable state (SCX_OPS_ENABLED, SCX_OPS_DISABLED, ...).
	State string `json:"state"`
	// Ops is the attached scheduler's name (sched_ext_ops.name).
	Ops          string `json:"ops,omitempty"`
	SwitchingAll bool   `json:"switching_all"`
	// WatchdogTimeout is how long a runnable task may wait before the
	// watchdog ejects the scheduler (ns).
	WatchdogTimeout uint64 `json:"watchdog_timeout_ns"`
	// ExitKind is scx_exit_info->kind while the kernel holds one (from
	// enable until the disable is done): why it is going away.
	ExitKind string `json:"exit_kind,omitempty"`
	// DSQs are the global and user dispatch queues; the local ones are
	// with their CPU.
	DSQs []DSQ `json:"dsqs,omitempty"`
}

// scxReader reads sched_ext's state for one snapshot.
type scxReader struct {
	m       *kmem
	l       *scxLayout
	s       *symbols
	jiffies uint64
	tickNs  uint64
	cgroups map[uint64]string // css_set address → cgroup name, per snapshot
}

// state reads the globals: enable state, ops name, exit kind, watchdog.
func (r *scxReader) state() (*SchedExt, error) {
	v, err := r.m.u32(r.s.scxEnableState)
	if err != nil {
		return nil, fmt.Errorf("scx_ops_enable_state_var: %w", err)
	}
	st := &SchedExt{State: enumName(r.l.enableStates, uint64(v))}
	if st.Ops, err = r.m.cstring(r.s.scxOps+uint64(r.l.opsName.off), r.l.opsName.size); err != nil {
		return nil, fmt.Errorf("scx_ops.name: %w", err)
	}
	if b, err := r.m.bytes(r.s.scxSwitching, 1); err == nil {
		st.SwitchingAll = b[0] != 0
	}
	if t, err := r.m.u64(r.s.scxWatchdogTimeout); err == nil {
		st.WatchdogTimeout = t * r.tickNs
	}
	if ei, err := r.m.u64(r.s.scxExitInfo); err == nil && ei != 0 {
		if b, err := r.m.bytes(ei+uint64(r.l.exitKind.off), r.l.exitKind.size); err == nil {
			if k := littleEndian(b); k != 0 {
				st.ExitKind = enumName(r.l.exitKinds, k)
			}
		}
	}
	return st, nil
}

// dsq reads the queue at kernel address q; name overrides the one its
// ID gives.
func (r *scxReader) dsq(q uint64, name string) DSQ {
	b, err := r.m.bytes(q, r.l.dsq.span)
	if err != nil {
		return DSQ{Name: name, Err: err.Error()}
	}
	d := DSQ{ID: le(b, r.l.dsq.id), Nr: uint32(le(b, r.l.dsq.nr)), Name: name}
	if d.Name == "" {
		d.Name = dsqName(d.ID)
	}
	t := r.l.task
	err = r.m.walkList(q+uint64(r.l.dsq.list), maxDSQTasks, func(node uint64) error {
		p := node - uint64(t.dsqListNode)
		tb, err := r.m.bytes(p, t.span)
		if err != nil {
			return err
		}
		if le(tb, t.dsqListFlags)&lnodeIterCursor != 0 {
			return nil
		}
		d.Tasks = append(d.Tasks, r.task(tb))
		return nil
	})
	if err != nil {
		d.Err = err.Error()
	}
	return d
}

// task decodes the task whose struct task_struct starts with b (at
// least the layout's span).
func (r *scxReader) task(b []byte) Task {
	t := r.l.task
	tk := Task{
		PID: int32(le(b, t.pid)), Comm: cstr(b[t.comm.off : t.comm.off+t.comm.size]),
		Weight: uint32(le(b, t.weight)), Slice: le(b, t.slice), DSQVtime: le(b, t.dsqVtime),
	}
	if at := le(b, t.runnableAt); r.jiffies > at && r.jiffies-at < 1<<40 {
		tk.Waited = (r.jiffies - at) * r.tickNs
	}
	tk.Cgroup = r.cgroup(binary.LittleEndian.Uint64(b[t.cgroups:]))
	return tk
}

// cgroup names the cgroup2 directory of a css_set (p->cgroups): its
// dfl_cgrp's kernfs node's name.
func (r *scxReader) cgroup(cset uint64) string {
	if name, ok := r.cgroups[cset]; ok {
		return name
	}
	t := r.l.task
	name := ""
	if cg, err := r.m.u64(cset + uint64(t.cssDflCgrp)); err == nil {
		if kn, err := r.m.u64(cg + uint64(t.cgroupKn)); err == nil {
			if p, err := r.m.u64(kn + uint64(t.kernfsName)); err == nil {
				name, _ = r.m.cstring(p, 64)
			}
		}
	}
	r.cgroups[cset] = name
	return name
}

// curr reads the task running on a CPU (rq->curr).
func (r *scxReader) curr(rq uint64) (*Task, error) {
	p, err := r.m.u64(rq + uint64(r.l.rqCurr))
	if err != nil {
		return nil, err
	}
	b, err := r.m.bytes(p, r.l.task.span)
	if err != nil {
		return nil, err
	}
	t := r.task(b)
	t.Waited = 0 // runnable_at means nothing for a running task
	return &t, nil
}

// globalDSQs reads global_dsqs[0..nr_node_ids).
func (r *scxReader) globalDSQs() ([]DSQ, error) {
	arr, err := r.m.u64(r.s.globalDSQs)
	if err != nil {
		return nil, fmt.Errorf("global_dsqs: %w", err)
	}
	if arr == 0 {
		return nil, nil // never enabled since boot
	}
	nodes := uint32(1)
	if r.s.nrNodeIDs != 0 {
		if nodes, err = r.m.u32(r.s.nrNodeIDs); err != nil {
			return nil, fmt.Errorf("nr_node_ids: %w", err)
		}
	}
	var out []DSQ
	for n := range min(nodes, 64) {
		q, err := r.m.u64(arr + 8*uint64(n))
		if err != nil || q == 0 {
			continue
		}
		out = append(out, r.dsq(q, fmt.Sprintf("global node%d", n)))
	}
	return out, nil
}

// userDSQs reads the scheduler's own queues from dsq_hash, a struct
// rhashtable: bucket chains of rhash_head ending in a "nulls" marker (an
// odd value), the bucket pointer's bit 0 being its lock.
func (r *scxReader) userDSQs() ([]DSQ, error) {
	tbl, err := r.m.u64(r.s.dsqHash + uint64(r.l.rhtTbl))
	if err != nil {
		return nil, fmt.Errorf("dsq_hash: %w", err)
	}
	if tbl == 0 {
		return nil, nil
	}
	hdr, err := r.m.bytes(tbl, r.l.tblBuckets)
	if err != nil {
		return nil, fmt.Errorf("dsq_hash's bucket table: %w", err)
	}
	if le(hdr, r.l.tblNest) != 0 {
		return nil, errors.New("dsq_hash uses a nested bucket table, which snapshots do not read")
	}
	size := le(hdr, r.l.tblSize)
	if size > 1<<20 {
		return nil, fmt.Errorf("dsq_hash's bucket table claims %d buckets", size)
	}
	buckets, err := r.m.bytes(tbl+uint64(r.l.tblBuckets), uint32(8*size))
	if err != nil {
		return nil, fmt.Errorf("dsq_hash's buckets: %w", err)
	}
	var out []DSQ
	for i := range size {
		p := binary.LittleEndian.Uint64(buckets[8*i:]) &^ 1
		for p != 0 && p&1 == 0 {
			if len(out) == maxUserDSQs {
				return out, fmt.Errorf("more than %d user DSQs: the rest are not shown", maxUserDSQs)
			}
			out = append(out, r.dsq(p-uint64(r.l.dsq.hashNode), ""))
			if p, err = r.m.u64(p + uint64(r.l.rhtHeadNext)); err != nil {
				return out, fmt.Errorf("dsq_hash chain: %w", err)
			}
		}
	}
	return out, nil
}

// oldestWait is the longest any task queued on the CPU whose rq is at
// kernel address rq has been runnable without running, in jiffies: the
// head of rq->scx.runnable_list, which sched_ext's watchdog scans.
func (r *scxReader) oldestWait(rq uint64) (uint64, error) {
	var worst uint64
	t := r.l.task
	err := r.m.walkList(rq+uint64(r.l.rqRunnableList), maxWaitScan, func(node uint64) error {
		at, err := r.m.u64(node - uint64(t.runnableNode) + uint64(t.runnableAt.off))
		if err != nil {
			return err
		}
		if r.jiffies > at && r.jiffies-at < 1<<40 {
			worst = max(worst, r.jiffies-at)
		}
		return nil
	})
	if errors.Is(err, errListTooLong) {
		err = nil // the oldest are at the head
	}
	return worst, err
}

func dsqName(id uint64) string {
	switch id {
	case dsqGlobal:
		return "global"
	case dsqLocal:
		return "local"
	}
	if id&dsqFlagBuiltin != 0 {
		return fmt.Sprintf("builtin %#x", id)
	}
	return fmt.Sprintf("user %#x", id)
}

// errListTooLong ends a walk at its bound.
var errListTooLong = errors.New("list longer than the bound")

// walkList calls fn with each node of the list_head at head, at most
// limit of them. A list that does not come back to head within the
// bound wraps errListTooLong; one whose links cannot be read is an error.
func (m *kmem) walkList(head uint64, limit int, fn func(node uint64) error) error {
	n, err := m.u64(head)
	if err != nil {
		return fmt.Errorf("list head at %#x: %w", head, err)
	}
	for i := 0; n != head; i++ {
		if i == limit {
			return fmt.Errorf("%w of %d: the rest are not shown", errListTooLong, limit)
		}
		if err := fn(n); err != nil {
			return fmt.Errorf("list entry %d at %#x: %w", i, n, err)
		}
		if n, err = m.u64(n); err != nil {
			return fmt.Errorf("list entry %d at %#x: %w", i, n, err)
		}
	}
	return nil
}
