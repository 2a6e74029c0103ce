package scenario

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// WorkType is what a worker process does. Each stresses a different
// scheduler path; see WorkTypes for the list and Describe for a summary.
// A WorkType runs with its default parameters; Work sets them.
type WorkType string

// Work types.
const (
	SpinWork          WorkType = "spin"           // pure CPU burn
	YieldWork         WorkType = "yield"          // short burns, sched_yield between
	MixedWork         WorkType = "mixed"          // 1 ms burn, 1 ms sleep
	BurstyWork        WorkType = "bursty"         // 20 ms burn, 30 ms sleep
	SleepWork         WorkType = "sleep"          // mostly asleep (10 ms), tiny burns
	TimerWork         WorkType = "timer"          // 500 µs sleeps; measures timer wake latency
	IOSyncWork        WorkType = "io_sync"        // 4 KiB write + fdatasync to a temp file
	PipePingPongWork  WorkType = "pipe_pingpong"  // two threads bounce a token over pipes
	FutexPingPongWork WorkType = "futex_pingpong" // two threads bounce a token over a futex
	WakeChainWork     WorkType = "wake_chain"     // three threads wake each other in a ring
	CachePressureWork WorkType = "cache_pressure" // strided walk over an 8 MiB buffer
	ForkChurnWork     WorkType = "fork_churn"     // fork+exit+wait children in a loop
	NiceSweepWork     WorkType = "nice_sweep"     // burn while cycling its nice value
	AffinityChurnWork WorkType = "affinity_churn" // burn while re-pinning to random CPUs
	PolicyChurnWork   WorkType = "policy_churn"   // burn while cycling normal/batch/idle(/ext)

	SequenceWork        WorkType = "sequence"         // phases (burn, sleep, yield, spin_wait, io) in order
	FutexFanOutWork     WorkType = "futex_fanout"     // one waker, N waiters on one futex
	FanOutComputeWork   WorkType = "fanout_compute"   // a parent dispatching to N children and waiting
	PageFaultChurnWork  WorkType = "page_fault_churn" // fault a region in, drop it, repeat
	MutexContentionWork WorkType = "mutex_contention" // N threads on K futex mutexes
)

// spinUnit is the number of xorshift steps in one unit of CPU work:
// ~20 µs natively, roughly 0.2–1 ms under TCG emulation.
const spinUnit = 1 << 14

// workImpl is how a work type runs inside the worker process and what a
// healthy run of it looks like.
type workImpl struct {
	desc string
	// params are the Work fields the type reads; defaults fill the ones
	// a Work leaves zero.
	params   param
	defaults Work
	// threads is the number of work threads (nil: one).
	threads func(Work) int
	// cpuBound types have equal, unbounded demand: fairness applies.
	cpuBound bool
	// wakes is the least number of wake-latency samples per second an
	// unimpeded worker records (nil: the type times no wake-ups), and
	// why, for messages ("its 20ms burn / 30ms sleep cycle").
	wakes func(Work) (perSec float64, why string)
	// allocates says the work maps memory a MemPolicy can place (nil:
	// it maps none).
	allocates func(Work) bool
	// check validates parameters beyond their sign (nil: none).
	check func(Work) error
	// setup prepares shared state and returns the per-thread loop and a
	// function that unblocks threads parked in the kernel at stop time.
	setup func(w *workerEnv) (run func(i int, tr *tracker), unblock func(), err error)
}

// wakeAllowance is added to every cycle that ends in a wake-up: the
// wake-up itself, timer slack, a slow timer and syscall path under
// emulation, and a scheduler slice of another task on a shared CPU (two
// mixed workers on one CPU of a TCG guest measured cycles of 5-9 ms for
// their nominal 2 ms), so that a healthy worker sharing its CPU meets
// its expectation.
const wakeAllowance = 4 * time.Millisecond

