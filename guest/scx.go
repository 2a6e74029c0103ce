package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ktstr-go/ktstr/guest/watchdog"
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
	// Name is the sched_ext ops name the scheduler registers; empty
	// accepts whichever attaches (a scheduler given by path, whose ops
	// name the harness cannot know) and learns it.
	Name string
	// Argv is the command line (guest paths, e.g. /sched/scxload ...).
	Argv []string
	// AttachTimeout bounds the wait for attach (0: DefaultAttachTimeout).
	AttachTimeout time.Duration
	// Watchdog is the sched_ext watchdog timeout (0: the scheduler's
	// own). Any scheduler gets it: the scheduler runs under the
	// watchdog package's supervisor, which rewrites the timeout in the
	// ops it registers.
	Watchdog time.Duration
	// OnAttach runs after every attach (e.g. BPF map writes); its error
	// fails the attach and stops the scheduler.
	OnAttach func() error
	// OpsLayout, if known (the host reads it from the kernel's vmlinux),
	// spares the guest parsing its kernel's BTF for the watchdog.
	OpsLayout *watchdog.Layout
	// Emit, if set, receives scheduler events (KindSched, KindKmsg).
	Emit func(kind string, payload any)
	Log  *zap.Logger
}

// SchedEvent is the payload of KindSched records.
type SchedEvent struct {
	Event string `json:"event"` // attached, died, detached
	Name  string `json:"name"`
	// Watchdog, on "attached", is the sched_ext watchdog timeout in force.
	Watchdog *Watchdog `json:"watchdog,omitempty"`
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
	// Watchdog is the sched_ext watchdog timeout that was in force.
	Watchdog *Watchdog `json:"watchdog,omitempty"`
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
	if e.Watchdog != nil {
		s += " [watchdog " + e.Watchdog.String() + "]"
	}
	return s
}

// SchedHandle is a launched scheduler. Its Name, Attach, Detach and
// Alive methods satisfy scenario.SchedulerControl.
type SchedHandle struct {
	spec SchedSpec
	log  *zap.Logger
	kmsg *kmsgReader

	mu sync.Mutex
	// name is the ops name: spec.Name, or learned at the first attach.
	name       string
	watchdog   *Watchdog
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
	if len(spec.Argv) == 0 {
		return nil, errors.New("StartScheduler: SchedSpec needs Argv")
	}
	h := &SchedHandle{spec: spec, name: spec.Name, log: spec.Log.With(zap.String("scheduler", spec.Name))}
	if err := h.attach(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// Name is the sched_ext ops name: the expected one, or the one that
// attached when any was accepted ("" until then).
func (h *SchedHandle) Name() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.name
}

// label names the scheduler in messages before its ops name is known.
func (h *SchedHandle) label() string {
	if n := h.Name(); n != "" {
		return n
	}
	return filepath.Base(h.spec.Argv[0])
}

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
		return fmt.Errorf("scheduler %s is detached", h.name)
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
			err = fmt.Errorf("scheduler %s ignored SIGTERM for %v and was killed", h.label(), detachTimeout)
		}
	}
	if derr := waitState(func(st string) bool { return st == "disabled" || st == "" }, 5*time.Second); derr != nil && err == nil {
		err = fmt.Errorf("scheduler %s: process ended but %s: %w", h.label(), SchedExtState, derr)
	}
	h.mu.Lock()
	died := h.exit != nil
	status := h.waitStatus
	h.attached = false
	h.cmd = nil
	h.mu.Unlock()
	if err == nil && !died && status != "exit status 0" {
		err = fmt.Errorf("scheduler %s did not exit cleanly on SIGTERM (%s); output:\n%s", h.label(), status, h.out.String())
	}
	h.kmsg.close()
	h.emit(KindSched, SchedEvent{Event: "detached", Name: h.label(), Took: time.Since(t0)})
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
	name := h.label()
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
	cmd, report, err := h.command()
	if err != nil {
		h.kmsg.close()
		return err
	}
	cmd.Stdout, cmd.Stderr = out, out
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
	h.log.Info("scheduler launched", zap.Strings("argv", cmd.Args))
	ops, err := h.waitAttach(ctx, done, out)
	if err != nil {
		return err
	}
	return h.finishAttach(ops, time.Since(t0), report)
}

