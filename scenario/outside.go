package scenario

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// OutsideView is what the guest's collector saw of one worker's threads
// from /proc/<pid>/task/*/schedstat while it ran: the kernel's account,
// which needs nothing from the worker. It is how a worker starved too
// hard to send its own report is still judged.
type OutsideView struct {
	Wall time.Duration `json:"wall"`
	// CPUTime and RunDelay are summed over the worker's threads.
	CPUTime  time.Duration `json:"cpu_time"`
	RunDelay time.Duration `json:"run_delay"`
	// LongestWait is the longest time one thread stayed runnable without
	// running (to the collector's sampling interval), and which one.
	LongestWait    time.Duration `json:"longest_wait"`
	LongestWaitTID int           `json:"longest_wait_tid,omitempty"`
	// LongestWaitAt is when that wait began, after the start signal.
	LongestWaitAt time.Duration `json:"longest_wait_at"`
	Samples       int           `json:"samples"`
}

// Starved describes the view as a starvation finding: "starved: ran
// 12 ms of 6.0 s, longest wait 5.9 s".
func (v *OutsideView) Starved() string {
	return fmt.Sprintf("starved: ran %d ms of %.1f s, longest wait %.1f s",
		v.CPUTime.Milliseconds(), v.Wall.Seconds(), v.LongestWait.Seconds())
}

// collectInterval is how often the collector reads the workers' threads.
// Coarse on purpose: it runs beside the workers it measures (under
// emulation each sample of four workers costs milliseconds of their CPU),
// and a starvation worth reporting lasts seconds.
const collectInterval = 500 * time.Millisecond

// collector samples every thread of a workload's worker processes.
type collector struct {
	pids  []int
	start int64
	mu    sync.Mutex
	procs map[int]*procView
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

type procView struct {
	dir     *taskList
	base    map[int][2]uint64 // tid → cpu, wait at the start signal
	threads map[int]*threadView
	view    OutsideView
	// started is set after the sample at the start signal: a thread first
	// seen later was created in the window, and all its time counts.
	started bool
	buf     [512]byte // room for a schedstat or the head of a stat
}

type threadView struct {
	files     *taskFiles // nil once the thread is gone
	listed    int64      // the last sample that listed the thread
	cpu, wait uint64
	// progress is when the thread was last seen running or not
	// runnable (monotonic ns); a runnable thread whose CPU time stands
	// still since then is waiting.
	progress int64
}

// startCollector takes a first sample now (the start signal) and keeps
// sampling until stopAndView.
func startCollector(pids []int) *collector {
	c := &collector{pids: pids, start: monoNow(), procs: map[int]*procView{}, stop: make(chan struct{}), done: make(chan struct{})}
	for _, pid := range pids {
		c.procs[pid] = &procView{dir: openTaskList(pid), base: map[int][2]uint64{}, threads: map[int]*threadView{}}
	}
	c.sample()
	go c.loop()
	return c
}

func (c *collector) loop() {
	defer close(c.done)
	t := time.NewTicker(collectInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.sample()
		}
	}
}

func (c *collector) sample() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := monoNow()
	for _, p := range c.procs {
		for _, tid := range p.dir.tids() {
			p.sampleThread(p.dir.path+"/"+strconv.Itoa(tid), tid, now, c.start)
		}
		p.closeExited(now)
		p.sum()
		p.started = true
		p.view.Samples++
		p.view.Wall = time.Duration(now - c.start)
	}
}

// sampleThread reads thread tid (its /proc directory dir) at now; the
// files opened at its first sample stay open while it is listed.
func (p *procView) sampleThread(dir string, tid int, now, start int64) {
	t, ok := p.threads[tid]
	var files *taskFiles
	if ok && t.files != nil {
		files = t.files
	} else {
		files = openTaskFiles(dir)
	}
	cpu, wait, err := files.sched(p.buf[:])
	if err != nil {
		// Exiting, or unreadable this time: its last sample stands, and
		// the next sample that lists it tries afresh.
		files.close()
		if ok {
			t.files = nil
		}
		return
	}
	if !ok {
		if !p.started {
			p.base[tid] = [2]uint64{cpu, wait}
		}
		p.threads[tid] = &threadView{files: files, listed: now, cpu: cpu, wait: wait, progress: now}
		return
	}
	t.files, t.listed = files, now
	// The state is read only for threads that did not run: most did,
	// and under emulation every read of /proc costs the workers CPU.
	if cpu != t.cpu || files.state(p.buf[:]) != 'R' {
		t.progress = now
	} else if w := time.Duration(now - t.progress); w > p.view.LongestWait {
		p.view.LongestWait, p.view.LongestWaitTID = w, tid
		p.view.LongestWaitAt = time.Duration(t.progress - start)
	}
	t.cpu, t.wait = cpu, wait
}

// closeExited closes the files of threads the sample at now no longer
// listed: they exited, and their last sample stands.
func (p *procView) closeExited(now int64) {
	for _, t := range p.threads {
		if t.files != nil && t.listed != now {
			t.files.close()
			t.files = nil
		}
	}
}

// sum totals the threads' CPU and wait time since their first sample.
func (p *procView) sum() {
	var cpu, wait uint64
	for tid, t := range p.threads {
		cpu += t.cpu - p.base[tid][0]
		wait += t.wait - p.base[tid][1]
	}
	p.view.CPUTime, p.view.RunDelay = time.Duration(cpu), time.Duration(wait)
}

// halt stops the sampling; safe to call more than once.
func (c *collector) halt() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}

// close stops the sampling and closes the files it held open; safe to
// call more than once.
func (c *collector) close() {
	c.halt()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		p.close()
	}
}

func (p *procView) close() {
	if p.dir != nil {
		p.dir.close()
	}
	for _, t := range p.threads {
		if t.files != nil {
			t.files.close()
			t.files = nil
		}
	}
}

// stopAndView takes a last sample, stops the collector, closes its files
// and returns each worker's view by pid.
func (c *collector) stopAndView() map[int]*OutsideView {
	c.halt()
	c.sample()
	defer c.close()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[int]*OutsideView, len(c.procs))
	for pid, p := range c.procs {
		v := p.view
		out[pid] = &v
	}
	return out
}
