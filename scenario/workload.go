package scenario

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ktstr-go/ktstr/internal/tailbuf"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// WorkloadConfig describes a set of identical worker processes.
type WorkloadConfig struct {
	// Workers is the number of worker processes (at least 1).
	Workers int
	// Work is what each worker does: a WorkType or a Work with
	// parameters; nil means SpinWork.
	Work WorkSpec
	// MemPolicy places the memory the work maps (NUMA); zero is the
	// kernel's default.
	MemPolicy MemPolicy
	// Policy and Nice are applied by each worker to its work threads.
	Policy Policy
	Nice   int
	// Label names the workload in reports until it is moved into a
	// cgroup (then the cgroup's name is used).
	Label string
	// ReadyTimeout bounds the wait for the workers to come up; zero means
	// 60 s (a large test binary starts slowly under emulation).
	ReadyTimeout time.Duration
	// StopTimeout bounds the wait for the workers' reports at Stop; a
	// worker silent past it is judged from the collector's view. Zero
	// means DefaultStopTimeout.
	StopTimeout time.Duration
	Log         *zap.Logger
}

// Workload is a running set of worker processes in one process group.
// Spawn it, place its PIDs, Start it, then Stop it to collect reports.
// Kill (or Ctx.Close) removes every process, whatever state it is in.
type Workload struct {
	cfg     WorkloadConfig
	work    Work
	log     *zap.Logger
	workers []*workerProc
	pgid    int
	startW  *os.File
	stopW   *os.File

	mu      sync.Mutex
	started bool
	stopped bool
	killed  bool
	cgroup  string
	allowed CPUSet
	bounded bool
	// excused are intervals (frozen cgroup) whose gaps do not count.
	excused  []Interval
	reports  []WorkerReport
	stopMono int64
	// outside samples the workers' threads from Start to Stop.
	outside *collector
}

type workerProc struct {
	index  int
	cmd    *exec.Cmd
	tids   []int
	ready  chan readyMsg
	report chan *WorkerReport
	exited chan struct{}
	stderr *tailbuf.Buffer
}

// DefaultStopTimeout is how long Stop waits for reports: a worker's own
// stop grace, and time for a starved one to get the CPU it needs.
const DefaultStopTimeout = stopGrace + 20*time.Second

// SpawnWorkload starts cfg.Workers worker processes and waits until every
// one has set up its threads and blocks on the start signal. The binary
// must call RunWorkerIfRequested first thing in main/TestMain.
func SpawnWorkload(cfg WorkloadConfig) (*Workload, error) {
	if _, isWorker := os.LookupEnv(envWorker); isWorker {
		return nil, errors.New("spawning workers from inside a worker: main/TestMain must call scenario.RunWorkerIfRequested() first")
	}
	if cfg.Workers < 1 {
		return nil, fmt.Errorf("workload needs at least 1 worker, got %d", cfg.Workers)
	}
	work := specOf(cfg.Work)
	if err := work.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, err
	}
	if err := checkMemPolicy(work, cfg.MemPolicy); err != nil {
		return nil, err
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 60 * time.Second
	}
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	w := &Workload{cfg: cfg, work: work, log: log, cgroup: cfg.Label}
	startR, startW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating start pipe: %w", err)
	}
	stopR, stopW, err := os.Pipe()
	if err != nil {
		startR.Close()
		startW.Close()
		return nil, fmt.Errorf("creating stop pipe: %w", err)
	}
	w.startW, w.stopW = startW, stopW
	defer startR.Close()
	defer stopR.Close()
	for i := range cfg.Workers {
		if err := w.spawnOne(i, startR, stopR); err != nil {
			w.Kill()
			return nil, err
		}
	}
	deadline := time.NewTimer(cfg.ReadyTimeout)
	defer deadline.Stop()
	for _, p := range w.workers {
		select {
		case m, ok := <-p.ready:
			if !ok || m.Error != "" {
				w.Kill()
				return nil, p.failure("starting", m.Error)
			}
			p.tids = m.TIDs
		case <-deadline.C:
			w.Kill()
			return nil, fmt.Errorf("worker %d (pid %d) not ready after %s%s", p.index, p.cmd.Process.Pid, cfg.ReadyTimeout, stderrSuffix(p.stderr))
		}
	}
	log.Debug("workload spawned", zap.Stringer("work", work), zap.Ints("pids", w.PIDs()))
	return w, nil
}

