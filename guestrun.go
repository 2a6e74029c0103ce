package ktstr

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

// guestSession is the work process's link to the host, set while it runs.
var guestSession struct {
	sync.Mutex
	w         *guest.Writer
	finalSent bool
}

// CgroupRoot is the cgroup2 directory a guest test owns.
const CgroupRoot = "/sys/fs/cgroup/ktstr"

// runGuest is the guest's work process: open the channel, do what the
// kernel command line says, send the final record. m is nil when the
// binary is not a test binary (then only registered tests can run).
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

	mode := guest.CmdlineValue("ktstr.mode")
	name := guest.CmdlineValue("ktstr.test")
	_ = w.Send(guest.KindStart, guest.Start{Test: name, Kernel: unameRelease(), CPUs: onlineCPUs(), Cmdline: guest.Cmdline()})
	switch mode {
	case "test":
		t, ok := Lookup(name)
		if !ok {
			sendFinal(verdict.Fail, 1, fmt.Sprintf("test %q is not registered in this binary", name))
			return 1
		}
		runBody(&t.Opts, t.Body)
	case "gotest":
		if m == nil {
			sendFinal(verdict.Fail, 1, "gotest mode needs a test binary")
			return 1
		}
		os.Args = []string{os.Args[0], "-test.run=" + runPattern(name), "-test.v=true", "-test.count=1"}
		code := m.Run()
		if !finalSent() {
			sendFinal(verdict.Fail, code, fmt.Sprintf("%s did not reach ktstr.Run in the guest (go test exit status %d)", name, code))
		}
	case "exec":
		cmd, err := guest.DecodeExec(guest.CmdlineValue("ktstr.exec"))
		if err == nil {
			err = guest.InstallBusybox()
		}
		if err != nil {
			sendFinal(verdict.Fail, 1, err.Error())
			return 1
		}
		code, err := guest.RunExec(w, cmd)
		if err != nil {
			sendFinal(verdict.Fail, code, err.Error())
			return 1
		}
		sendFinal(verdict.Pass, code)
	case "shell":
		if err := guest.InstallBusybox(); err != nil {
			sendFinal(verdict.Fail, 1, err.Error())
			return 1
		}
		code, err := guest.RunShell(guest.CmdlineInt("ktstr.rows"), guest.CmdlineInt("ktstr.cols"))
		if err != nil {
			sendFinal(verdict.Fail, code, err.Error())
			return 1
		}
		sendFinal(verdict.Pass, code)
	default:
		sendFinal(verdict.Fail, 1, fmt.Sprintf("unknown ktstr.mode %q on the kernel command line", mode))
		return 1
	}
	return 0
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

// runBody runs a test body inside the guest and sends the final record:
// set up the test's cgroup, attach the scheduler, run the body, collect
// every check, confirm the scheduler survived, tear everything down.
func runBody(opts *Opts, body func(*scenario.Ctx) error) {
	reasons, v := runBodyChecked(opts, body)
	code := 0
	if v != verdict.Pass && v != verdict.Skip {
		code = 1
	}
	sendFinal(v, code, reasons...)
}

func runBodyChecked(opts *Opts, body func(*scenario.Ctx) error) (reasons []string, v verdict.Verdict) {
	log := zap.NewNop()
	dur, err := time.ParseDuration(guest.CmdlineValue("ktstr.duration"))
	if err != nil || dur <= 0 {
		dur = DefaultDuration
	}
	if err := os.MkdirAll(CgroupRoot, 0o755); err != nil {
		return []string{fmt.Sprintf("creating %s: %v", CgroupRoot, err)}, verdict.Fail
	}
	defer os.Remove(CgroupRoot)
	if err := os.WriteFile(CgroupRoot+"/cgroup.subtree_control", []byte("+cpu +cpuset"), 0); err != nil {
		return []string{fmt.Sprintf("enabling controllers in %s: %v", CgroupRoot, err)}, verdict.Fail
	}
	topo := opts.EffectiveTopology()
	if t, err := topology.Parse(guest.CmdlineValue("ktstr.topology")); err == nil {
		topo = t
	}
	cfg := scenario.CtxConfig{
		Topology:   topo,
		Duration:   dur,
		CgroupRoot: CgroupRoot,
		Emit:       emit,
		Log:        log,
	}
	var sched *guest.SchedHandle
	probes := &guestProbes{}
	probes.start(opts, log)
	defer probes.stop(log)
	if s := opts.Scheduler; s != nil {
		flags := opts.Flags
		if f := guest.CmdlineValue("ktstr.flags"); f != "" {
			flags = strings.Split(f, ",")
		}
		argv, err := s.Argv(flags)
		if err != nil {
			return []string{fmt.Sprintf("scheduler %s: %v", s.Name, err)}, verdict.Fail
		}
		sched, err = guest.StartScheduler(context.Background(), guest.SchedSpec{
			Name: s.Name, Argv: argv, Watchdog: opts.EffectiveWatchdog(), AttachTimeout: s.AttachTimeout, Emit: probes.schedEmit, Log: log,
		})
		if err != nil {
			return []string{fmt.Sprintf("scheduler %s did not attach: %v", s.Name, err)}, verdict.Fail
		}
		cfg.Scheduler = sched
	}
	probes.callbacks()
	ctx, err := scenario.NewCtx(cfg)
	if err != nil {
		if sched != nil {
			_ = sched.Stop()
		}
		return []string{fmt.Sprintf("setting up the scenario: %v", err)}, verdict.Fail
	}
	bodyErr := body(ctx)
	probes.stop(log)
	res, reasons := judgeBody(ctx, bodyErr)
	if sched != nil {
		// A scheduler that died fails the test even if the workers
		// looked fine.
		if err := sched.Alive(); err != nil {
			reasons = append(reasons, err.Error())
			res.Verdict = res.Verdict.Merge(verdict.Fail)
		}
		if err := sched.Stop(); err != nil {
			reasons = append(reasons, fmt.Sprintf("detaching %s: %v", sched.Name(), err))
			res.Verdict = res.Verdict.Merge(verdict.Fail)
		}
	}
	return reasons, res.Verdict
}

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

// Emit sends a record to the host from inside a test body (e.g. custom
// output). Outside a guest it does nothing.
func Emit(kind string, payload any) { emit(kind, payload) }
