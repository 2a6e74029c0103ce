/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr_error - BROKEN: calls scx_bpf_error() after a delay.
 *
 * BUG: a correct global FIFO until `error_after_ms` (default 1500 ms)
 * have passed since init; then the next tick aborts the scheduler with
 * scx_bpf_error("ktstr_error: deliberate scx_bpf_error after N ms"), which
 * the kernel reports as exit kind SCX_EXIT_ERROR_BPF.
 */
#include "ktstr_scx.bpf.h"

const volatile u64 error_after_ms = 1500;

static u64 start_ns;
static char error_fmt[] = "ktstr_error: deliberate scx_bpf_error after %llu ms";

s32 BPF_STRUCT_OPS(error_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	bool is_idle = false;

	return scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
}

void BPF_STRUCT_OPS(error_enqueue, struct task_struct *p, u64 enq_flags)
{
	scx_bpf_dispatch(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

void BPF_STRUCT_OPS(error_tick, struct task_struct *p)
{
	unsigned long long param[1];
	u64 elapsed_ms = (bpf_ktime_get_ns() - start_ns) / 1000000ULL;

	if (elapsed_ms < error_after_ms)
		return;
	param[0] = elapsed_ms;
	scx_bpf_error_bstr(error_fmt, param, sizeof(param)); /* the bug */
}

s32 BPF_STRUCT_OPS_SLEEPABLE(error_init)
{
	start_ns = bpf_ktime_get_ns();
	return 0;
}

void BPF_STRUCT_OPS(error_exit, struct scx_exit_info *ei)
{
	ktstr_record_exit(ei);
}

SEC(".struct_ops.link")
struct sched_ext_ops error_ops = {
	.select_cpu = (void *)error_select_cpu,
	.enqueue = (void *)error_enqueue,
	.tick = (void *)error_tick,
	.init = (void *)error_init,
	.exit = (void *)error_exit,
	.name = "ktstr_error",
};