func (w *Workload) spawnOne(i int, startR, stopR *os.File) error {
	spec, err := json.Marshal(workerSpec{Work: w.work, Index: i, Policy: w.cfg.Policy, Nice: w.cfg.Nice,
		MemPolicy: w.cfg.MemPolicy, Seed: uint64(time.Now().UnixNano()) + uint64(i)})
	if err != nil {
		return err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("creating report pipe: %w", err)
	}
	defer repW.Close()
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	p := &workerProc{index: i, ready: make(chan readyMsg, 1), report: make(chan *WorkerReport, 1),
		exited: make(chan struct{}), stderr: &tailbuf.Buffer{MaxLines: 64, MaxBytes: 4096}}
	cmd := exec.Command(exe)
	cmd.Args = []string{"ktstr-worker"}
	cmd.Env = workerEnviron(string(spec), w.work.Threads())
	cmd.ExtraFiles = []*os.File{startR, repW, stopR}
	cmd.Stdout = os.Stdout
	cmd.Stderr = p.stderr
	// One process group per workload, so one kill(-pgid) reaches every
	// worker and whatever they forked.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: w.pgid}
	if err := cmd.Start(); err != nil {
		repR.Close()
		return fmt.Errorf("starting worker %d: %w", i, err)
	}
	if w.pgid == 0 {
		w.pgid = cmd.Process.Pid
	}
	p.cmd = cmd
	w.workers = append(w.workers, p)
	go p.readReports(repR)
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return nil
}

// workerEnviron is the parent's environment minus anything that would
// make the re-executed binary act as something else, plus the spec.
func workerEnviron(spec string, threads int) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == envWorker || k == "GOMAXPROCS" || strings.HasPrefix(k, "KTSTR_GUEST") {
			continue
		}
		env = append(env, kv)
	}
	// One P per work thread and no more: idle Ps make the Go runtime spin
	// threads looking for work, which steals CPU from the very workers we
	// measure when the CPUs are contended.
	return append(env, envWorker+"="+spec, fmt.Sprintf("GOMAXPROCS=%d", threads))
}

func (p *workerProc) readReports(r *os.File) {
	defer r.Close()
	defer close(p.report)
	br := bufio.NewReader(r)
	line, err := br.ReadBytes('\n')
	if err != nil {
		close(p.ready)
		return
	}
	var m readyMsg
	if err := json.Unmarshal(line, &m); err != nil {
		m.Error = fmt.Sprintf("bad ready message %q: %v", line, err)
	}
	p.ready <- m
	close(p.ready)
	line, err = br.ReadBytes('\n')
	if err != nil {
		return
	}
	rep := new(WorkerReport)
	if err := json.Unmarshal(line, rep); err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("bad report: %v", err))
	}
	p.report <- rep
}

func (p *workerProc) failure(what, msg string) error {
	if msg == "" {
		<-p.exited
		msg = fmt.Sprintf("exited before it was ready (%v)", p.cmd.ProcessState)
		msg += "; does main/TestMain call scenario.RunWorkerIfRequested() (ktstr.Main does) first?"
	}
	return fmt.Errorf("%s worker %d (pid %d): %s%s", what, p.index, p.cmd.Process.Pid, msg, stderrSuffix(p.stderr))
}

// PIDs are the worker processes' ids.
func (w *Workload) PIDs() []int {
	out := make([]int, len(w.workers))
	for i, p := range w.workers {
		out[i] = p.cmd.Process.Pid
	}
	return out
}

// TIDs are the ids of every thread of every worker process, now.
func (w *Workload) TIDs() []int {
	var out []int
	for _, pid := range w.PIDs() {
		out = append(out, listTIDs(fmt.Sprintf("/proc/%d/task", pid))...)
	}
	return out
}

// PGID is the workload's process group.
func (w *Workload) PGID() int { return w.pgid }

// Config returns the configuration the workload was spawned with.
func (w *Workload) Config() WorkloadConfig { return w.cfg }

// Work is what the workers do, as validated.
func (w *Workload) Work() Work { return w.work }

// Start releases every worker at once. Telemetry windows begin here.
func (w *Workload) Start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started || w.killed {
		return fmt.Errorf("workload %s: Start after Start or Kill", w.cgroup)
	}
	w.started = true
	w.outside = startCollector(w.PIDs())
	return w.startW.Close()
}

// SetAffinity pins every thread of every worker to cpus.
func (w *Workload) SetAffinity(cpus CPUSet) error {
	var set unix.CPUSet
	for _, c := range cpus.CPUs() {
		set.Set(c)
	}
	var errs []error
	for _, tid := range w.TIDs() {
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			errs = append(errs, fmt.Errorf("pinning tid %d to cpus %s: %w", tid, cpus, err))
		}
	}
	return errors.Join(errs...)
}

// placed records that the workload now lives in cgroup name whose cpuset
// is cpus (bounded false: no restriction). Before Start the telemetry
// window has not begun, so the new cpuset replaces the old one; after it,
// the worker may have run under either, so they are merged.
func (w *Workload) placed(name string, cpus CPUSet, bounded bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cgroup = name
	w.widen(cpus, bounded, !w.started)
}

