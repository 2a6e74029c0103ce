package ktstr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/probe"
	"github.com/ktstr-go/ktstr/timeline"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
	"github.com/ktstr-go/ktstr/vmm"
)

// RunOptions are host-side choices that do not change what a test is.
type RunOptions struct {
	// Kernel overrides the test's kernel and KTSTR_KERNEL.
	Kernel string
	// Backend is "auto" (default: in-repo KVM VMM when /dev/kvm is
	// usable, else QEMU), "kvm", "qemu" or "qemu-tcg".
	Backend string
	// Console receives the guest console as it arrives (nil: kept only
	// for error reports).
	Console io.Writer
	// OnRecord is called for every record the guest sends, as it arrives.
	OnRecord func(guest.Record)
	// OnMachine is called once the VM is running, e.g. to read guest
	// memory with Machine.Memory while the test runs.
	OnMachine func(vmm.Machine)
	// Duration, if set, overrides the test's scenario duration.
	Duration time.Duration
	// NoMonitor turns the host monitor off, with its snapshots (to
	// measure what it costs).
	NoMonitor bool
	Log       *zap.Logger
}

// Result is the host's verdict on one VM run.
type Result struct {
	Test    string
	Verdict verdict.Verdict
	// Reasons explain every failure (all of them, not just the first).
	Reasons []string
	Exit    vmm.Exit
	Records []guest.Record
	Backend string
	Kernel  string
	// ExitCode is the exit status of a shell --exec command.
	ExitCode int
	// Monitor is what the host-side monitor read from the guest's
	// runqueues; nil when the kernel has no vmlinux to read them by.
	// Its Snapshots are the scheduler state read at chosen moments.
	Monitor *monitor.Report
	// Probes are the counts and hits of Opts.Probes (nil without).
	Probes *probe.Results
	// Timeline merges the scenario's steps, the scheduler's events, the
	// monitor's samples and snapshots, probe hits and the failure.
	Timeline *timeline.Timeline
	// Repro is the automatic second run of a scheduler death or stall,
	// with probes on its path (nil when there was none).
	Repro *Repro
}

// Passed reports whether the run passed.
func (r *Result) Passed() bool { return r.Verdict == verdict.Pass }

// bootSpec is one VM run: which guest mode, which files, which shape.
type bootSpec struct {
	name     string            // test name or "shell"
	mode     string            // guest mode: test, gotest, exec, shell
	cmdline  map[string]string // ktstr.* keys for the guest
	opts     Opts
	files    map[string]string // extra initramfs files: guest path → host path
	shell    bool              // include busybox
	stdin    io.Reader
	interact bool
	// schedFiles are prebuilt scheduler files (KTSTR_SCHED_FILES) used
	// instead of building Scheduler.Files().
	schedFiles []string
}

// boot runs one VM to completion and turns what it reported into a Result.
// The returned error means the harness could not run the VM at all.
func boot(ctx context.Context, spec bootSpec, ro RunOptions) (*Result, error) {
	log := ro.Log
	if log == nil {
		log = zap.NewNop()
	}
	prebuilt, err := applyEnv(&spec.opts)
	if err != nil {
		return nil, err
	}
	spec.schedFiles = prebuilt
	k, err := resolveKernel(ctx, firstNonEmpty(ro.Kernel, spec.opts.Kernel), log)
	if err != nil {
		return nil, err
	}
	topo := spec.opts.EffectiveTopology()
	if err := topo.Validate(); err != nil {
		return nil, err
	}
	initrd, err := initramfsFor(spec)
	if err != nil {
		return nil, err
	}
	backend, err := selectBackend(ro.Backend, log)
	if err != nil {
		return nil, err
	}
	mem := spec.opts.MemoryMB
	if mem == 0 {
		mem = DefaultMemoryMB
	}
	dur := spec.opts.Duration
	if ro.Duration > 0 {
		dur = ro.Duration
	}
	if dur == 0 {
		dur = DefaultDuration
	}
	timeout := spec.opts.Timeout
	if timeout == 0 && !spec.interact {
		timeout = bootAllowance(spec, topo) + 3*dur
	}
	// The guest gets the shape and duration the host settled on, so
	// host-side overrides (ktstr run --topology) reach the checks.
	keys := map[string]string{"ktstr.mode": spec.mode, "ktstr.duration": dur.String(), "ktstr.topology": topo.String()}
	if len(spec.opts.Flags) > 0 {
		keys["ktstr.flags"] = strings.Join(spec.opts.Flags, ",")
	}
	for k, v := range spec.cmdline {
		keys[k] = v
	}
	cmdline := cmdlineString(keys)
	if spec.interact {
		cmdline += " quiet"
	} else {
		cmdline += " loglevel=4"
	}
	cfg := vmm.Config{
		Kernel:      k.Image,
		Initramfs:   initrd,
		Cmdline:     cmdline,
		Topology:    topo,
		MemoryMB:    mem,
		Timeout:     timeout,
		Console:     ro.Console,
		Interactive: spec.interact,
		Stdin:       spec.stdin,
		Log:         log,
	}
	log.Info("booting VM", zap.String("test", spec.name), zap.String("backend", backend.Name()),
		zap.String("topology", topo.String()), zap.String("kernel", k.Image), zap.Duration("timeout", timeout))
	m, err := backend.Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("booting VM for %s: %w", spec.name, err)
	}
	res := &Result{Test: spec.name, Backend: m.Backend(), Kernel: k.Image}
	if ro.OnMachine != nil {
		ro.OnMachine(m)
	}
	stopMonitor := func() *monitor.Report { return nil }
	jit := &jitSymbols{}
	intro := newIntrospection()
	if !spec.interact && !ro.NoMonitor {
		// The monitor covers the run up to the guest's final record:
		// after it the guest powers off, and a CPU stopped for shutdown
		// is not a stall.
		stopMonitor = sync.OnceValue(startMonitor(ctx, m, k.Vmlinux, topo.CPUs(), jit, intro, log))
	}
	var wg sync.WaitGroup
	var final *guest.Final
	var chanErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		rd := guest.NewReader(m.Channel())
		for {
			rec, err := rd.Next()
			if errors.Is(err, guest.ErrCorrupt) {
				chanErr = err
				continue
			}
			if err != nil {
				return
			}
			res.Records = append(res.Records, rec)
			jit.add(rec)
			intro.record(rec)
			if ro.OnRecord != nil {
				ro.OnRecord(rec)
			}
			if rec.Kind == guest.KindFinal {
				stopMonitor()
				var f guest.Final
				if rec.Decode(&f) == nil {
					final = &f
				}
			}
		}
	}()
	res.Exit = m.Wait()
	res.Monitor = stopMonitor()
	wg.Wait()
	judge(res, final, chanErr)
	if w := WhereVCPUs(res.Exit.VCPUs, k.Vmlinux); w != "" {
		res.Reasons = append(res.Reasons, "where the vCPUs were when the VM was killed: "+w)
	}
	if spec.mode == "test" || spec.mode == "gotest" {
		judgeMonitor(res, monitorThresholds(&spec.opts))
	}
	intro.finish(res)
	res.Repro = autoRepro(ctx, spec, ro, res, log)
	if res.Monitor != nil {
		log.Debug("host monitor", zap.String("test", spec.name), zap.Stringer("summary", res.Monitor.Summarize()), zap.String("error", res.Monitor.Err))
	}
	log.Info("VM done", zap.String("test", spec.name), zap.Stringer("verdict", res.Verdict),
		zap.String("exit", res.Exit.Reason.String()), zap.Duration("took", res.Exit.Duration))
	return res, nil
}

