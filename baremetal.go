package ktstr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/guest/watchdog"
	"github.com/ktstr-go/ktstr/verdict"
)

// Paths a bare-metal run depends on; variables so tests can point them at
// a fake tree.
var (
	cgroupMount  = "/sys/fs/cgroup"
	schedExtRoot = "/sys/kernel/sched_ext"
)

// bareMetalRun is one run of a registered test on a real host, without a
// VM: what an exported .run file does once it has attached the scheduler.
type bareMetalRun struct {
	test     *Test
	duration time.Duration
	watchdog time.Duration
	cgroup   string
	out      io.Writer
	log      *zap.Logger
}

// run checks the host and runs the test body the way the guest does
// (runBody), under a limit of three times the duration plus a minute.
func (r *bareMetalRun) run() (verdict.Verdict, []string, error) {
	if err := r.checkHost(); err != nil {
		return verdict.Fail, nil, err
	}
	b := &bodyRun{
		body:     r.test.Body,
		topology: r.test.EffectiveTopology(),
		duration: r.duration,
		cgroup:   r.cgroup,
		emit:     r.emit,
		probes:   newBodyProbes(r.test.Probes, "", nil, r.emit, r.log),
		limit:    3*r.duration + time.Minute,
		log:      r.log,
	}
	if s := r.test.Scheduler; s != nil {
		b.startSched = func() (schedUnderTest, error) { return r.attached(s.Name) }
	}
	fmt.Fprintf(r.out, "ktstr: running %s on this host: duration %s, watchdog %s, cgroup %s\n",
		r.test.Name, r.duration, watchdogString(r.watchdog), r.cgroup)
	re, err := compileExpectFail(r.test.ExpectFail)
	if err != nil {
		return verdict.Fail, nil, err
	}
	v, reasons, err := b.run()
	if err != nil {
		return v, reasons, err
	}
	v, reasons = expectFailure(re, v, reasons)
	return v, reasons, nil
}

// attached checks the scheduler the .run script launched, says which
// watchdog timeout is in force, and makes the test's map writes.
func (r *bareMetalRun) attached(name string) (schedUnderTest, error) {
	a := &attachedScheduler{name: name}
	if err := a.Alive(); err != nil {
		return nil, fmt.Errorf("%w; the .run script launches it before this command (run the test through the script, or attach the scheduler first)", err)
	}
	ops := readTrim(filepath.Join(schedExtRoot, "root", "ops"))
	if d, err := watchdog.InForce(ops); err == nil {
		fmt.Fprintf(r.out, "ktstr: scheduler %s attached; sched_ext watchdog in force: %s\n", ops, d)
	}
	if err := applyMapWrites(r.test.MapWrites, r.emit); err != nil {
		return nil, err
	}
	return a, nil
}

func watchdogString(d time.Duration) string {
	if d == 0 {
		return "kernel default"
	}
	return d.String()
}

// emit prints a scenario record as one line; on bare metal stdout is the
// only channel.
func (r *bareMetalRun) emit(kind string, payload any) {
	b, err := json.Marshal(payload)
	if err != nil {
		b = []byte(strconv.Quote(fmt.Sprint(payload)))
	}
	fmt.Fprintf(r.out, "ktstr: %s %s\n", kind, b)
}

func (r *bareMetalRun) checkHost() error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root (need CAP_SYS_ADMIN for sched_ext and cgroup operations)")
	}
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupMount, &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("%s is not a cgroup2 mount: mount cgroup2 there (mount -t cgroup2 none %s)", cgroupMount, cgroupMount)
	}
	parent := filepath.Dir(filepath.Clean(r.cgroup))
	if parent != cgroupMount && !strings.HasPrefix(parent, cgroupMount+"/") {
		return fmt.Errorf("--cgroup %s: must be a directory under %s", r.cgroup, cgroupMount)
	}
	if _, err := os.Stat(r.cgroup); err == nil {
		return fmt.Errorf("cgroup %s already exists: another ktstr run may be using it; remove it (rmdir) or pass another --cgroup", r.cgroup)
	}
	return nil
}

// attachedScheduler is the scenario's view of a scheduler that something
// else (the .run script) launched: it can check it but not attach or
// detach it.
type attachedScheduler struct{ name string }

func (a *attachedScheduler) Name() string { return a.name }

func (a *attachedScheduler) Attach() error {
	return fmt.Errorf("scheduler %s: attach is not supported in a bare-metal run (the .run script attaches it once, before the test)", a.name)
}

func (a *attachedScheduler) Detach() error {
	return fmt.Errorf("scheduler %s: detach is not supported in a bare-metal run (the .run script owns the scheduler process)", a.name)
}

// Stop lets go of the scheduler: the .run script stops it.
func (a *attachedScheduler) Stop() error { return nil }

// Alive reports whether the expected scheduler is the attached one, by the
// same sysfs files the .run script checks.
func (a *attachedScheduler) Alive() error {
	state := readTrim(filepath.Join(schedExtRoot, "state"))
	ops := readTrim(filepath.Join(schedExtRoot, "root", "ops"))
	if state != "" && state != "enabled" {
		return fmt.Errorf("scheduler %s is not attached (sched_ext state=%s)", a.name, state)
	}
	if state == "" && ops == "" {
		return fmt.Errorf("scheduler %s is not attached (%s/root/ops is empty or missing)", a.name, schedExtRoot)
	}
	if ops != "" && a.name != "" && ops != a.name {
		return fmt.Errorf("attached sched_ext scheduler is %q, test needs %s", ops, a.name)
	}
	return nil
}

func readTrim(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}