// cycleWakes is the wake rate of a loop that wakes once per burn+sleep.
func cycleWakes(w Work) (float64, string) {
	c := w.Burn + w.Sleep + wakeAllowance
	if w.Burn == 0 {
		return perSecond(c), fmt.Sprintf("its %s sleep cycle", w.Sleep)
	}
	return perSecond(c), fmt.Sprintf("its %s burn / %s sleep cycle", w.Burn, w.Sleep)
}

func perSecond(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(time.Second) / float64(d)
}

// handoffFloor is the slowest healthy hand-off between threads that wake
// each other, for the evidence the rate-driven types (ping-pong, rings,
// fan-outs) must produce: far below what even TCG emulation manages
// (thousands of round trips a second), far above a starved thread's.
const handoffFloor = 10 * time.Millisecond

func threadsFanout(w Work) int { return w.Fanout }

func always(Work) bool { return true }

var builtinWork = map[WorkType]workImpl{
	SpinWork: {desc: "pure CPU burn", cpuBound: true, setup: simple(func(w *workerEnv, tr *tracker) {
		w.burn(spinUnit)
		tr.tick(1)
	})},
	YieldWork: {desc: "short burns with sched_yield", params: pBurn, setup: simple(func(w *workerEnv, tr *tracker) {
		if w.work.Burn > 0 {
			w.burnFor(tr, w.work.Burn)
		} else {
			w.burn(spinUnit / 8)
			tr.tick(1)
		}
		_, _, _ = unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	})},
	MixedWork: {desc: "burn, then sleep (1 ms / 1 ms)", params: pBurn | pSleep,
		defaults: Work{Burn: time.Millisecond, Sleep: time.Millisecond}, wakes: cycleWakes, setup: burnSleep},
	BurstyWork: {desc: "long burns, longer sleeps (20 ms / 30 ms)", params: pBurn | pSleep,
		defaults: Work{Burn: 20 * time.Millisecond, Sleep: 30 * time.Millisecond}, wakes: cycleWakes, setup: burnSleep},
	SleepWork: {desc: "mostly asleep (10 ms sleeps), tiny burns", params: pSleep,
		defaults: Work{Sleep: 10 * time.Millisecond}, wakes: cycleWakes, setup: simple(func(w *workerEnv, tr *tracker) {
			w.sleep(tr, w.work.Sleep)
			w.burn(spinUnit / 16)
			tr.tick(1)
		})},
	TimerWork: {desc: "short sleeps (500 µs) measuring timer wake latency", params: pSleep,
		defaults: Work{Sleep: 500 * time.Microsecond}, wakes: cycleWakes, setup: simple(func(w *workerEnv, tr *tracker) {
			w.sleep(tr, w.work.Sleep)
			tr.tick(1)
		})},
	IOSyncWork: {desc: "write (4 KiB) + fdatasync", params: pSize, defaults: Work{Size: 4096}, check: checkIOSize, setup: setupIOSync},
	PipePingPongWork: {desc: "token over a pipe pair between two threads", threads: func(Work) int { return 2 },
		wakes: handoffWakes(1), setup: setupPipePingPong},
	FutexPingPongWork: {desc: "token over a futex between two threads", threads: func(Work) int { return 2 },
		wakes: handoffWakes(1), setup: setupFutexRing},
	WakeChainWork: {desc: "threads waking each other in a ring (3)", params: pFanout, defaults: Work{Fanout: 3},
		threads: threadsFanout, check: minFanout(2), wakes: handoffWakes(1), setup: setupFutexRing},
	CachePressureWork: {desc: "strided walk over a buffer (8 MiB)", params: pSize, defaults: Work{Size: 8 << 20},
		cpuBound: true, check: checkWalkSize, allocates: always, setup: setupCachePressure},
	ForkChurnWork: {desc: "fork+exit+wait children", setup: setupForkChurn},
	NiceSweepWork: {desc: "burn (25 ms) while cycling nice -5..19", params: pBurn,
		defaults: Work{Burn: 25 * time.Millisecond}, setup: setupNiceSweep},
	AffinityChurnWork: {desc: "burn (10 ms) while re-pinning to random CPUs", params: pBurn,
		defaults: Work{Burn: 10 * time.Millisecond}, setup: setupAffinityChurn},
	PolicyChurnWork: {desc: "burn (20 ms) while cycling normal/batch/idle(/ext)", params: pBurn,
		defaults: Work{Burn: 20 * time.Millisecond}, setup: setupPolicyChurn},
	SequenceWork: {desc: "phases (burn, sleep, yield, spin_wait, io) in order, in a loop (5 ms burn, 5 ms sleep)", params: pPhases,
		defaults: Work{Phases: []Phase{Burn(5 * time.Millisecond), Sleep(5 * time.Millisecond)}}, wakes: sequenceWakes, setup: setupSequence},
	FutexFanOutWork: {desc: "one waker, N waiters (4) woken together on one futex each round", params: pFanout | pBurn,
		defaults: Work{Fanout: 4, Burn: 2 * time.Millisecond}, threads: func(w Work) int { return 1 + w.Fanout },
		check: minFanout(1), wakes: fanoutWakes, setup: setupFutexFanOut},
	FanOutComputeWork: {desc: "a parent dispatching rounds of work to N children (4) and waiting for all", params: pFanout | pBurn | pSize,
		defaults: Work{Fanout: 4, Burn: time.Millisecond}, threads: func(w Work) int { return 1 + w.Fanout },
		check: checkFanOutCompute, wakes: fanoutWakes, allocates: func(w Work) bool { return w.Size > 0 }, setup: setupFanOutCompute},
	PageFaultChurnWork: {desc: "fault in a region (4 MiB) page by page, drop it, repeat", params: pSize,
		defaults: Work{Size: 4 << 20}, check: checkFaultSize, allocates: always, setup: setupPageFaultChurn},
	MutexContentionWork: {desc: "N threads (4) on K locks (1): hold, release, burn", params: pFanout | pLocks | pHold | pBurn,
		defaults: Work{Fanout: 4, Locks: 1, Hold: 200 * time.Microsecond, Burn: 200 * time.Microsecond},
		threads:  threadsFanout, check: minFanout(1), setup: setupMutexContention},
}

