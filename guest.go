package ktstr

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/verdict"
)

// guestSession is the work process's link to the host, set while it runs.
var guestSession struct {
	sync.Mutex
	w         *guest.Writer
	finalSent bool
}

// guestParams are this guest's boot parameters, read once.
var guestParams = sync.OnceValues(guest.ReadBootParams)

// runGuest is the guest's work process: open the channel, do what the
// boot parameters say, send the final record. m is nil when the binary
// is not a test binary (then only registered tests can run).
func runGuest(m *testing.M) int {
	// One P: the harness sits beside the workers it measures, and with a
	// P per guest CPU the Go runtime spins idle threads and contends for
	// its locks whenever the workers keep every CPU busy (measured on a
	// four-CPU guest: over a third of the harness's CPU time during a
	// hold went to runtime.procyield). Workers set their own GOMAXPROCS.
	runtime.GOMAXPROCS(1)
	w, f, err := guest.OpenChannel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktstr-guest: %v\n", err)
		return 1
	}
	defer f.Close()
	guestSession.Lock()
	guestSession.w = w
	guestSession.Unlock()

	p, err := guestParams()
	_ = w.Send(guest.KindStart, guest.Start{Test: p.Test, Kernel: unameRelease(), CPUs: onlineCPUs(), Cmdline: guest.Cmdline(), Mono: guest.Monotonic()})
	if err != nil {
		sendFinal(verdict.Fail, 1, err.Error())
		return 1
	}
	switch p.Mode {
	case guest.ModeTest:
		t, ok := Lookup(p.Test)
		if !ok {
			sendFinal(verdict.Fail, 1, fmt.Sprintf("test %q is not registered in this binary", p.Test))
			return 1
		}
		runGuestBody(&t.Opts, t.Body)
	case guest.ModeGoTest:
		if m == nil {
			sendFinal(verdict.Fail, 1, "gotest mode needs a test binary")
			return 1
		}
		os.Args = []string{os.Args[0], "-test.run=" + runPattern(p.Test), "-test.v=true", "-test.count=1"}
		code := m.Run()
		if !finalSent() {
			sendFinal(verdict.Fail, code, fmt.Sprintf("%s did not reach ktstr.Run in the guest (go test exit status %d)", p.Test, code))
		}
	case guest.ModeExec:
		return runGuestExec(w, p.Exec)
	case guest.ModeShell:
		return runGuestShell(p.Rows, p.Cols)
	default:
		sendFinal(verdict.Fail, 1, fmt.Sprintf("unknown mode %q on the kernel command line", p.Mode))
		return 1
	}
	return 0
}

// runGuestExec runs one shell command and reports its exit code.
func runGuestExec(w *guest.Writer, cmd string) int {
	if err := guest.InstallBusybox(); err != nil {
		sendFinal(verdict.Fail, 1, err.Error())
		return 1
	}
	code, err := guest.RunExec(w, cmd)
	if err != nil {
		sendFinal(verdict.Fail, code, err.Error())
		return 1
	}
	sendFinal(verdict.Pass, code)
	return 0
}

// runGuestShell runs an interactive shell on the console.
func runGuestShell(rows, cols int) int {
	if err := guest.InstallBusybox(); err != nil {
		sendFinal(verdict.Fail, 1, err.Error())
		return 1
	}
	code, err := guest.RunShell(rows, cols)
	if err != nil {
		sendFinal(verdict.Fail, code, err.Error())
		return 1
	}
	sendFinal(verdict.Pass, code)
	return 0
}

// runGuestBody runs a test body in the guest with the values the host
// settled, and sends the final record.
func runGuestBody(opts *Opts, body func(*scenario.Ctx) error) {
	v, reasons := guestBody(opts, body)
	code := 0
	if v != verdict.Pass && v != verdict.Skip {
		code = 1
	}
	sendFinal(v, code, reasons...)
}

