package probe

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Spec is one probe: a function to watch and the arguments to record.
type Spec struct {
	// Func is a kernel function ("balance_scx") or a function of the
	// attached scheduler's BPF programs ("stall_dispatch"); AllCallbacks
	// means every struct_ops callback of the scheduler.
	Func string `json:"func"`
	// Args are the arguments to record, by their names in the function's
	// BTF ("rq", "prev") or position ("arg0".."arg5"); at most MaxArgs.
	// Empty records every argument (up to MaxArgs) of a function whose
	// BTF is known, and none of one whose BTF is not.
	Args []string `json:"args,omitempty"`
}

// AllCallbacks as Spec.Func probes every struct_ops callback of the
// attached scheduler, recording all of each one's arguments.
const AllCallbacks = "*"

// MaxArgs is how many arguments a hit records.
const MaxArgs = 6

// On is a Spec for fn recording args.
func On(fn string, args ...string) Spec { return Spec{Func: fn, Args: args} }

func (s Spec) String() string {
	if len(s.Args) == 0 {
		return s.Func
	}
	return s.Func + ":" + strings.Join(s.Args, "+")
}

var (
	funcRE = regexp.MustCompile(`^(\*|[A-Za-z_][A-Za-z0-9_.]*)$`)
	argRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate reports a spec the guest could never attach.
func (s Spec) Validate() error {
	if !funcRE.MatchString(s.Func) {
		return fmt.Errorf("probe %q: want a function name (or %q for every scheduler callback)", s.Func, AllCallbacks)
	}
	if len(s.Args) > MaxArgs {
		return fmt.Errorf("probe %s: %d arguments, at most %d are recorded", s.Func, len(s.Args), MaxArgs)
	}
	for _, a := range s.Args {
		if !argRE.MatchString(a) {
			return fmt.Errorf("probe %s: argument %q is not a name", s.Func, a)
		}
	}
	return nil
}

// Format writes specs for the kernel command line
// ("*,balance_scx:rq+prev"); Parse reads them back.
func Format(specs []Spec) string {
	parts := make([]string, len(specs))
	for i, s := range specs {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}

// Parse reads Format's output.
func Parse(s string) ([]Spec, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []Spec
	for _, p := range strings.Split(s, ",") {
		fn, args, _ := strings.Cut(p, ":")
		sp := Spec{Func: fn}
		if args != "" {
			sp.Args = strings.Split(args, "+")
		}
		if err := sp.Validate(); err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

// ExitPath are the kernel functions sched_ext goes through when it
// throws a scheduler out (Linux 6.12): the error or exit itself with its
// kind, the watchdog's scan, the work that disables the scheduler, and
// the BPF error kfunc.
var ExitPath = []Spec{
	On("scx_ops_exit_kind", "kind", "exit_code"),
	On("scx_watchdog_workfn"),
	On("scx_ops_disable_workfn"),
	On("scx_bpf_error_bstr"),
}

// freezes are the functions whose call freezes the probes' ring (a few
// calls later): sched_ext's exit with an error or a BPF-requested exit,
// which every failure of a scheduler goes through. What comes after it
// (the scheduler torn down, tasks back on the fair class) would
// otherwise push what led up to it out of the ring before it is read.
var freezes = map[string]bool{"scx_ops_exit_kind": true}

// DispatchPath are the kernel functions between the core scheduler and
// a sched_ext scheduler's callbacks, where a task is queued and where a
// CPU looks for one: the bridge from the callbacks to the kernel.
var DispatchPath = []Spec{
	On("do_enqueue_task", "p", "enq_flags"),
	On("balance_scx", "rq", "prev"),
	On("scx_bpf_consume", "dsq_id"),
	On("scx_bpf_dispatch", "p", "dsq_id"),
}

// noise are functions a stack shows on the way to anything: locks,
// interrupt and syscall entry, the idle loop, tracing and BPF plumbing,
// the scheduler core's entry points. Probing them says nothing about
// the failure and costs much.
var noise = regexp.MustCompile(`^(_raw_spin|raw_spin|queued_spin|native_|pv_|__x64_sys|do_syscall|entry_SYSCALL|asm_|sysvec_|irq_|__irq|handle_irq|do_idle|cpu_startup|default_idle|acpi_idle|cpuidle|start_secondary|secondary_startup|common_startup|rest_init|arch_cpu_idle|__schedule|schedule$|schedule_idle|preempt_schedule|ret_from_fork|kthread|worker_thread|process_one_work|smpboot|bpf_trampoline|__bpf_prog_enter|__bpf_prog_exit|bpf_dispatcher|ftrace|dump_stack|show_stack|read_tsc|ktime_get|sched_clock|update_process_times|tick_|hrtimer_|__hrtimer|__sysvec|timekeeping|rcu_|__rcu|lock_|_find_next|memcpy|memset)`)

// FromStack turns function names seen on a captured stack (the
// monitor's stall capture: "task_tick_scx+0x5e", "bpf_prog_wedge_tick")
// into specs, scheduler callbacks by their BPF function name, without
// the plumbing every stack has (locks, interrupt entry, idle, tracing).
func FromStack(names []string) []Spec {
	var out []Spec
	for _, n := range names {
		n, _, _ = strings.Cut(n, "+")
		n = strings.TrimPrefix(n, "bpf_prog_")
		if n == "" || noise.MatchString(n) || !funcRE.MatchString(n) || n == AllCallbacks {
			continue
		}
		if !slices.ContainsFunc(out, func(s Spec) bool { return s.Func == n }) {
			out = append(out, Spec{Func: n})
		}
	}
	return out
}

// Merge joins spec lists, the first mention of a function winning.
func Merge(lists ...[]Spec) []Spec {
	var out []Spec
	for _, l := range lists {
		for _, s := range l {
			if !slices.ContainsFunc(out, func(o Spec) bool { return o.Func == s.Func }) {
				out = append(out, s)
			}
		}
	}
	return out
}