// command is the scheduler's process: its argv, or its argv under the
// watchdog supervisor when the test overrides the watchdog (report is
// then the supervisor's rewrite report). Its own process group lets a
// kill take its helpers too.
func (h *SchedHandle) command() (cmd *exec.Cmd, report string, err error) {
	argv := h.spec.Argv
	if h.spec.Watchdog > 0 {
		self, err := os.Executable()
		if err != nil {
			return nil, "", fmt.Errorf("finding this binary to supervise the scheduler's watchdog: %w", err)
		}
		f, err := os.CreateTemp("", "ktstr-watchdog-*.json")
		if err != nil {
			return nil, "", fmt.Errorf("watchdog report: %w", err)
		}
		report = f.Name()
		f.Close()
		argv = watchdog.Command(self, h.spec.Watchdog, watchdog.Options{Report: report, Layout: h.spec.OpsLayout}, argv)
	}
	cmd = exec.Command(argv[0], argv[1:]...)
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, report, nil
}

// waitAttach waits until sched_ext reports an attached scheduler and
// returns its ops name; the scheduler's early exit, the context and the
// attach timeout end the wait with an error.
func (h *SchedHandle) waitAttach(ctx context.Context, done <-chan struct{}, out *tailbuf.Buffer) (string, error) {
	name := h.label()
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
			return "", fmt.Errorf("scheduler %s exited before attaching (%s)%s%s", name, status,
				section("scheduler output", out.String()), section("kernel log", dm))
		case <-ctx.Done():
			h.kill()
			return "", fmt.Errorf("waiting for scheduler %s to attach: %w", name, ctx.Err())
		case <-timer.C:
			h.kill()
			dm := h.kmsg.excerpt()
			h.kmsg.close()
			return "", fmt.Errorf("scheduler %s launched but did not attach within %v (process was still alive; check the kernel log for BPF verifier or load errors)%s%s",
				name, h.spec.AttachTimeout, section("scheduler output", out.String()), section("kernel log", dm))
		case <-tick.C:
			if readTrim(SchedExtState) != "enabled" {
				continue
			}
			ops := readTrim(SchedExtOps)
			if h.spec.Name != "" && ops != h.spec.Name {
				h.kill()
				return "", fmt.Errorf("sched_ext attached ops %q, not %q: Scheduler.Name must be the ops name the scheduler registers", ops, h.spec.Name)
			}
			return ops, nil
		}
	}
}

// finishAttach finishes an attach: records the ops name and the watchdog in
// force, starts the death watch, runs OnAttach and reports the attach.
func (h *SchedHandle) finishAttach(ops string, took time.Duration, report string) error {
	wd := watchdogInForce(ops, h.spec.Watchdog, report, h.spec.OpsLayout)
	if report != "" {
		// The supervisor holds it open; nothing reads it again.
		_ = os.Remove(report)
	}
	h.mu.Lock()
	h.name, h.watchdog = ops, wd
	h.attached, h.attachedAt = true, time.Now()
	h.stopWatch, h.watchDone = make(chan struct{}), make(chan struct{})
	stop, wdone := h.stopWatch, h.watchDone
	h.mu.Unlock()
	go h.watch(stop, wdone)
	h.log.Info("scheduler attached", zap.Duration("took", took), zap.Stringer("watchdog", wd))
	syms, err := BPFSymbols()
	if err != nil {
		h.log.Warn("BPF symbols for the host's stall reports", zap.Error(err))
	}
	h.emit(KindSched, SchedEvent{Event: "attached", Name: ops, Took: took, BPF: syms, Watchdog: wd})
	if h.spec.OnAttach != nil {
		if err := h.spec.OnAttach(); err != nil {
			_ = h.Detach()
			return fmt.Errorf("scheduler %s attached, then: %w", ops, err)
		}
	}
	return nil
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
	name := h.Name()
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
	e := &SchedExit{Name: name, Reason: reason, Message: msg, Process: status, Output: h.out.String(), Dmesg: dm,
		After: time.Since(h.attachedAt), Watchdog: h.watchdog}
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
