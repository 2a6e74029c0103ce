package ktstr

import (
	"context"
	"io"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/vmm"
)

// ErrNoKernel is returned when no kernel can be found; tests skip on it.
// Its message carries the KTSTR_KERNEL hint.
var ErrNoKernel = kernel.ErrNotFound

// bootSpec is one VM run as its caller asks for it.
type bootSpec struct {
	name string // test name or "shell"
	// params carries the mode and what the mode needs (test name, exec
	// command, terminal size); plan fills in the settled values.
	params guest.BootParams
	opts   Opts
	files  map[string]string // extra initramfs files: guest path → host path
	data   map[string][]byte // extra initramfs files by content (the run plan)
	shell  bool              // include busybox
	// interact attaches stdin and the console: an interactive shell.
	interact bool
	stdin    io.Reader
}

// judged reports whether the run is a test the monitor's bounds apply to.
func (s *bootSpec) judged() bool {
	return s.params.Mode == guest.ModeTest || s.params.Mode == guest.ModeGoTest
}

// vmPlan is everything decided before a VM starts.
type vmPlan struct {
	spec    bootSpec
	set     settings
	kernel  *kernel.Kernel
	backend vmm.Backend
	config  vmm.Config
}

// plan settles the run's values and checks them, then does the slow
// work: find the kernel, pack the initramfs. Every input is checked
// before anything slow starts, so a typo costs no kernel lookup.
func plan(ctx context.Context, spec bootSpec, ro RunOptions, log *zap.Logger) (*vmPlan, error) {
	set, err := settle(&spec.opts, &ro, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	if spec.judged() {
		if err := set.checkConstraints(); err != nil {
			return &vmPlan{spec: spec, set: set}, err
		}
	}
	if err := checkKernelArgs(spec.opts.KernelArgs); err != nil {
		return nil, err
	}
	backend, err := selectBackend(set.backend, log)
	if err != nil {
		return nil, err
	}
	if _, err := guest.ResolveIncludes(spec.opts.Includes, ""); err != nil {
		return nil, err
	}
	k, err := kernel.Resolve(ctx, kernel.ResolveOptions{Spec: set.kernel, Logger: log})
	if err != nil {
		return nil, err
	}
	// Scheduler builds are the slow part: after the kernel is known.
	schedFiles, err := set.schedulerFiles()
	if err != nil {
		return nil, err
	}
	if err := set.checkMapWrites(schedFiles); err != nil {
		return nil, err
	}
	if spec.judged() {
		rp, err := set.guestPlan(&spec.opts, k.Vmlinux, log)
		if err != nil {
			return nil, err
		}
		spec.data = map[string][]byte{guest.PlanPath: rp}
	}
	initrd, err := initramfsFor(spec, schedFiles, set.sched != nil && set.sched.Sched.IsKernelBuiltin())
	if err != nil {
		return nil, err
	}
	p := &vmPlan{spec: spec, set: set, kernel: k, backend: backend}
	p.config = vmm.Config{
		Kernel:      k.Image,
		Initramfs:   initrd,
		Cmdline:     p.cmdline(),
		Topology:    set.topology,
		MemoryMB:    set.memoryMB,
		Timeout:     ro.fitTimeout(p.timeout()),
		Console:     ro.Console,
		Interactive: spec.interact,
		Stdin:       spec.stdin,
		Log:         log,
	}
	return p, nil
}

// cmdline is the guest's part of the kernel command line: the settled
// values as boot parameters, so host-side overrides reach the guest's
// checks, and a quiet console for an interactive shell.
func (p *vmPlan) cmdline() string {
	bp := p.spec.params
	bp.Topology = p.set.topology
	bp.Duration = p.set.duration
	bp.Flags = p.set.flags
	bp.Watchdog = p.set.watchdog
	line := bp.Cmdline()
	if p.spec.interact {
		line += " quiet"
	} else {
		line += " loglevel=4"
	}
	// The test's own arguments come last, so they win where the kernel
	// takes the last of a repeated parameter.
	if len(p.spec.opts.KernelArgs) > 0 {
		line += " " + strings.Join(p.spec.opts.KernelArgs, " ")
	}
	return line
}

// timeout bounds the VM on the host: the test's, else boot under
// emulation, BPF verification for a scheduler (seconds under TCG) and
// three times the scenario. An interactive shell has none.
func (p *vmPlan) timeout() time.Duration {
	switch {
	case p.spec.opts.Timeout > 0:
		return p.spec.opts.Timeout
	case p.spec.interact:
		return 0
	}
	d := 60*time.Second + time.Duration(p.set.topology.CPUs())*2*time.Second
	if p.spec.opts.Scheduler != nil {
		d += 60 * time.Second
	}
	return d + 3*p.set.duration
}