// handoffWakes is the wake floor of types whose threads wake each other:
// each thread records perRound samples per hand-off.
func handoffWakes(perRound int) func(Work) (float64, string) {
	return func(w Work) (float64, string) {
		return float64(perRound) * perSecond(handoffFloor), fmt.Sprintf("a hand-off at least every %s", handoffFloor)
	}
}

// fanoutWakes: every waiter (child) wakes once a round; a round takes
// the waker's (each child's) burn plus a hand-off.
func fanoutWakes(w Work) (float64, string) {
	round := w.Burn + handoffFloor
	if w.Type == FanOutComputeWork {
		// Children share the CPUs: in the worst case they burn in turn.
		round = time.Duration(w.Fanout)*w.Burn + handoffFloor
	}
	return float64(w.Fanout) * perSecond(round), fmt.Sprintf("%d wakers a round, a round at least every %s", w.Fanout, round)
}

func sequenceWakes(w Work) (float64, string) {
	c, n := sequenceCycle(w)
	return float64(n) * perSecond(c+time.Duration(n)*wakeAllowance), fmt.Sprintf("%d sleep(s) in its %s cycle", n, c)
}

func minFanout(n int) func(Work) error {
	return func(w Work) error {
		if w.Fanout != 0 && w.Fanout < n {
			return fmt.Errorf("work type %s needs Fanout >= %d, got %d", w.Type, n, w.Fanout)
		}
		return nil
	}
}

func checkIOSize(w Work) error {
	if w.Size != 0 && (w.Size < 512 || w.Size > 1<<20) {
		return fmt.Errorf("io_sync: Size %d out of range 512..1MiB", w.Size)
	}
	return nil
}

// lookupWork finds a built-in or registered work type.
func lookupWork(t WorkType) (workImpl, bool) {
	if impl, ok := builtinWork[t]; ok {
		return impl, true
	}
	return customImpl(t)
}

