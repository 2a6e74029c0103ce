package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The worker protocol. A worker is this binary re-executed with envWorker
// holding its workerSpec as JSON and three inherited descriptors:
//
//	fd 3  start pipe (read end): EOF means "go" — shared by all workers of
//	      a workload, so closing the write end releases them together
//	fd 4  report pipe (write end): one JSON line readyMsg once the work
//	      threads exist, one JSON line WorkerReport after stopping
//	fd 5  stop pipe (read end): EOF means "stop and report"; it also
//	      arrives if the parent dies, so workers never outlive it
const (
	envWorker = "KTSTR_WORKER"
	fdStart   = 3
	fdReport  = 4
	fdStop    = 5
	// stopGrace bounds how long a worker waits for its threads to notice
	// the stop request (an RT-starved or frozen thread may never).
	stopGrace = 3 * time.Second
)

type workerSpec struct {
	Work      Work      `json:"work"`
	Index     int       `json:"index"`
	Policy    Policy    `json:"policy"`
	Nice      int       `json:"nice"`
	MemPolicy MemPolicy `json:"mem_policy"`
	Seed      uint64    `json:"seed"`
}

type readyMsg struct {
	TIDs  []int  `json:"tids"`
	Error string `json:"error,omitempty"`
}

// RunWorkerIfRequested must be the first thing main or TestMain does. In
// a worker process (a re-exec of this binary started by a Workload) it runs
// the worker and exits; it never returns there. Anywhere else it returns
// at once.
//
//	func TestMain(m *testing.M) {
//		scenario.RunWorkerIfRequested()
//		os.Exit(m.Run())
//	}
//
// The package's init already does this for any binary that imports
// scenario, so the call is a no-op there; it documents the hand-off.
func RunWorkerIfRequested() {
	v, ok := os.LookupEnv(envWorker)
	if !ok {
		return
	}
	os.Exit(runWorker(v))
}

// A worker must not run the program's own start-up (a test binary would
// run its tests again), so a worker process diverts here, as early as Go
// allows: before main, TestMain and the init of the packages importing
// this one. The exception is custom work (RegisterWork): it is
// registered by those very packages, so its worker waits for the
// explicit RunWorkerIfRequested in main/TestMain, after every init.
func init() {
	v, ok := os.LookupEnv(envWorker)
	if !ok {
		return
	}
	var spec workerSpec
	if json.Unmarshal([]byte(v), &spec) == nil {
		if _, builtin := builtinWork[spec.Work.Type]; !builtin {
			go lateWorkerWatchdog(spec.Work.Type)
			return
		}
	}
	os.Exit(runWorker(v))
}

// lateWorkerTimeout is how long a custom-work worker waits for main or
// TestMain to call RunWorkerIfRequested before it gives up.
const lateWorkerTimeout = 5 * time.Second

// workerRunning is set once this process runs as a worker.
var workerRunning atomic.Bool

// lateWorkerWatchdog fails a custom-work worker whose program never
// called RunWorkerIfRequested, instead of letting it run the program.
func lateWorkerWatchdog(t WorkType) {
	time.Sleep(lateWorkerTimeout)
	if workerRunning.Load() {
		return
	}
	msg := fmt.Sprintf("custom work %q: this program's main/TestMain did not call scenario.RunWorkerIfRequested (ktstr.Main does) within %s", t, lateWorkerTimeout)
	_ = json.NewEncoder(os.NewFile(fdReport, "report")).Encode(readyMsg{Error: msg})
	os.Exit(2)
}

// workerEnv is the state shared by a worker's threads.
type workerEnv struct {
	spec workerSpec
	// work is spec.Work with the type's defaults filled in.
	work    Work
	seed    uint64
	stop    atomic.Bool
	cleanup []func()
	// buffers are the work's memory (mapBuffer), for the page placement
	// report.
	buffers [][]byte
	bufMu   sync.Mutex
	errMu   sync.Mutex
	errs    []string
}

func (w *workerEnv) stopped() bool { return w.stop.Load() }

