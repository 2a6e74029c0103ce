/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr_wedge - BROKEN: freezes one CPU with interrupts off.
 *
 * BUG: a healthy global FIFO whose ops.tick, on CPU `wedge_cpu` (default
 * 1), once `wedge_after_ms` after load (default 1500 ms), busy-waits for
 * `wedge_ms` (default 2000 ms). ops.tick runs in the timer interrupt with
 * the runqueue locked, so the CPU is gone for those two seconds: no
 * tick, no schedule, its rq clock stands still while tasks wait on it
 * (and CPUs that need its runqueue lock spin with it). The guest's own
 * detectors (sched_ext watchdog, RCU, lockup) wait far longer, and its
 * checks can only tell that workers did not run; the host monitor must
 * name the frozen CPU.
 */
#include "ktstr_scx.bpf.h"

const volatile s32 wedge_cpu = 1;
const volatile u64 wedge_after_ms = 1500;
const volatile u64 wedge_ms = 2000;

static u64 start_ns;
static bool wedged;

s32 BPF_STRUCT_OPS(wedge_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	bool is_idle = false;

	return scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
}

void BPF_STRUCT_OPS(wedge_enqueue, struct task_struct *p, u64 enq_flags)
{
	scx_bpf_dispatch(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

/* spin is a bpf_loop callback: stop once the deadline in *ctx passed. */
static long spin(u64 i, void *ctx)
{
	return bpf_ktime_get_ns() >= *(u64 *)ctx;
}

/* spin_more nests bpf_loop: one loop's 8M iterations may end too soon on
 * a fast CPU. */
static long spin_more(u64 i, void *ctx)
{
	bpf_loop(1 << 23, spin, ctx, 0);
	return bpf_ktime_get_ns() >= *(u64 *)ctx;
}

void BPF_STRUCT_OPS(wedge_tick, struct task_struct *p)
{
	u64 now = bpf_ktime_get_ns(), deadline;

	if (wedged || bpf_get_smp_processor_id() != wedge_cpu ||
	    now - start_ns < wedge_after_ms * 1000000ULL)
		return;
	wedged = true;
	deadline = now + wedge_ms * 1000000ULL;
	bpf_loop(1 << 10, spin_more, &deadline, 0); /* the bug */
}

s32 BPF_STRUCT_OPS_SLEEPABLE(wedge_init)
{
	start_ns = bpf_ktime_get_ns();
	return 0;
}

void BPF_STRUCT_OPS(wedge_exit, struct scx_exit_info *ei)
{
	ktstr_record_exit(ei);
}

SEC(".struct_ops.link")
struct sched_ext_ops wedge_ops = {
	.select_cpu = (void *)wedge_select_cpu,
	.enqueue = (void *)wedge_enqueue,
	.tick = (void *)wedge_tick,
	.init = (void *)wedge_init,
	.exit = (void *)wedge_exit,
	.name = "ktstr_wedge",
};