// WorkTypes lists every work type (built-in and registered) in a stable
// order.
func WorkTypes() []WorkType {
	out := make([]WorkType, 0, len(builtinWork))
	for k := range builtinWork {
		out = append(out, k)
	}
	out = append(out, customTypes()...)
	slices.Sort(out)
	return out
}

// Describe is a one-line summary of what the work type does.
func (t WorkType) Describe() string {
	impl, _ := lookupWork(t)
	return impl.desc
}

// Threads is the number of work threads a worker of this type runs with
// its default parameters.
func (t WorkType) Threads() int { return Work{Type: t}.Threads() }

// CPUBound reports whether workers of this type have equal, unbounded CPU
// demand, so that equal workers should get equal CPU time.
func (t WorkType) CPUBound() bool {
	impl, _ := lookupWork(t)
	return impl.cpuBound
}

// Validate reports an unknown work type.
func (t WorkType) Validate() error {
	if _, ok := lookupWork(t); !ok {
		return fmt.Errorf("unknown work type %q (known: %v)", t, WorkTypes())
	}
	return nil
}

// simple wraps a single-threaded loop body.
func simple(body func(w *workerEnv, tr *tracker)) func(*workerEnv) (func(int, *tracker), func(), error) {
	return func(w *workerEnv) (func(int, *tracker), func(), error) {
		return func(_ int, tr *tracker) {
			for !w.stopped() {
				body(w, tr)
			}
		}, nil, nil
	}
}

// sink keeps the burn loop from being optimised away.
var sink atomic.Uint64

func (w *workerEnv) burn(n int) {
	x := w.seed | 1
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	sink.Add(x & 1)
}

// burnFor burns CPU in units for d of wall time, ticking after each unit.
func (w *workerEnv) burnFor(tr *tracker, d time.Duration) {
	end := monoNow() + int64(d)
	for !w.stopped() && monoNow() < end {
		w.burn(spinUnit / 4)
		tr.tick(1)
	}
}

// sleep blocks for d and records how late the wake-up came.
func (w *workerEnv) sleep(tr *tracker, d time.Duration) {
	tr.block()
	t0 := monoNow()
	ts := unix.NsecToTimespec(int64(d))
	err := unix.Nanosleep(&ts, nil)
	now := monoNow()
	tr.unblock()
	if err == nil {
		tr.wakeLatency(now - t0 - int64(d))
	}
}

// burnSleep burns for Burn, then sleeps for Sleep (mixed, bursty).
func burnSleep(w *workerEnv) (func(int, *tracker), func(), error) {
	return simple(func(w *workerEnv, tr *tracker) {
		w.burnFor(tr, w.work.Burn)
		w.sleep(tr, w.work.Sleep)
	})(w)
}

// syncWriter writes blocks of one size round a 1 MiB window of an
// unlinked temp file, each followed by fdatasync.
type syncWriter struct {
	fd  int
	buf []byte
	off int64
}

func newSyncWriter(w *workerEnv, size int) (*syncWriter, error) {
	f, err := os.CreateTemp("", "ktstr-io-*")
	if err != nil {
		return nil, fmt.Errorf("creating temp file: %w", err)
	}
	// Unlinked at once: the open fd is all the worker needs, and a worker
	// killed by its group's SIGKILL leaves no file behind.
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("unlinking temp file: %w", err)
	}
	w.cleanup = append(w.cleanup, func() { f.Close() })
	return &syncWriter{fd: int(f.Fd()), buf: make([]byte, size)}, nil
}

// write writes one block and waits for it to reach the disk (a
// voluntary wait), then ticks one unit.
func (s *syncWriter) write(tr *tracker) error {
	s.buf[0]++
	if _, err := unix.Pwrite(s.fd, s.buf, s.off); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	tr.block()
	err := unix.Fdatasync(s.fd)
	tr.unblock()
	if err != nil {
		return fmt.Errorf("fdatasync: %w", err)
	}
	tr.tick(1)
	if s.off += int64(len(s.buf)); s.off+int64(len(s.buf)) > 1<<20 {
		s.off = 0
	}
	return nil
}