func (w *workerEnv) fail(err error) {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	w.errs = append(w.errs, err.Error())
}

type workThread struct {
	tr   *tracker
	done chan struct{}
}

func runWorker(specJSON string) int {
	workerRunning.Store(true)
	report := os.NewFile(fdReport, "report")
	_, errStart := unix.FcntlInt(fdStart, unix.F_GETFD, 0)
	_, errStop := unix.FcntlInt(fdStop, unix.F_GETFD, 0)
	if report == nil || errStart != nil || errStop != nil {
		fmt.Fprintln(os.Stderr, "ktstr worker: missing inherited descriptors 3-5; workers are started by scenario.SpawnWorkload")
		return 2
	}
	enc := json.NewEncoder(report)
	var spec workerSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		_ = enc.Encode(readyMsg{Error: fmt.Sprintf("decoding worker spec: %v", err)})
		return 2
	}
	if err := spec.Work.Validate(); err != nil {
		_ = enc.Encode(readyMsg{Error: err.Error()})
		return 2
	}
	impl, _ := lookupWork(spec.Work.Type)
	w := &workerEnv{spec: spec, work: spec.Work.withDefaults(), seed: spec.Seed*0x9E3779B97F4A7C15 + 1}
	defer func() {
		for _, f := range w.cleanup {
			f()
		}
	}()
	run, unblock, err := impl.setup(w)
	if err != nil {
		_ = enc.Encode(readyMsg{Error: err.Error()})
		return 2
	}

	// Policy and nice go on every thread of the process, and threads the
	// runtime starts later inherit them: the work goroutines may move
	// between threads.
	ready := readyMsg{TIDs: processTIDs()}
	for _, tid := range ready.TIDs {
		if err := spec.Policy.apply(tid, spec.Nice); err != nil {
			_ = enc.Encode(readyMsg{Error: err.Error()})
			return 2
		}
	}
	// Each work goroutine waits for the start signal in its own blocking
	// read of the start pipe: the kernel wakes its thread directly. (A Go
	// channel would need the Go scheduler to find a thread and a P for it,
	// which on a saturated CPU can take longer than the whole run.)
	n := w.work.Threads()
	threads := make([]*workThread, n)
	for i := range n {
		th := &workThread{tr: newTracker(w.seed + uint64(i)), done: make(chan struct{})}
		threads[i] = th
		go func() {
			waitEOF(fdStart)
			th.tr.begin()
			run(i, th.tr)
			th.tr.openSince, th.tr.openCPU = th.tr.last, th.tr.cpu
			close(th.done)
		}()
	}
	if err := enc.Encode(ready); err != nil {
		return 2
	}

	waitEOF(fdStart)
	t0 := monoNow()
	base := map[int]threadStat{}
	for _, tid := range processTIDs() {
		base[tid], _ = readThreadStat(taskDir(tid))
	}

	waitEOF(fdStop)
	// Read the kernel counters before telling the threads, so the window
	// ends now for both clocks.
	t1 := monoNow()
	var tids []int
	for _, th := range threads {
		for _, tid := range th.tr.seenTIDs() {
			if !slices.Contains(tids, tid) {
				tids = append(tids, tid)
			}
		}
	}
	slices.Sort(tids)
	// Kernel counters cover the threads the work ran on, as of now: the
	// work goroutines may have moved between threads, but the runtime's
	// own threads (GC workers, spinning idle Ms) are not the work's and
	// would push a one-thread worker above 100% CPU.
	var stats []threadStat
	var statErrs []error
	for _, tid := range tids {
		s, err := readThreadStat(taskDir(tid))
		if err != nil {
			continue // a thread that just exited
		}
		stats = append(stats, s.sub(base[tid]))
	}
	if len(stats) == 0 {
		statErrs = append(statErrs, errors.New("no work thread statistics readable under /proc/self/task"))
	}
	w.stop.Store(true)
	for _, err := range statErrs {
		w.fail(err)
	}
	r := WorkerReport{Index: spec.Index, PID: os.Getpid(), TIDs: tids, Type: spec.Work.Type, Spec: spec.Work,
		Policy: spec.Policy, Nice: spec.Nice, MemPolicy: spec.MemPolicy, StartMono: t0, Wall: time.Duration(t1 - t0), MaxGapCPU: -1}
	if unblock != nil {
		unblock()
	}
	deadline := time.After(stopGrace)
	var finished []*workThread
	for i, th := range threads {
		select {
		case <-th.done:
			finished = append(finished, th)
		case <-deadline:
			r.Work += th.tr.work.Load()
			w.fail(fmt.Errorf("work thread %d did not stop within %s; its timing is left out", i, stopGrace))
		}
	}
	fillReport(&r, finished, stats, t1)
	if !spec.MemPolicy.IsZero() {
		nodes, err := pageNodes(w.buffers)
		if err != nil {
			w.fail(fmt.Errorf("locating the work's pages: %w", err))
		}
		r.PageNodes = nodes
	}
	w.errMu.Lock()
	r.Errors = w.errs
	w.errMu.Unlock()
	if err := enc.Encode(r); err != nil {
		return 1
	}
	return 0
}

