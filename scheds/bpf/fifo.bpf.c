/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr_fifo - healthy reference: one global FIFO.
 *
 * Every runnable task goes to the built-in global DSQ with the default
 * slice; idle CPUs are picked by the kernel's default select_cpu. No bug.
 *
 * It counts its callbacks per CPU in fifo_stats, which the harness's
 * tests read from the host (monitor snapshots) and compare with what the
 * guest reads through the bpf syscall and what probes count.
 */
#include "ktstr_scx.bpf.h"

/* Layout mirrored by tests/introspect_test.go (fifoStats). */
struct fifo_stats {
	u64 select_cpus;
	u64 enqueues;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct fifo_stats);
} fifo_stats SEC(".maps");

static __always_inline struct fifo_stats *fifo_stats_here(void)
{
	u32 key = 0;

	return bpf_map_lookup_elem(&fifo_stats, &key);
}

s32 BPF_STRUCT_OPS(fifo_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	struct fifo_stats *st = fifo_stats_here();
	bool is_idle = false;

	if (st)
		st->select_cpus++;
	return scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
}

void BPF_STRUCT_OPS(fifo_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct fifo_stats *st = fifo_stats_here();

	if (st)
		st->enqueues++;
	scx_bpf_dispatch(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

void BPF_STRUCT_OPS(fifo_exit, struct scx_exit_info *ei)
{
	ktstr_record_exit(ei);
}

SEC(".struct_ops.link")
struct sched_ext_ops fifo_ops = {
	.select_cpu = (void *)fifo_select_cpu,
	.enqueue = (void *)fifo_enqueue,
	.exit = (void *)fifo_exit,
	.name = "ktstr_fifo",
};