func setupIOSync(w *workerEnv) (func(int, *tracker), func(), error) {
	s, err := newSyncWriter(w, w.work.Size)
	if err != nil {
		return nil, nil, fmt.Errorf("io_sync: %w", err)
	}
	return func(_ int, tr *tracker) {
		for !w.stopped() {
			if err := s.write(tr); err != nil {
				w.fail(fmt.Errorf("io_sync: %w", err))
				return
			}
		}
	}, nil, nil
}

func setupPipePingPong(w *workerEnv) (func(int, *tracker), func(), error) {
	// Raw blocking pipes, not os.Pipe: the thread must sleep in the
	// kernel's pipe_read, not in the Go netpoller.
	var ab, ba [2]int
	if err := unix.Pipe2(ab[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, fmt.Errorf("pipe_pingpong: %w", err)
	}
	if err := unix.Pipe2(ba[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, fmt.Errorf("pipe_pingpong: %w", err)
	}
	readStamp := func(tr *tracker, fd int) bool {
		var b [8]byte
		tr.block()
		for n := 0; n < 8; {
			m, err := unix.Read(fd, b[n:])
			if err == unix.EINTR {
				continue
			}
			if err != nil || m == 0 {
				return false
			}
			n += m
		}
		now := monoNow()
		tr.unblock()
		if w.stopped() {
			return false
		}
		tr.wakeLatency(now - int64(binary.LittleEndian.Uint64(b[:])))
		return true
	}
	writeStamp := func(fd int) bool {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(monoNow()))
		for {
			_, err := unix.Write(fd, b[:])
			if err != unix.EINTR {
				return err == nil
			}
		}
	}
	run := func(i int, tr *tracker) {
		for !w.stopped() {
			if i == 0 {
				if !writeStamp(ab[1]) || !readStamp(tr, ba[0]) {
					return
				}
			} else {
				if !readStamp(tr, ab[0]) {
					return
				}
			}
			w.burn(spinUnit / 64)
			tr.tick(1)
			if i == 1 && !writeStamp(ba[1]) {
				return
			}
		}
	}
	unblock := func() {
		var b [8]byte
		_, _ = unix.Write(ab[1], b[:])
		_, _ = unix.Write(ba[1], b[:])
	}
	return run, unblock, nil
}

// setupFutexRing passes a token around the worker's threads: thread i
// waits on its own futex word, burns briefly, then hands the token to
// thread i+1. Two threads are futex ping-pong, more a wake chain.
func setupFutexRing(w *workerEnv) (func(int, *tracker), func(), error) {
	n := w.work.Fanout // wake_chain's ring; futex_pingpong has two
	if n == 0 {
		n = 2
	}
	words := make([]atomic.Uint32, n)
	stamps := make([]atomic.Int64, n)
	words[0].Store(1)
	run := func(i int, tr *tracker) {
		next := (i + 1) % n
		for !w.stopped() {
			waited := false
			for words[i].Load() == 0 {
				if w.stopped() {
					return
				}
				tr.block()
				futexWait(&words[i], 0, 100*time.Millisecond)
				waited = true
			}
			words[i].Store(0)
			if waited {
				now := monoNow()
				tr.unblock()
				if s := stamps[i].Load(); s != 0 {
					tr.wakeLatency(now - s)
				}
			}
			w.burn(spinUnit / 64)
			tr.tick(1)
			stamps[next].Store(monoNow())
			words[next].Store(1)
			futexWake(&words[next], 1)
		}
	}
	return run, nil, nil
}

const (
	futexWaitPrivate = 0 | 128
	futexWakePrivate = 1 | 128
)

func futexWait(addr *atomic.Uint32, val uint32, timeout time.Duration) {
	ts := unix.NsecToTimespec(int64(timeout))
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWaitPrivate, uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// futexWake wakes up to n threads waiting on addr.
func futexWake(addr *atomic.Uint32, n int) {
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWakePrivate, uintptr(n), 0, 0, 0)
}

// walkStride is the cache-line stride of the cache_pressure walk: a
// prime, so the walk visits every line of a buffer whose line count it
// does not divide, in an order the prefetcher cannot follow.
const walkStride = 4099

func checkWalkSize(w Work) error {
	if w.Size == 0 {
		return nil
	}
	if w.Size < 4096 || w.Size%64 != 0 || (w.Size/64)%walkStride == 0 {
		return fmt.Errorf("work type %s: Size %d must be at least 4096, a multiple of 64 and not a multiple of %d lines", w.Type, w.Size, walkStride)
	}
	return nil
}

func setupCachePressure(w *workerEnv) (func(int, *tracker), func(), error) {
	size := w.work.Size
	buf, err := w.mapBuffer(size)
	if err != nil {
		return nil, nil, fmt.Errorf("cache_pressure: %w", err)
	}
	return func(_ int, tr *tracker) {
		const stride = walkStride * 64
		idx := 0
		for !w.stopped() {
			for range spinUnit / 4 {
				buf[idx]++
				idx = (idx + stride) % size
			}
			tr.tick(1)
		}
	}, nil, nil
}

func setupForkChurn(w *workerEnv) (func(int, *tracker), func(), error) {
	// The child is told to chdir into a directory that does not exist, so
	// it exits right after the fork, before exec: fork, exit and reap, with
	// no program start-up to dilute the churn. ForkExec reaps it.
	attr := &syscall.ProcAttr{Dir: "/proc/self/ktstr-no-such-dir"}
	return func(_ int, tr *tracker) {
		for !w.stopped() {
			tr.block()
			_, err := syscall.ForkExec("/proc/self/exe", []string{"ktstr-fork-child"}, attr)
			tr.unblock()
			if !errors.Is(err, syscall.ENOENT) {
				w.fail(fmt.Errorf("fork_churn: fork: %v", err))
				return
			}
			tr.tick(1)
		}
	}, nil, nil
}

func setupNiceSweep(w *workerEnv) (func(int, *tracker), func(), error) {
	nices := []int{0, 5, 10, 19, 10, 5, 0, -5}
	return func(_ int, tr *tracker) {
		for k := 0; !w.stopped(); k++ {
			w.burnFor(tr, w.work.Burn)
			if err := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nices[k%len(nices)]); err != nil {
				w.fail(fmt.Errorf("nice_sweep: setpriority: %w", err))
				return
			}
		}
	}, nil, nil
}

