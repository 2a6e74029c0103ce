/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr_stall - BROKEN: stops dispatching.
 *
 * BUG: a FIFO on a custom DSQ whose dispatch callback stops consuming
 * after `stall_after_ms` (default 1000 ms). From then on no queued task
 * runs; the kernel's sched_ext watchdog must fire ("runnable task stall")
 * after timeout_ms (3 s here, so tests stay short) and fall back to EEVDF.
 */
#include "ktstr_scx.bpf.h"

#define SHARED_DSQ 0

const volatile u64 stall_after_ms = 1000;

static u64 start_ns;

s32 BPF_STRUCT_OPS(stall_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	bool is_idle = false;

	return scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
}

void BPF_STRUCT_OPS(stall_enqueue, struct task_struct *p, u64 enq_flags)
{
	scx_bpf_dispatch(p, SHARED_DSQ, SCX_SLICE_DFL, enq_flags);
}

void BPF_STRUCT_OPS(stall_dispatch, s32 cpu, struct task_struct *prev)
{
	if (bpf_ktime_get_ns() - start_ns >= stall_after_ms * 1000000ULL)
		return; /* the bug */
	scx_bpf_consume(SHARED_DSQ);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(stall_init)
{
	start_ns = bpf_ktime_get_ns();
	return scx_bpf_create_dsq(SHARED_DSQ, -1);
}

void BPF_STRUCT_OPS(stall_exit, struct scx_exit_info *ei)
{
	ktstr_record_exit(ei);
}

SEC(".struct_ops.link")
struct sched_ext_ops stall_ops = {
	.select_cpu = (void *)stall_select_cpu,
	.enqueue = (void *)stall_enqueue,
	.dispatch = (void *)stall_dispatch,
	.init = (void *)stall_init,
	.exit = (void *)stall_exit,
	.timeout_ms = 3000,
	.name = "ktstr_stall",
};
