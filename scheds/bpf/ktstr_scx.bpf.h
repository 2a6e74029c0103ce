/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr_scx.bpf.h - the little each in-repo reference scheduler shares.
 *
 * Written for Linux 6.12's sched_ext kfunc names (scx_bpf_dispatch,
 * scx_bpf_consume); vmlinux.h is generated from the target kernel's BTF by
 * `ktstr sched build` and never committed.
 *
 * Every scheduler records why it was unloaded into the ktstr_exit map so
 * the Go loader (scxload) can report the sched_ext exit reason and exit
 * non-zero when the kernel kicks the scheduler out.
 */
#ifndef KTSTR_SCX_BPF_H
#define KTSTR_SCX_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/*
 * cgroup_parent is where a runner may tell a scheduler its cgroup parent
 * (`scxload -set cgroup_parent=/path`), as cell schedulers are told
 * theirs. No policy here uses it; the harness's cgroup-parent tests read
 * it back from the loaded scheduler.
 */
const volatile char cgroup_parent[128];

#define BPF_STRUCT_OPS(name, args...) SEC("struct_ops/" #name) BPF_PROG(name, ##args)
#define BPF_STRUCT_OPS_SLEEPABLE(name, args...) SEC("struct_ops.s/" #name) BPF_PROG(name, ##args)

s32 scx_bpf_select_cpu_dfl(struct task_struct *p, s32 prev_cpu, u64 wake_flags, bool *is_idle) __ksym;
void scx_bpf_dispatch(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags) __ksym;
void scx_bpf_dispatch_vtime(struct task_struct *p, u64 dsq_id, u64 slice, u64 vtime, u64 enq_flags) __ksym;
bool scx_bpf_consume(u64 dsq_id) __ksym;
s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __ksym;
void scx_bpf_error_bstr(char *fmt, unsigned long long *data, u32 data__sz) __ksym;

char _license[] SEC("license") = "GPL";

/* Layout mirrored by scheds/cmd/scxload (exitRecord). */
struct ktstr_exit {
	s32 kind;		/* enum scx_exit_kind; 0 while running */
	u32 _pad;
	s64 exit_code;
	char reason[128];
	char msg[1024];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct ktstr_exit);
} ktstr_exit SEC(".maps");

static __always_inline void ktstr_record_exit(struct scx_exit_info *ei)
{
	u32 key = 0;
	struct ktstr_exit *e = bpf_map_lookup_elem(&ktstr_exit, &key);

	if (!e)
		return;
	bpf_probe_read_kernel_str(e->reason, sizeof(e->reason), ei->reason);
	bpf_probe_read_kernel_str(e->msg, sizeof(e->msg), ei->msg);
	e->exit_code = ei->exit_code;
	/* kind last: the loader polls it */
	e->kind = ei->kind;
}

/*
 * ktstr_task_in_cgroup reports whether p's cgroup2 directory is named
 * name (the leaf name, e.g. "cg_1"). Scenario cgroups are leaves named by
 * the test, so a leaf-name match is enough for the broken schedulers.
 */
static __always_inline bool ktstr_task_in_cgroup(struct task_struct *p, const volatile char *name)
{
	char buf[32] = {};
	const char *kn_name = BPF_CORE_READ(p, cgroups, dfl_cgrp, kn, name);
	int i;

	if (!kn_name || bpf_probe_read_kernel_str(buf, sizeof(buf), kn_name) <= 0)
		return false;
	for (i = 0; i < (int)sizeof(buf); i++) {
		if (buf[i] != name[i])
			return false;
		if (!buf[i])
			return true;
	}
	return true;
}

static __always_inline bool vtime_before(u64 a, u64 b)
{
	return (s64)(a - b) < 0;
}

#endif /* KTSTR_SCX_BPF_H */
