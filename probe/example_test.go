package probe_test

import (
	"fmt"

	"github.com/ktstr-go/ktstr/probe"
)

// What auto-repro probes after a stall whose captured stack went through
// the scheduler's ops.tick: every callback, the stack's own functions
// (without the clock reads every stack has), and sched_ext's exit path.
func ExampleFromStack() {
	stack := []string{"read_tsc+0x4", "bpf_prog_wedge_tick+0x110", "task_tick_scx+0x5e", "sched_tick+0x9a"}
	specs := probe.Merge([]probe.Spec{{Func: probe.AllCallbacks}}, probe.FromStack(stack), probe.ExitPath)
	fmt.Println(probe.Format(specs))
	// Output:
	// *,wedge_tick,task_tick_scx,sched_tick,scx_ops_exit_kind:kind+exit_code,scx_watchdog_workfn,scx_ops_disable_workfn,scx_bpf_error_bstr
}
