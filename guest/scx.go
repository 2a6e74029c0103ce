package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ktstr-go/ktstr/internal/tailbuf"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// sched_ext's sysfs interface (Linux 6.12).
const (
	SchedExtDir   = "/sys/kernel/sched_ext"
	SchedExtState = SchedExtDir + "/state"
	SchedExtOps   = SchedExtDir + "/root/ops"
)

// WatchdogEnv carries SchedSpec.Watchdog (in milliseconds) to the
// scheduler process; the in-repo loader scxload honours it.
const WatchdogEnv = "KTSTR_SCX_WATCHDOG_MS"

// Defaults for SchedSpec. Loading under emulation (BPF verification) takes
// seconds per scheduler, so the attach wait is generous.
const (
	DefaultAttachTimeout = 60 * time.Second
	detachTimeout        = 10 * time.Second
	pollInterval         = 20 * time.Millisecond
	watchInterval        = 100 * time.Millisecond
	outputLimit          = 16 << 10 // bytes of scheduler output kept for errors
	outputLines          = 400
)

// SchedSpec says which scheduler to launch in the guest.
type SchedSpec struct {
	// Name is the sched_ext ops name the scheduler registers.
	Name string
	// Argv is the command line (guest paths, e.g. /sched/scxload ...).
	Argv []string
	// AttachTimeout bounds the wait for attach (0: DefaultAttachTimeout).
	AttachTimeout time.Duration
	// Watchdog is the sched_ext watchdog timeout (0: the scheduler's
	// own). It is passed as $KTSTR_SCX_WATCHDOG_MS; schedulers that do not
	// read it keep theirs (the kernel's default is 30 s).
	Watchdog time.Duration
	// Emit, if set, receives scheduler events (KindSched, KindKmsg).
	Emit func(kind string, payload any)
	Log  *zap.Logger
}

// SchedEvent is the payload of KindSched records.
type SchedEvent struct {
	Event string `json:"event"` // attached, died, detached
	Name  string `json:"name"`
	// Took is how long the attach or detach took.
	Took time.Duration `json:"took,omitempty"`
	Exit *SchedExit    `json:"exit,omitempty"`
	// BPF, on "attached", lists the JIT-compiled BPF functions loaded
	// then, the scheduler's among them (BPFSymbols).
	BPF []BPFSymbol `json:"bpf,omitempty"`
}

// SchedExit describes why a scheduler stopped scheduling on its own: it
// exited, or sched_ext threw it out (error, stall, watchdog).
type SchedExit struct {
	Name string `json:"name"`
	// Reason is sched_ext's exit reason from the kernel log ("runnable
	// task stall", "scx_bpf_error", ...) or the process's fate.
	Reason string `json:"reason"`
	// Message is the kernel's detail line (e.g. the scx_bpf_error text).
	Message string `json:"message,omitempty"`
	// Process is how the scheduler process ended ("" if still running).
	Process string `json:"process,omitempty"`
	// Output is the tail of the scheduler's stdout/stderr.
	Output string `json:"output,omitempty"`
	// Dmesg is the kernel log excerpt since the scheduler was launched.
	Dmesg string `json:"dmesg,omitempty"`
	// After is how long after attach it happened.
	After time.Duration `json:"after"`
}

// Error makes a SchedExit usable as the error Alive returns.
func (e *SchedExit) Error() string {
	s := fmt.Sprintf("scheduler %s died after %v: %s", e.Name, e.After.Round(time.Millisecond), e.Reason)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Process != "" {
		s += " (process " + e.Process + ")"
	}
	return s
}

// SchedHandle is a launched scheduler. Its Name, Attach, Detach and
// Alive methods satisfy scenario.SchedulerControl.
type SchedHandle struct {
	spec SchedSpec
	log  *zap.Logger
	kmsg *kmsgReader

	mu         sync.Mutex
	cmd        *exec.Cmd
	out        *tailbuf.Buffer
	done       chan struct{} // closed when the current process is reaped
	waitStatus string
	attached   bool
	attachedAt time.Time
	exit       *SchedExit
	stopWatch  chan struct{}
	watchDone  chan struct{}
}

