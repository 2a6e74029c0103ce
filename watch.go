package ktstr

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/vmm"
)

// startMonitor samples the guest's runqueues from the host while the VM
// runs. The returned func stops sampling and returns what was seen: nil
// when the kernel has no vmlinux to read the guest by, a report with Err
// set when that vmlinux cannot be used.
func startMonitor(ctx context.Context, m vmm.Machine, vmlinux string, cpus int, jit *jitSymbols, intro *introspection, log *zap.Logger) func() *monitor.Report {
	if vmlinux == "" {
		log.Info("host monitor off: the kernel has no vmlinux with it")
		return func() *monitor.Report { return nil }
	}
	k, err := monitor.Load(vmlinux)
	if err != nil {
		log.Warn("host monitor off", zap.Error(err))
		return func() *monitor.Report { return &monitor.Report{Err: err.Error()} }
	}
	cfg := monitor.Config{CPUs: cpus}
	if t, ok := m.(vmm.VCPUTimer); ok {
		cfg.VCPUTimes = t.VCPUTimes
	}
	if in, ok := m.(vmm.VCPUInspector); ok {
		cfg.OnStall = stallCapture(in, vmlinux, jit)
	}
	intro.configure(&cfg, m)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan *monitor.Report, 1)
	go func() { done <- monitor.Run(ctx, k, m.Memory(), cfg) }()
	return func() *monitor.Report {
		cancel()
		return <-done
	}
}

// jitSymbols collects the JIT-compiled BPF functions the guest reports
// when a scheduler attaches (guest.SchedEvent.BPF), for the monitor.
type jitSymbols struct {
	mu   sync.Mutex
	syms []kernel.CodeSymbol
}

// add takes the BPF functions from a scheduler's "attached" record; each
// report lists every program loaded then, so it replaces the last.
func (j *jitSymbols) add(rec guest.Record) {
	var ev guest.SchedEvent
	if rec.Kind != guest.KindSched || rec.Decode(&ev) != nil || ev.Event != "attached" {
		return
	}
	syms := make([]kernel.CodeSymbol, 0, len(ev.BPF))
	for _, b := range ev.BPF {
		// kallsyms calls them bpf_prog_<tag>_<name>; the tag is noise here.
		syms = append(syms, kernel.CodeSymbol{Addr: b.Addr, Size: uint64(b.Size), Name: "bpf_prog_" + b.Name})
	}
	j.mu.Lock()
	j.syms = syms
	j.mu.Unlock()
}

func (j *jitSymbols) get() []kernel.CodeSymbol {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.syms
}

// stallCapture answers the monitor's question about a stalled CPU: where
// its vCPU is executing right now, with the return addresses on its
// stack, and where the other vCPUs are (a CPU stuck with interrupts off
// is often waiting on another one), named from the vmlinux and the BPF
// functions in jit (nil: none).
func stallCapture(in vmm.VCPUInspector, vmlinux string, jit *jitSymbols) func(cpu int) string {
	symbolizer := sync.OnceValues(func() (*kernel.Symbolizer, error) { return kernel.NewSymbolizer(vmlinux) })
	return func(cpu int) string {
		vcpus, err := in.VCPUStates()
		if err != nil {
			return "an unknown place (" + err.Error() + ")"
		}
		if cpu >= len(vcpus) {
			return fmt.Sprintf("an unknown place (the VMM reported %d vCPUs)", len(vcpus))
		}
		sym, err := symbolizer()
		if err != nil {
			return fmt.Sprintf("rip %#x (%v)", vcpus[cpu].RIP, err)
		}
		if extra := jit.get(); len(extra) > 0 {
			sym = sym.With(extra)
		}
		where := sym.Where(vcpus[cpu].RIP, vcpus[cpu].Stack)
		var others []string
		for i, v := range vcpus {
			if i != cpu {
				others = append(others, fmt.Sprintf("vCPU %d in %s", i, sym.Name(v.RIP)))
			}
		}
		if len(others) > 0 {
			where += "; meanwhile " + strings.Join(others, ", ")
		}
		return where
	}
}