// widen merges cpus into the allowed set (replace: start over).
func (w *Workload) widen(cpus CPUSet, bounded, replace bool) {
	switch {
	case replace:
		w.allowed, w.bounded = cpus, bounded
	case !bounded:
		w.allowed, w.bounded = CPUSet{}, false
	case w.bounded:
		w.allowed = w.allowed.Union(cpus)
	}
}

// cpusetChanged records a new cpuset of the workload's cgroup.
func (w *Workload) cpusetChanged(cpus CPUSet, bounded bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.widen(cpus, bounded, !w.started)
}

// Excuse marks [from, to) (CLOCK_MONOTONIC ns) as a time the workers could
// not run on purpose, e.g. a frozen cgroup; their gaps there do not count.
func (w *Workload) Excuse(iv Interval) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.excused = append(w.excused, iv)
}

// Stopped reports whether Stop or Kill ran.
func (w *Workload) Stopped() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopped || w.killed
}

// Stop asks every worker to stop, collects their reports and removes the
// processes. A worker that sends no report (it died, or was starved
// beyond the timeout) gets a report carrying the reason in Errors.
// Calling Stop again returns the same reports.
func (w *Workload) Stop() ([]WorkerReport, error) {
	w.mu.Lock()
	if w.stopped {
		defer w.mu.Unlock()
		return w.reports, nil
	}
	if w.killed {
		w.mu.Unlock()
		return nil, errors.New("workload was killed before Stop")
	}
	w.stopped = true
	started := w.started
	w.mu.Unlock()
	if !started {
		_ = w.startW.Close()
	}
	w.stopMono = monoNow()
	_ = w.stopW.Close()
	var views map[int]*OutsideView
	if w.outside != nil {
		views = w.outside.stopAndView()
	}
	wait := w.cfg.StopTimeout
	if wait <= 0 {
		wait = DefaultStopTimeout
	}
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	reports := make([]WorkerReport, len(w.workers))
	for i, p := range w.workers {
		var rep *WorkerReport
		select {
		case rep = <-p.report:
		case <-timeout.C:
		}
		if rep == nil {
			rep = w.unreported(p, views[p.cmd.Process.Pid])
		}
		rep.Outside = views[p.cmd.Process.Pid]
		reports[i] = *rep
	}
	w.kill()
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range reports {
		r := &reports[i]
		r.Cgroup, r.Allowed, r.Bounded = w.cgroup, w.allowed, w.bounded
		r.excuse(w.excused)
	}
	w.reports = reports
	if !started {
		return reports, errors.New("workload stopped before it was started")
	}
	return reports, nil
}

// unreported stands in for the report of a worker that sent none: what
// the collector saw of its threads, with the reason it is missing.
func (w *Workload) unreported(p *workerProc, v *OutsideView) *WorkerReport {
	rep := &WorkerReport{Index: p.index, PID: p.cmd.Process.Pid, TIDs: p.tids, Type: w.work.Type, Spec: w.work,
		Policy: w.cfg.Policy, Nice: w.cfg.Nice, MemPolicy: w.cfg.MemPolicy, MaxGapCPU: -1}
	select {
	case <-p.exited:
		rep.Errors = append(rep.Errors, fmt.Sprintf("worker sent no report: %v%s", p.cmd.ProcessState, stderrSuffix(p.stderr)))
	default:
		rep.Errors = append(rep.Errors, "worker sent no report within the stop timeout")
	}
	if v != nil && v.Samples > 1 {
		rep.FromOutside = true
		rep.StartMono = w.outside.start
		rep.Wall, rep.CPUTime, rep.RunDelay = v.Wall, v.CPUTime, v.RunDelay
		if v.LongestWait > 0 {
			rep.Gaps = []Gap{{Start: w.outside.start + int64(v.LongestWaitAt), End: w.outside.start + int64(v.LongestWaitAt+v.LongestWait), CPU: -1, TID: v.LongestWaitTID}}
		}
	}
	return rep
}

// Kill removes every worker process now, without reports.
func (w *Workload) Kill() {
	w.mu.Lock()
	w.killed = true
	w.mu.Unlock()
	w.kill()
}

func (w *Workload) kill() {
	if w.outside != nil {
		w.outside.halt()
	}
	_ = w.startW.Close()
	_ = w.stopW.Close()
	if w.pgid > 0 {
		_ = unix.Kill(-w.pgid, unix.SIGKILL)
	}
	for _, p := range w.workers {
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	// Grandchildren (fork_churn) share the group: sweep once more after
	// the workers are gone, then nothing of this workload remains.
	if w.pgid > 0 {
		_ = unix.Kill(-w.pgid, unix.SIGKILL)
	}
}

// stderrSuffix formats a worker's stderr tail for an error message.
func stderrSuffix(b *tailbuf.Buffer) string {
	s := strings.TrimSpace(b.String())
	if len(s) == 0 {
		return ""
	}
	return "; stderr: " + s
}
