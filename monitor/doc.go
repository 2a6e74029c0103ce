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
//
// A Snapshot reads more, at chosen moments rather than every interval:
// sched_ext's state and every dispatch queue with the tasks on it (local,
// global and the scheduler's own, from its rhashtable), what each CPU
// runs, per-CPU schedstat, and the BPF maps and programs, found through
// the kernel's map_idr and prog_idr (XArrays), with map keys and values
// decoded by the map's own BTF, itself read from guest memory. Memory
// outside the image and the direct map (vmalloc'd map values and BTF,
// later per-CPU chunks) is read through the guest's own page tables,
// from init_top_pgt, with the VMM's page walk (Config.PageWalk). Run
// takes snapshots when asked (Config.Requests) and on its own: when a
// CPU stalls, when a runnable task has waited half of sched_ext's
// watchdog timeout, and, as the last one it refreshed, when sched_ext
// leaves the enabled state.
package monitor
