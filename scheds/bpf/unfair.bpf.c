/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr_unfair - BROKEN: grossly unfair between equal cgroups.
 *
 * BUG: one FIFO for everybody, but tasks whose cgroup2 leaf is named
 * `victim` (default "cg_1") get a 1 ms slice while all others get
 * 100 ms. Every task still runs every round (no starvation, no watchdog),
 * yet two equal cgroups of spinning workers split the CPU roughly 1:10 or
 * worse (slices round up to the tick). The harness's fairness check must
 * catch it.
 *
 * The slices are ordinary globals (.data), not const: a BPF map write at
 * run time (ktstr's bpfmap, `ktstr run --map-write`) can give the victim
 * the others' slice and make the scheduler fair, which the harness's
 * map-write test measures.
 */
#include "ktstr_scx.bpf.h"

const volatile char victim[32] = "cg_1";
u64 victim_slice_us = 1000;
u64 other_slice_us = 100000;

s32 BPF_STRUCT_OPS(unfair_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	bool is_idle = false;

	return scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
}

void BPF_STRUCT_OPS(unfair_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 slice = ktstr_task_in_cgroup(p, victim) ? victim_slice_us : other_slice_us;

	scx_bpf_dispatch(p, SCX_DSQ_GLOBAL, slice * 1000ULL, enq_flags);
}

void BPF_STRUCT_OPS(unfair_exit, struct scx_exit_info *ei)
{
	ktstr_record_exit(ei);
}

SEC(".struct_ops.link")
struct sched_ext_ops unfair_ops = {
	.select_cpu = (void *)unfair_select_cpu,
	.enqueue = (void *)unfair_enqueue,
	.exit = (void *)unfair_exit,
	.name = "ktstr_unfair",
};
