package tests

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
	"github.com/ktstr-go/ktstr/vmm"
	"golang.org/x/sys/unix"
)

// These tests check that the host judges broken guests correctly: a run
// that does not end with the guest's own pass is never a pass.

func TestGuestPanicIsFail(t *testing.T) {
	res := ktstr.RunResult(t, ktstr.Opts{Topology: topology.Must("1n1l2c1t")}, func(*scenario.Ctx) error {
		// sysrq c crashes the kernel; the pvpanic device reports it.
		return os.WriteFile("/proc/sysrq-trigger", []byte("c"), 0)
	})
	if res == nil {
		return // in the guest
	}
	if res.Verdict != verdict.Fail || res.Exit.Reason != vmm.ExitPanic {
		t.Fatalf("verdict %s, exit %s (%s); want fail with a panic exit", res.Verdict, res.Exit.Reason, res.Exit.Detail)
	}
	if !strings.Contains(strings.Join(res.Reasons, " "), "panicked") {
		t.Errorf("reasons %q do not mention the panic", res.Reasons)
	}
}

var idleRE = regexp.MustCompile(`vCPU 0 in \w*(idle|halt)\w*\+0x[0-9a-f]+`)

// idleStackRE is the idle loop's caller on the vCPU's stack.
var idleStackRE = regexp.MustCompile(`on its stack: .*\bdo_idle\+0x`)

func TestGuestHangIsTimeout(t *testing.T) {
	const watchdog = 15 * time.Second
	start := time.Now()
	res := ktstr.RunResult(t, ktstr.Opts{Topology: topology.Must("1n1l1c1t"), Timeout: watchdog}, func(*scenario.Ctx) error {
		// Never returns and never powers off. (A bare select{} would not
		// do: Go's deadlock detector would kill the process.)
		time.Sleep(24 * time.Hour)
		return nil
	})
	if res == nil {
		return
	}
	took := time.Since(start)
	if res.Verdict != verdict.Fail || res.Exit.Reason != vmm.ExitTimeout {
		t.Fatalf("verdict %s, exit %s; want fail with a timeout exit", res.Verdict, res.Exit.Reason)
	}
	if took > watchdog+20*time.Second {
		t.Errorf("timeout verdict after %s, watchdog was %s", took, watchdog)
	}
	// The backend says where the vCPU was, and the harness names the
	// kernel function: the guest's only task sleeps, so its one vCPU
	// sits in the idle loop.
	if len(res.Exit.VCPUs) != 1 {
		t.Errorf("exit vCPUs %+v, want the one vCPU's", res.Exit.VCPUs)
	}
	reasons := strings.Join(res.Reasons, "; ")
	t.Logf("reasons: %s", reasons)
	if !idleRE.MatchString(reasons) {
		t.Errorf("reasons %q do not place vCPU 0 in an idle or halt function", reasons)
	}
	if !idleStackRE.MatchString(reasons) {
		t.Errorf("reasons %q do not show do_idle on vCPU 0's stack", reasons)
	}
	assertNoQEMULeft(t)
}

// A guest that halts (reboot(2) with LINUX_REBOOT_CMD_HALT) stops its CPUs
// but never ends the VM: the host monitor reads the kernel's system_state
// and stops sampling there, so the run is a timeout that says the kernel
// halted, and CPUs stopped for the halt are not reported as stalls.
func TestGuestHaltIsNamed(t *testing.T) {
	res := ktstr.RunResult(t, ktstr.Opts{Topology: topology.Must("1n1l2c1t"), Timeout: 20 * time.Second}, func(*scenario.Ctx) error {
		return unix.Reboot(unix.LINUX_REBOOT_CMD_HALT)
	})
	if res == nil {
		return
	}
	reasons := strings.Join(res.Reasons, "; ")
	t.Logf("reasons: %s", reasons)
	if res.Verdict != verdict.Fail || res.Exit.Reason != vmm.ExitTimeout {
		t.Fatalf("verdict %s, exit %s; want fail with a timeout exit", res.Verdict, res.Exit.Reason)
	}
	m := res.Monitor
	if m == nil || m.Shutdown != "SYSTEM_HALT" || len(m.Samples) == 0 || m.ShutdownAt >= res.Exit.Duration {
		t.Fatalf("monitor report %v: want samples, then SYSTEM_HALT seen before the watchdog ended the VM", m.Summarize())
	}
	if !strings.Contains(reasons, "entered SYSTEM_HALT") {
		t.Errorf("reasons %q do not say the kernel halted", reasons)
	}
	if strings.Contains(reasons, "stalled") {
		t.Errorf("reasons %q report CPUs stopped by the halt as stalls", reasons)
	}
}

func TestGuestBodyErrorIsFail(t *testing.T) {
	res := ktstr.RunResult(t, ktstr.Opts{Topology: topology.Must("1n1l1c1t")}, func(*scenario.Ctx) error {
		return errFromGuest
	})
	if res == nil {
		return
	}
	if res.Verdict != verdict.Fail || !strings.Contains(strings.Join(res.Reasons, " "), errFromGuest.Error()) {
		t.Fatalf("verdict %s reasons %q; want fail carrying the body's error", res.Verdict, res.Reasons)
	}
}

func TestGuestExitWithoutFinalIsFail(t *testing.T) {
	res := ktstr.RunResult(t, ktstr.Opts{Topology: topology.Must("1n1l1c1t")}, func(*scenario.Ctx) error {
		os.Exit(0) // the work process vanishes before reporting
		return nil
	})
	if res == nil {
		return
	}
	if res.Verdict != verdict.Fail || res.Exit.Reason != vmm.ExitClean {
		t.Fatalf("verdict %s exit %s; want fail after a clean power-off without a final record", res.Verdict, res.Exit.Reason)
	}
	if !strings.Contains(strings.Join(res.Reasons, " "), "without a final record") {
		t.Errorf("reasons %q", res.Reasons)
	}
}

type guestError string

func (e guestError) Error() string { return string(e) }

const errFromGuest = guestError("deliberate failure from the guest body")

// assertNoQEMULeft fails if a qemu process started by this test binary is
// still alive.
func assertNoQEMULeft(t *testing.T) {
	t.Helper()
	procs, _ := os.ReadDir("/proc")
	me := os.Getpid()
	for _, p := range procs {
		stat, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat))
		if len(fields) > 3 && strings.Contains(fields[1], "qemu") && fields[3] == strconv.Itoa(me) {
			t.Errorf("qemu process %s (child of this test) still running", p.Name())
		}
	}
}
