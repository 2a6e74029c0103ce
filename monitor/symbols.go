package monitor

import (
	"debug/elf"
	"fmt"
)

// symbols are the kernel addresses a sample starts from.
type symbols struct {
	// runqueues is the per-CPU struct rq, an offset inside the per-CPU
	// section (x86-64 per-CPU symbols are zero-based).
	runqueues uint64
	// perCPUOffset is __per_cpu_offset[NR_CPUS]: adding entry n to a
	// per-CPU symbol gives CPU n's copy.
	perCPUOffset uint64
	// nrCPUIDs is nr_cpu_ids, read to check that the guest booted the CPU
	// count asked for, and that translation is right.
	nrCPUIDs uint64
	// pageOffsetBase is the variable holding the direct map's base (0:
	// the kernel has a fixed one, defaultPageOffset).
	pageOffsetBase uint64
	// systemState is the system_state variable (0: not found), which
	// says when the kernel has begun to halt, power off or reboot.
	systemState uint64
	// The rest are optional (0: not found) and serve snapshots: the
	// direct map's end and the kernel's page tables (for vmalloc'd
	// memory), sched_ext's globals, the BPF object IDRs, and the clock
	// its watchdog counts in.
	vmallocBase, pgtableL5, initTopPgt   uint64
	scxEnableState, scxOps, scxSwitching uint64
	scxExitInfo, scxWatchdogTimeout      uint64
	scxWatchdogTimestamp                 uint64
	globalDSQs, dsqHash, nrNodeIDs       uint64
	mapIDR, progIDR, jiffies             uint64
	schedSchedstats, tickNsec            uint64
}

// loadSymbols reads the addresses from vmlinux's ELF symbol table.
func loadSymbols(f *elf.File) (symbols, error) {
	syms, err := f.Symbols()
	if err != nil {
		return symbols{}, fmt.Errorf("reading the symbol table: %w (a vmlinux stripped of symbols cannot be monitored)", err)
	}
	var s symbols
	// Each found symbol leaves the map: what stays was not found.
	pending := map[string]*uint64{
		"runqueues":        &s.runqueues,
		"__per_cpu_offset": &s.perCPUOffset,
		"nr_cpu_ids":       &s.nrCPUIDs,
		"page_offset_base": &s.pageOffsetBase,
		"system_state":     &s.systemState,

		"vmalloc_base":             &s.vmallocBase,
		"__pgtable_l5_enabled":     &s.pgtableL5,
		"init_top_pgt":             &s.initTopPgt,
		"scx_ops_enable_state_var": &s.scxEnableState,
		"scx_ops":                  &s.scxOps,
		"scx_switching_all":        &s.scxSwitching,
		"scx_exit_info":            &s.scxExitInfo,
		"scx_watchdog_timeout":     &s.scxWatchdogTimeout,
		"scx_watchdog_timestamp":   &s.scxWatchdogTimestamp,
		"global_dsqs":              &s.globalDSQs,
		"dsq_hash":                 &s.dsqHash,
		"nr_node_ids":              &s.nrNodeIDs,
		"map_idr":                  &s.mapIDR,
		"prog_idr":                 &s.progIDR,
		"jiffies_64":               &s.jiffies,
		"sched_schedstats":         &s.schedSchedstats,
		"tick_nsec":                &s.tickNsec,
	}
	for _, sym := range syms {
		if dst, ok := pending[sym.Name]; ok {
			*dst = sym.Value
			delete(pending, sym.Name)
		}
	}
	for _, name := range []string{"runqueues", "__per_cpu_offset", "nr_cpu_ids"} {
		if _, missing := pending[name]; missing {
			return symbols{}, fmt.Errorf("symbol %s not in vmlinux (an SMP x86-64 kernel with CONFIG_KALLSYMS_ALL has it)", name)
		}
	}
	return s, nil
}
