// Package monitor watches a running guest kernel from the host by reading
// guest-physical memory: every CPU's runqueue (struct rq) sampled at a
// fixed interval, with no agent in the guest and nothing the scheduler
// under test could disturb or hide. Samples are judged against thresholds
// (a CPU with runnable tasks whose rq clock stops, a sustained load
// imbalance, a local dispatch queue that keeps growing), so a scheduler
// that wedges the guest so hard that it can no longer report is still
// caught, and named. While a CPU stands still, Config.OnStall can ask
// the VMM where that vCPU is executing, and the stall's message quotes
// the answer.
//
// What to read comes from the guest kernel's own vmlinux: ELF symbols give
// the addresses (runqueues, __per_cpu_offset, page_offset_base), BTF gives
// the field offsets, so one binary follows struct rq across kernel
// versions; system_state and enum system_states tell when the kernel
// starts to go down, where sampling ends. Addresses are translated
// without walking page tables: kernel
// image symbols through the fixed text mapping (the guest boots with
// nokaslr), per-CPU data through the direct map.
package monitor