func setupAffinityChurn(w *workerEnv) (func(int, *tracker), func(), error) {
	online, err := readCPUList("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, nil, fmt.Errorf("affinity_churn: %w", err)
	}
	cpus := online.CPUs()
	var all unix.CPUSet
	for _, c := range cpus {
		all.Set(c)
	}
	return func(_ int, tr *tracker) {
		for !w.stopped() {
			w.burnFor(tr, w.work.Burn)
			var one unix.CPUSet
			one.Set(cpus[tr.rng.IntN(len(cpus))])
			if err := unix.SchedSetaffinity(0, &one); err != nil {
				// EINVAL: that CPU is outside our cpuset. The full mask
				// always intersects it; the kernel narrows it.
				if !errors.Is(err, unix.EINVAL) || unix.SchedSetaffinity(0, &all) != nil {
					w.fail(fmt.Errorf("affinity_churn: sched_setaffinity: %w", err))
					return
				}
			}
		}
	}, nil, nil
}

func setupPolicyChurn(w *workerEnv) (func(int, *tracker), func(), error) {
	cycle := []Policy{NormalPolicy, BatchPolicy, IdlePolicy}
	if ExtAvailable() {
		cycle = append(cycle, ExtPolicy)
	}
	return func(_ int, tr *tracker) {
		for k := 0; !w.stopped(); k++ {
			// Short stints in idle: it may be starved by design.
			d := w.work.Burn
			if cycle[k%len(cycle)] == IdlePolicy {
				d = max(d/4, time.Millisecond)
			}
			w.burnFor(tr, d)
			if err := cycle[(k+1)%len(cycle)].apply(0, w.spec.Nice); err != nil {
				w.fail(fmt.Errorf("policy_churn: %w", err))
				return
			}
		}
	}, nil, nil
}
