package ktstr

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/verdict"
)

// guestCgroup is the cgroup2 directory a test owns in the guest.
const guestCgroup = "/sys/fs/cgroup/ktstr"

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

func guestBody(opts *Opts, body func(*scenario.Ctx) error) (verdict.Verdict, []string) {
	p, err := guestParams()
	if err != nil {
		return verdict.Fail, []string{err.Error()}
	}
	log := zap.NewNop()
	probes := newBodyProbes(opts.Probes, p.Probes, emit)
	b := &bodyRun{body: body, topology: p.Topology, duration: p.Duration, cgroup: guestCgroup, emit: emit, probes: probes, log: log}
	if s := opts.Scheduler; s != nil {
		b.startSched = func() (schedUnderTest, error) {
			argv, err := s.Argv(p.Flags)
			if err != nil {
				return nil, fmt.Errorf("scheduler %s: %w", s.Name, err)
			}
			h, err := guest.StartScheduler(context.Background(), guest.SchedSpec{
				Name: s.Name, Argv: argv, Watchdog: p.Watchdog, AttachTimeout: s.AttachTimeout, Emit: probes.schedEmit(emit), Log: log,
			})
			if err != nil {
				return nil, fmt.Errorf("scheduler %s did not attach: %w", s.Name, err)
			}
			return h, nil
		}
	}
	v, reasons, err := b.run()
	if err != nil {
		return verdict.Fail, append(reasons, err.Error())
	}
	return v, reasons
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
