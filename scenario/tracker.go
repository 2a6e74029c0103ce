package scenario

import (
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxGaps is how many of the longest off-CPU gaps a thread keeps. More than
// one, so the host can discard gaps a test caused on purpose (a frozen
// cgroup) and still see the next-longest.
const maxGaps = 8

// maxWakeSamples bounds the wake-latency reservoir per thread.
const maxWakeSamples = 1 << 15

// Gap is one interval in which a runnable worker thread did not run: the
// time between two consecutive work ticks, with voluntary blocking
// excluded. Times are CLOCK_MONOTONIC nanoseconds, comparable across
// processes of one boot.
type Gap struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// CPU is where the thread last ran before the gap.
	CPU int `json:"cpu"`
	TID int `json:"tid"`
}

// Len is the gap's duration.
func (g Gap) Len() time.Duration { return time.Duration(g.End - g.Start) }

// tracker is the in-worker telemetry of one work thread. Only its own
// thread touches it until the thread finishes, except work (atomic).
type tracker struct {
	tid       int // the thread the loop ran on at the last sample
	tids      [8]atomic.Int32
	work      atomic.Uint64
	last      int64 // monotonic ns of the last tick; 0 while blocked
	cpu       int
	cpus      []bool
	cpuMoves  uint64
	gaps      []Gap // longest first
	wake      []int64
	wakeSeen  uint64
	rng       *rand.Rand
	lastProbe int64
	// openSince/openCPU describe the running gap when the loop stopped
	// at the stop request (0: it was blocked or ticking).
	openSince int64
	openCPU   int
	began     int64
	// counters are the work type's own counts (WorkerReport.Counters).
	counters map[string]uint64
}

func newTracker(seed uint64) *tracker {
	return &tracker{cpu: -1, rng: rand.New(rand.NewPCG(seed, 1))}
}

// nanotime is the runtime's CLOCK_MONOTONIC read through the vDSO: no
// system call, which matters under emulation where a tick is hot.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// monoNow is CLOCK_MONOTONIC in nanoseconds, comparable across processes.
func monoNow() int64 { return nanotime() }

// seenTIDs lists the threads the loop was seen on.
func (t *tracker) seenTIDs() []int {
	var out []int
	for i := range t.tids {
		if v := t.tids[i].Load(); v != 0 {
			out = append(out, int(v))
		}
	}
	return out
}

// noteTID records the thread the loop runs on. Work goroutines are not
// locked to threads (a locked goroutine pays two thread hand-offs each
// time the Go runtime preempts it, which under CPU contention distorts
// exactly what we measure), so the thread can change, rarely.
func (t *tracker) noteTID() {
	tid := unix.Gettid()
	if tid == t.tid {
		return
	}
	t.tid = tid
	for i := range t.tids {
		v := t.tids[i].Load()
		if v == int32(tid) {
			return
		}
		if v == 0 {
			t.tids[i].Store(int32(tid))
			return
		}
	}
}

// getcpu returns the CPU the calling thread runs on.
func getcpu() int {
	var cpu uint32
	if _, _, e := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0); e != 0 {
		return -1
	}
	return int(cpu)
}

// begin marks the start of the measured window.
func (t *tracker) begin() {
	t.last = monoNow()
	t.began = t.last
	t.sampleCPU(t.last)
}

// tick records n units of on-CPU work and measures the gap since the
// previous tick.
func (t *tracker) tick(n uint64) {
	now := monoNow()
	t.openSince = 0
	if t.last != 0 && now-t.last > int64(50*time.Microsecond) {
		t.noteGap(Gap{Start: t.last, End: now, CPU: t.cpu, TID: t.tid})
	}
	t.last = now
	t.work.Add(n)
	t.sampleCPU(now)
}

// count adds n to the counter name.
func (t *tracker) count(name string, n uint64) {
	if t.counters == nil {
		t.counters = map[string]uint64{}
	}
	t.counters[name] += n
}

// block marks the start of a voluntary wait: time until unblock is not a
// gap.
func (t *tracker) block() { t.last = 0 }

// unblock ends a voluntary wait. The loop may come back from a blocking
// system call on another thread (the Go runtime hands the P over while
// it blocks), so the thread is noted every time, not only when the
// CPU sample is due: the report's CPU time counts the threads noted.
func (t *tracker) unblock() {
	t.last = monoNow()
	t.noteTID()
	t.sampleCPU(t.last)
}

// wakeLatency records one wake-up latency sample (reservoir sampling past
// maxWakeSamples keeps percentiles unbiased).
func (t *tracker) wakeLatency(ns int64) {
	ns = max(ns, 0)
	t.wakeSeen++
	if len(t.wake) < maxWakeSamples {
		t.wake = append(t.wake, ns)
		return
	}
	if j := t.rng.Uint64N(t.wakeSeen); j < maxWakeSamples {
		t.wake[j] = ns
	}
}

func (t *tracker) sampleCPU(now int64) {
	// getcpu is a real syscall on x86 without vDSO help in some kernels;
	// sampling every 200µs is plenty for isolation and migration counts.
	if now-t.lastProbe < int64(200*time.Microsecond) && t.cpu >= 0 {
		return
	}
	t.lastProbe = now
	t.noteTID()
	c := getcpu()
	if c < 0 {
		return
	}
	if t.cpu >= 0 && c != t.cpu {
		t.cpuMoves++
	}
	t.cpu = c
	if c >= len(t.cpus) {
		t.cpus = append(t.cpus, make([]bool, c+1-len(t.cpus))...)
	}
	t.cpus[c] = true
}

func (t *tracker) noteGap(g Gap) {
	if len(t.gaps) == maxGaps && g.Len() <= t.gaps[len(t.gaps)-1].Len() {
		return
	}
	i, _ := slices.BinarySearchFunc(t.gaps, g, func(a, b Gap) int {
		switch {
		case a.Len() > b.Len():
			return -1
		case a.Len() < b.Len():
			return 1
		}
		return 0
	})
	t.gaps = slices.Insert(t.gaps, i, g)
	if len(t.gaps) > maxGaps {
		t.gaps = t.gaps[:maxGaps]
	}
}

func (t *tracker) usedCPUs() CPUSet {
	var c []int
	for i, ok := range t.cpus {
		if ok {
			c = append(c, i)
		}
	}
	return NewCPUSet(c...)
}