// waitEOF blocks in read(2) until fd reports end of file.
func waitEOF(fd int) {
	var b [64]byte
	for {
		n, err := unix.Read(fd, b[:])
		if n == 0 || (err != nil && err != unix.EINTR) {
			return
		}
	}
}

// processTIDs lists the threads of this process.
func processTIDs() []int {
	return listTIDs("/proc/self/task")
}

func listTIDs(dir string) []int {
	entries, _ := os.ReadDir(dir)
	var out []int
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, tid)
		}
	}
	return out
}

func taskDir(tid int) string { return "/proc/self/task/" + strconv.Itoa(tid) }

// fillReport merges the threads' trackers and kernel counters.
func fillReport(r *WorkerReport, threads []*workThread, stats []threadStat, end int64) {
	var wake []int64
	var cpus CPUSet
	var moves uint64
	haveMig := len(stats) > 0
	for _, s := range stats {
		r.CPUTime += time.Duration(s.CPUTimeNs)
		r.RunDelay += time.Duration(s.RunDelayNs)
		r.Timeslices += s.Timeslices
		r.Migrations += s.Migrations
		r.VoluntarySwitches += s.Voluntary
		r.InvoluntarySwitches += s.Involuntary
		r.MinorFaults += s.MinorFaults
		haveMig = haveMig && s.HaveMigrations
	}
	for _, th := range threads {
		t := th.tr
		r.Work += t.work.Load()
		// A thread that never ran again before the stop request is the
		// worst gap of all: count it up to the end of the window.
		switch {
		case t.began > end: // never ran inside the window at all
			t.noteGap(Gap{Start: r.StartMono, End: end, CPU: -1, TID: t.tid})
		case t.openSince > 0 && t.openSince < end:
			t.noteGap(Gap{Start: t.openSince, End: end, CPU: t.openCPU, TID: t.tid})
		}
		r.Gaps = append(r.Gaps, t.gaps...)
		wake = append(wake, t.wake...)
		for k, v := range t.counters {
			if r.Counters == nil {
				r.Counters = map[string]uint64{}
			}
			r.Counters[k] += v
		}
		r.WakeSamples += t.wakeSeen
		cpus = cpus.Union(t.usedCPUs())
		moves += t.cpuMoves
	}
	if !haveMig {
		r.Migrations = moves
	}
	r.CPUs = cpus
	slices.SortFunc(r.Gaps, func(a, b Gap) int { return int(b.Len() - a.Len()) })
	if len(wake) > 0 {
		r.WakeP50 = time.Duration(Percentile(wake, 50))
		r.WakeP99 = time.Duration(Percentile(wake, 99))
		r.WakeMax = time.Duration(wake[len(wake)-1])
		r.WakeHist = Log2Hist(wake)
	}
	r.excuse(nil)
}
