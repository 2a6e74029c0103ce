/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr_prime - not a scheduler: its ops.init always fails.
 *
 * Linux 6.12 runs ops.init in the kthread "scx_ops_enable_helper", created
 * unpinned on the first sched_ext enable. scx_central's init must run on
 * its central CPU, so `scxload -exec -prime prime.bpf.o -pin-enable-helper 0`
 * enables this once (creating the helper, attaching nothing), pins the
 * helper to CPU 0, then execs scx_central.
 */
#include "ktstr_scx.bpf.h"

s32 BPF_STRUCT_OPS_SLEEPABLE(prime_init)
{
	return -19; /* -ENODEV */
}

void BPF_STRUCT_OPS(prime_enqueue, struct task_struct *p, u64 enq_flags)
{
	scx_bpf_dispatch(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

SEC(".struct_ops.link")
struct sched_ext_ops prime_ops = {
	.enqueue = (void *)prime_enqueue,
	.init = (void *)prime_init,
	.name = "ktstr_prime",
};