// StartScheduler launches the scheduler and waits until sched_ext reports
// it attached (state "enabled" and root/ops equal to spec.Name). It fails
// with an actionable error when sched_ext is missing, another scheduler is
// attached, the process exits first, a different ops name attaches, or the
// wait times out. After attach a watcher notices death or eviction.
func StartScheduler(ctx context.Context, spec SchedSpec) (*SchedHandle, error) {
	if spec.Log == nil {
		spec.Log = zap.NewNop()
	}
	if spec.AttachTimeout <= 0 {
		spec.AttachTimeout = DefaultAttachTimeout
	}
	if spec.Name == "" || len(spec.Argv) == 0 {
		return nil, errors.New("StartScheduler: SchedSpec needs Name and Argv")
	}
	h := &SchedHandle{spec: spec, log: spec.Log.With(zap.String("scheduler", spec.Name))}
	if err := h.attach(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// Name is the sched_ext ops name.
func (h *SchedHandle) Name() string { return h.spec.Name }

// Attach launches the scheduler again after Detach; it is a no-op while
// attached.
func (h *SchedHandle) Attach() error {
	h.mu.Lock()
	att := h.attached
	h.mu.Unlock()
	if att {
		return nil
	}
	return h.attach(context.Background())
}

// Alive returns nil while the scheduler is attached and healthy, the
// *SchedExit if it died or was evicted, or an error if it was detached.
func (h *SchedHandle) Alive() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.exit != nil {
		return h.exit
	}
	if !h.attached {
		return fmt.Errorf("scheduler %s is detached", h.spec.Name)
	}
	return nil
}

// Exit reports why the scheduler died, or nil if it did not.
func (h *SchedHandle) Exit() *SchedExit {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.exit
}

// Detach stops the scheduler (SIGTERM, SIGKILL after 10 s) and confirms
// sched_ext returns to "disabled". Detaching a dead scheduler only reaps
// it; its death stays reported by Alive and Exit.
func (h *SchedHandle) Detach() error {
	h.mu.Lock()
	cmd, done, stop, wdone := h.cmd, h.done, h.stopWatch, h.watchDone
	h.stopWatch = nil
	h.mu.Unlock()
	if stop != nil {
		close(stop)
		<-wdone
	}
	if cmd == nil {
		return nil
	}
	t0 := time.Now()
	var err error
	select {
	case <-done:
	default:
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(detachTimeout):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			err = fmt.Errorf("scheduler %s ignored SIGTERM for %v and was killed", h.spec.Name, detachTimeout)
		}
	}
	if derr := waitState(func(st string) bool { return st == "disabled" || st == "" }, 5*time.Second); derr != nil && err == nil {
		err = fmt.Errorf("scheduler %s: process ended but %s: %w", h.spec.Name, SchedExtState, derr)
	}
	h.mu.Lock()
	died := h.exit != nil
	status := h.waitStatus
	h.attached = false
	h.cmd = nil
	h.mu.Unlock()
	if err == nil && !died && status != "exit status 0" {
		err = fmt.Errorf("scheduler %s did not exit cleanly on SIGTERM (%s); output:\n%s", h.spec.Name, status, h.out.String())
	}
	h.kmsg.close()
	h.emit(KindSched, SchedEvent{Event: "detached", Name: h.spec.Name, Took: time.Since(t0)})
	h.log.Info("scheduler detached", zap.Duration("took", time.Since(t0)), zap.String("process", status))
	return err
}

// Stop detaches the scheduler at the end of a test. It returns an error
// only if the detach itself went wrong; a death during the run is
// reported by Alive and Exit, not again here.
func (h *SchedHandle) Stop() error { return h.Detach() }

func (h *SchedHandle) emit(kind string, payload any) {
	if h.spec.Emit != nil {
		h.spec.Emit(kind, payload)
	}
}

func (h *SchedHandle) attach(ctx context.Context) error {
	name := h.spec.Name
	if _, err := os.Stat(SchedExtDir); err != nil {
		return fmt.Errorf("kernel lacks sched_ext support (no %s): build it with CONFIG_SCHED_CLASS_EXT=y", SchedExtDir)
	}
	if st := readTrim(SchedExtState); st == "enabled" {
		ops := readTrim(SchedExtOps)
		if ops == "" {
			ops = "unknown"
		}
		return fmt.Errorf("another sched_ext scheduler is already attached (state=enabled, ops=%s); detach it before launching %s", ops, name)
	}
	if _, err := os.Stat(h.spec.Argv[0]); err != nil {
		return fmt.Errorf("scheduler %s: binary %s is missing from the guest: the runner must pack Scheduler.Files() under /sched/ (%w)", name, h.spec.Argv[0], err)
	}
	h.kmsg = openKmsg()
	out := &tailbuf.Buffer{MaxLines: outputLines, MaxBytes: outputLimit}
	cmd := exec.Command(h.spec.Argv[0], h.spec.Argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = os.Environ()
	if h.spec.Watchdog > 0 {
		cmd.Env = append(cmd.Env, WatchdogEnv+"="+strconv.FormatInt(h.spec.Watchdog.Milliseconds(), 10))
	}
	// Own process group, so a kill takes its helpers too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		h.kmsg.close()
		return fmt.Errorf("launching scheduler %s (%s): %w", name, strings.Join(h.spec.Argv, " "), err)
	}
	done := make(chan struct{})
	h.mu.Lock()
	h.cmd, h.out, h.done, h.exit, h.waitStatus = cmd, out, done, nil, ""
	h.mu.Unlock()
	go func() {
		err := cmd.Wait()
		status := "exit status 0"
		if err != nil {
			status = describeExit(err)
		}
		h.mu.Lock()
		h.waitStatus = status
		h.mu.Unlock()
		close(done)
	}()
	h.log.Info("scheduler launched", zap.Strings("argv", h.spec.Argv))

	timer := time.NewTimer(h.spec.AttachTimeout)
	defer timer.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			h.mu.Lock()
			status := h.waitStatus
			h.cmd = nil
			h.mu.Unlock()
			dm := h.kmsg.excerpt()
			h.kmsg.close()
			return fmt.Errorf("scheduler %s exited before attaching (%s)%s%s", name, status,
				section("scheduler output", out.String()), section("kernel log", dm))
		case <-ctx.Done():
			h.kill()
			return fmt.Errorf("waiting for scheduler %s to attach: %w", name, ctx.Err())
		case <-timer.C:
			h.kill()
			dm := h.kmsg.excerpt()
			h.kmsg.close()
			return fmt.Errorf("scheduler %s launched but did not attach within %v (process was still alive; check the kernel log for BPF verifier or load errors)%s%s",
				name, h.spec.AttachTimeout, section("scheduler output", out.String()), section("kernel log", dm))
		case <-tick.C:
			if readTrim(SchedExtState) != "enabled" {
				continue
			}
			ops := readTrim(SchedExtOps)
			if ops != name {
				h.kill()
				return fmt.Errorf("sched_ext attached ops %q, not %q: Scheduler.Name must be the ops name the scheduler registers", ops, name)
			}
			took := time.Since(t0)
			h.mu.Lock()
			h.attached, h.attachedAt = true, time.Now()
			h.stopWatch, h.watchDone = make(chan struct{}), make(chan struct{})
			stop, wdone := h.stopWatch, h.watchDone
			h.mu.Unlock()
			go h.watch(stop, wdone)
			h.log.Info("scheduler attached", zap.Duration("took", took))
			syms, err := BPFSymbols()
			if err != nil {
				h.log.Warn("BPF symbols for the host's stall reports", zap.Error(err))
			}
			h.emit(KindSched, SchedEvent{Event: "attached", Name: name, Took: took, BPF: syms})
			return nil
		}
	}
}

