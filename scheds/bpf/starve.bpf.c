/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr_starve - BROKEN: starves the tasks of one cgroup.
 *
 * BUG: tasks whose cgroup2 leaf is named `victim` (default "cg_1") go to
 * their own DSQ, which dispatch serves at most once per `trickle_ms`
 * (default 2000 ms), one task one slice at a time. Everything else is a
 * global FIFO. The trickle keeps the victims just alive enough that the
 * kernel watchdog (30 s) stays quiet, and lets killed victims exit; what
 * must catch it is the harness's starvation check on the victim workers.
 */
#include "ktstr_scx.bpf.h"

#define SHARED_DSQ 0
#define VICTIM_DSQ 1

const volatile char victim[32] = "cg_1";
const volatile u64 trickle_ms = 2000;

static u64 last_victim_ns;

s32 BPF_STRUCT_OPS(starve_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	bool is_idle = false;

	return scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
}

void BPF_STRUCT_OPS(starve_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 dsq = ktstr_task_in_cgroup(p, victim) ? VICTIM_DSQ : SHARED_DSQ;

	scx_bpf_dispatch(p, dsq, SCX_SLICE_DFL, enq_flags);
}

void BPF_STRUCT_OPS(starve_dispatch, s32 cpu, struct task_struct *prev)
{
	u64 now = bpf_ktime_get_ns();

	if (now - last_victim_ns >= trickle_ms * 1000000ULL && scx_bpf_consume(VICTIM_DSQ)) {
		last_victim_ns = now;
		return;
	}
	scx_bpf_consume(SHARED_DSQ);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(starve_init)
{
	s32 ret = scx_bpf_create_dsq(SHARED_DSQ, -1);

	if (ret)
		return ret;
	last_victim_ns = bpf_ktime_get_ns();
	return scx_bpf_create_dsq(VICTIM_DSQ, -1);
}

void BPF_STRUCT_OPS(starve_exit, struct scx_exit_info *ei)
{
	ktstr_record_exit(ei);
}

SEC(".struct_ops.link")
struct sched_ext_ops starve_ops = {
	.select_cpu = (void *)starve_select_cpu,
	.enqueue = (void *)starve_enqueue,
	.dispatch = (void *)starve_dispatch,
	.init = (void *)starve_init,
	.exit = (void *)starve_exit,
	.name = "ktstr_starve",
};