// guestBody runs the body as the host's plan says: sysctls first, then
// the test's cgroup, the probes on kernel functions, the scheduler (with
// its map writes at attach), the probes on its callbacks, the body. The
// plan, not opts, names the scheduler and the probes: the host may have
// replaced the test's scheduler, and an auto-repro adds probes.
func guestBody(_ *Opts, body func(*scenario.Ctx) error) (verdict.Verdict, []string) {
	p, err := guestParams()
	if err != nil {
		return verdict.Fail, []string{err.Error()}
	}
	plan, err := guest.ReadPlan()
	if err != nil {
		return verdict.Fail, []string{err.Error()}
	}
	if err := applySysctls(plan.Sysctls, emit); err != nil {
		return verdict.Fail, []string{err.Error()}
	}
	log := zap.NewNop()
	probes := newBodyProbes(nil, plan.Probes, plan.ProbeTable, emit, log)
	b := &bodyRun{body: body, topology: p.Topology, duration: p.Duration, cgroup: plan.Cgroup, emit: emit, probes: probes, log: log}
	if sp := plan.Scheduler; sp != nil {
		b.startSched = func() (schedUnderTest, error) { return startGuestScheduler(sp, p.Watchdog, plan, probes, log) }
	}
	v, reasons, err := b.run()
	if err != nil {
		return verdict.Fail, append(reasons, err.Error())
	}
	return v, reasons
}

// startGuestScheduler launches the plan's scheduler: a kernel-builtin
// one by its commands, a sched_ext one by its command line (under the
// watchdog supervisor when the run overrides the watchdog), with the map
// writes made at every attach. Its records pass through the probes, which
// send the calls that led up to a death.
func startGuestScheduler(sp *guest.SchedPlan, wd time.Duration, plan *guest.Plan, probes *bodyProbes, log *zap.Logger) (schedUnderTest, error) {
	if sp.Builtin() {
		h, err := guest.StartBuiltin(sp.Name, sp.Enable, sp.Disable)
		if err != nil {
			return nil, err
		}
		emit(guest.KindSched, guest.SchedEvent{Event: "attached", Name: sp.Name})
		return h, nil
	}
	spec := guest.SchedSpec{
		Name: sp.Name, Argv: sp.Argv, Watchdog: wd, AttachTimeout: sp.AttachTimeout, OpsLayout: plan.OpsLayout, Emit: probes.schedEmit(emit), Log: log,
	}
	if writes := plan.MapWrites; len(writes) > 0 {
		spec.OnAttach = func() error { return applyMapWrites(writes, emit) }
	}
	h, err := guest.StartScheduler(context.Background(), spec)
	if err != nil {
		return nil, fmt.Errorf("scheduler %s did not attach: %w", schedLabel(sp), err)
	}
	return h, nil
}

func schedLabel(sp *guest.SchedPlan) string {
	if sp.Name != "" {
		return sp.Name
	}
	if len(sp.Argv) > 0 {
		return sp.Argv[0]
	}
	return "(unnamed)"
}

// runPattern turns a test name like "TestA/sub" into a -test.run pattern
// that matches exactly that test.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

func finalSent() bool {
	guestSession.Lock()
	defer guestSession.Unlock()
	return guestSession.finalSent
}

func sendFinal(v verdict.Verdict, code int, reasons ...string) {
	guestSession.Lock()
	defer guestSession.Unlock()
	if guestSession.finalSent || guestSession.w == nil {
		return
	}
	guestSession.finalSent = true
	_ = guestSession.w.Send(guest.KindFinal, guest.Final{Verdict: v, Reasons: reasons, ExitCode: code})
}

func emit(kind string, payload any) {
	guestSession.Lock()
	w := guestSession.w
	guestSession.Unlock()
	if w != nil {
		_ = w.Send(kind, payload)
	}
}

// Emit sends a record to the host from inside a test body (e.g. custom
// output). Outside a guest it does nothing.
func Emit(kind string, payload any) { emit(kind, payload) }

func unameRelease() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

func onlineCPUs() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return 0
	}
	n := 0
	for _, r := range strings.Split(strings.TrimSpace(string(b)), ",") {
		var lo, hi int
		if c, _ := fmt.Sscanf(r, "%d-%d", &lo, &hi); c == 2 {
			n += hi - lo + 1
		} else {
			n++
		}
	}
	return n
}
