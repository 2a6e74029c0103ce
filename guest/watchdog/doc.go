// Package watchdog overrides the sched_ext watchdog timeout of any
// scheduler, whatever loads it: libbpf C binaries, Rust schedulers, the
// in-repo loader.
//
// sched_ext takes the timeout from the scheduler's own struct
// sched_ext_ops (ops.timeout_ms; 0 means the kernel's 30 s) when the
// scheduler enables, and arms its watchdog work then, to run every
// timeout/2 (kernel/sched/ext.c, scx_ops_enable and scx_watchdog_workfn).
// Rewriting the kernel's scx_watchdog_timeout from the host after attach
// cannot shorten the first period: the work is already queued for half
// the old timeout (15 s for a scheduler that keeps the default), and
// scx_tick would meanwhile see the work "fail to check in" against the
// new, shorter timeout and kill a healthy scheduler. So the timeout must
// be in the ops before they reach the kernel.
//
// Every scheduler hands its ops to the kernel the same way: a
// bpf(BPF_MAP_UPDATE_ELEM) on its struct_ops map whose value is a
// struct bpf_struct_ops_sched_ext_ops. Supervise runs the scheduler under
// ptrace, stops it at each bpf() call, and when the call updates a
// sched_ext struct_ops map it rewrites timeout_ms in the caller's value
// buffer before the kernel copies it. Offsets come from the running
// kernel's BTF (/sys/kernel/btf/vmlinux). The guest kernels have no
// seccomp, so the tracer stops at every system call of the scheduler's
// threads (twice), for as long as the scheduler runs: a scheduler that
// registers again later is rewritten again.
//
// InForce reads back, from the attached scheduler's struct_ops map, the
// timeout the kernel took.
package watchdog