// WhereVCPUs names the kernel functions a killed VM's vCPUs sat in
// (vmm.Exit.VCPUs), with the return addresses found on each one's stack,
// by the kernel's vmlinux: "vCPU 0 in pv_native_safe_halt+0x17 (on its
// stack: default_idle+0x9 ...)". It returns "" when the backend could not
// tell or the vmlinux cannot name them.
func WhereVCPUs(vcpus []vmm.VCPUState, vmlinux string) string {
	if len(vcpus) == 0 || vmlinux == "" {
		return ""
	}
	sym, err := kernel.NewSymbolizer(vmlinux)
	if err != nil {
		return ""
	}
	parts := make([]string, len(vcpus))
	for i, v := range vcpus {
		parts[i] = fmt.Sprintf("vCPU %d in %s", i, sym.Where(v.RIP, v.Stack))
	}
	return strings.Join(parts, "; ")
}

// judge merges the guest's own verdict with how the VM ended. The host
// never takes a missing final record as a pass.
func judge(res *Result, final *guest.Final, chanErr error) {
	if why := exitFailure(res.Exit, res.Monitor); len(why) > 0 {
		res.Verdict = verdict.Fail
		res.Reasons = append(res.Reasons, why...)
	} else if final == nil {
		res.Verdict = verdict.Fail
		res.Reasons = append(res.Reasons, "guest powered off without a final record (the test process died or never started)")
	} else {
		res.Verdict = final.Verdict
	}
	if final != nil {
		res.ExitCode = final.ExitCode
		res.Reasons = append(res.Reasons, final.Reasons...)
	}
	if chanErr != nil && res.Verdict == verdict.Pass {
		res.Verdict = verdict.Inconclusive
		res.Reasons = append(res.Reasons, fmt.Sprintf("host channel: %v", chanErr))
	}
}

// exitFailure says why a VM's end fails the run whatever the guest
// reported; nothing for a clean power-off.
func exitFailure(ex vmm.Exit, m *monitor.Report) []string {
	switch ex.Reason {
	case vmm.ExitPanic:
		return []string{"guest kernel panicked: " + ex.Detail}
	case vmm.ExitTimeout:
		why := []string{"timeout: " + ex.Detail}
		if m != nil && m.Shutdown != "" {
			// A halt stops every CPU but leaves the VM up: without this
			// the timeout would be a mystery.
			why = append(why, fmt.Sprintf("the guest kernel entered %s %v after the VM started, stopped its CPUs and left the VM up",
				m.Shutdown, m.ShutdownAt.Round(time.Millisecond)))
		}
		return why
	case vmm.ExitCrash:
		return []string{"VMM crashed: " + ex.Detail}
	case vmm.ExitReboot:
		return []string{"guest rebooted instead of powering off: " + ex.Detail}
	case vmm.ExitKilled:
		return []string{"VM killed before the test finished (interrupted)"}
	}
	return nil
}

// bootAllowance is the host timeout beyond the scenario: boot under
// emulation and, with a scheduler, BPF verification (seconds under TCG).
func bootAllowance(spec bootSpec, topo topology.Topology) time.Duration {
	d := 60*time.Second + time.Duration(topo.CPUs())*2*time.Second
	if spec.opts.Scheduler != nil {
		d += 60 * time.Second
	}
	return d
}

// DefaultTopology is used when neither the test nor its scheduler names one.
var DefaultTopology = topology.Topology{NUMANodes: 1, LLCs: 1, CoresPerLLC: 2, ThreadsPerCore: 1}

func cmdlineString(keys map[string]string) string {
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + keys[k])
	}
	return b.String()
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// initramfsCacheDir keeps built archives, named by content hash.
func initramfsCacheDir() string {
	if d := os.Getenv("KTSTR_INITRAMFS_CACHE"); d != "" {
		return d
	}
	return cachedir.Dir("initramfs")
}