// kill ends a scheduler that failed to attach and waits for it.
func (h *SchedHandle) kill() {
	h.mu.Lock()
	cmd, done := h.cmd, h.done
	h.cmd = nil
	h.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
	// Let sched_ext unwind a half-done enable before anything else runs.
	_ = waitState(func(st string) bool { return st == "disabled" }, 5*time.Second)
}

// watch notices the scheduler dying or being thrown out while attached.
func (h *SchedHandle) watch(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-h.done:
		case <-tick.C:
			if st := readTrim(SchedExtState); st == "enabled" || st == "enabling" {
				continue
			}
		}
		h.recordDeath()
		return
	}
}

var disabledRE = `sched_ext: BPF scheduler "`

// recordDeath captures the exit reason: the kernel prints
// `sched_ext: BPF scheduler "NAME" disabled (REASON)` and, for errors,
// `sched_ext: NAME: MESSAGE` from its disable work, which may lag the
// state change a little, so wait for it briefly.
func (h *SchedHandle) recordDeath() {
	name := h.spec.Name
	var reason, msg, dm string
	deadline := time.Now().Add(2 * time.Second)
	for {
		dm = h.kmsg.excerpt()
		reason, msg = parseExitReason(dm, name)
		if reason != "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A process that dies on its own may need a moment to be reaped.
	select {
	case <-h.done:
	case <-time.After(500 * time.Millisecond):
	}
	h.mu.Lock()
	status := h.waitStatus
	if reason == "" {
		if status != "" {
			reason = "scheduler process ended (" + status + ")"
		} else {
			reason = "sched_ext state is " + strconvQuote(readTrim(SchedExtState)) + " while the scheduler process still runs"
		}
	}
	e := &SchedExit{Name: name, Reason: reason, Message: msg, Process: status, Output: h.out.String(), Dmesg: dm, After: time.Since(h.attachedAt)}
	h.exit = e
	h.attached = false
	h.mu.Unlock()
	h.log.Warn("scheduler died", zap.String("reason", reason), zap.String("message", msg))
	h.emit(KindSched, SchedEvent{Event: "died", Name: name, Exit: e})
	if dm != "" {
		h.emit(KindKmsg, map[string]string{"text": dm})
	}
}

func strconvQuote(s string) string { return strconv.Quote(s) }

// parseExitReason pulls sched_ext's reason and message for ops name out
// of a kernel log excerpt.
func parseExitReason(dmesg, name string) (reason, msg string) {
	prefix := disabledRE + name + `" disabled (`
	msgPrefix := "sched_ext: " + name + ": "
	for _, line := range strings.Split(dmesg, "\n") {
		if i := strings.Index(line, prefix); i >= 0 {
			r := line[i+len(prefix):]
			if j := strings.LastIndex(r, ")"); j >= 0 {
				r = r[:j]
			}
			reason = r
		}
		if i := strings.Index(line, msgPrefix); i >= 0 && reason != "" && msg == "" {
			msg = strings.TrimSpace(line[i+len(msgPrefix):])
		}
	}
	return reason, msg
}

func waitState(ok func(string) bool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		st := readTrim(SchedExtState)
		if ok(st) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("state still %q after %v", st, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func describeExit(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			return describeWait(unix.WaitStatus(ws))
		}
		return ee.String()
	}
	return err.Error()
}

func section(title, body string) string {
	body = strings.TrimRight(body, "\n")
	if body == "" {
		return ""
	}
	return "\n--- " + title + " ---\n" + body
}
