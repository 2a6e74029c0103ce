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
)

// spinUnit is the number of xorshift steps in one unit of CPU work:
// ~20 µs natively, roughly 0.2–1 ms under TCG emulation.
const spinUnit = 1 << 14

// workImpl is how a work type runs inside the worker process.
type workImpl struct {
	desc    string
	threads int
	// cpuBound types have equal, unbounded demand: fairness applies.
	cpuBound bool
	// setup prepares shared state and returns the per-thread loop and a
	// function that unblocks threads parked in the kernel at stop time.
	setup func(w *workerEnv) (run func(i int, tr *tracker), unblock func(), err error)
}

var workImpls = map[WorkType]workImpl{
	SpinWork: {"pure CPU burn", 1, true, simple(func(w *workerEnv, tr *tracker) {
		w.burn(spinUnit)
		tr.tick(1)
	})},
	YieldWork: {"short burns with sched_yield", 1, false, simple(func(w *workerEnv, tr *tracker) {
		w.burn(spinUnit / 8)
		tr.tick(1)
		_, _, _ = unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	})},
	MixedWork: {"1 ms burn, 1 ms sleep", 1, false, simple(func(w *workerEnv, tr *tracker) {
		w.burnFor(tr, time.Millisecond)
		w.sleep(tr, time.Millisecond)
	})},
	BurstyWork: {"20 ms burn, 30 ms sleep", 1, false, simple(func(w *workerEnv, tr *tracker) {
		w.burnFor(tr, 20*time.Millisecond)
		w.sleep(tr, 30*time.Millisecond)
	})},
	SleepWork: {"10 ms sleeps, tiny burns", 1, false, simple(func(w *workerEnv, tr *tracker) {
		w.sleep(tr, 10*time.Millisecond)
		w.burn(spinUnit / 16)
		tr.tick(1)
	})},
	TimerWork: {"500 µs sleeps measuring timer wake latency", 1, false, simple(func(w *workerEnv, tr *tracker) {
		w.sleep(tr, 500*time.Microsecond)
		tr.tick(1)
	})},
	IOSyncWork:        {"4 KiB write + fdatasync", 1, false, setupIOSync},
	PipePingPongWork:  {"token over a pipe pair between two threads", 2, false, setupPipePingPong},
	FutexPingPongWork: {"token over a futex between two threads", 2, false, setupFutexRing(2)},
	WakeChainWork:     {"three threads waking each other in a ring", 3, false, setupFutexRing(3)},
	CachePressureWork: {"strided walk over 8 MiB", 1, true, setupCachePressure},
	ForkChurnWork:     {"fork+exit+wait children", 1, false, setupForkChurn},
	NiceSweepWork:     {"burn while cycling nice -5..19", 1, false, setupNiceSweep},
	AffinityChurnWork: {"burn while re-pinning to random CPUs every 10 ms", 1, false, setupAffinityChurn},
	PolicyChurnWork:   {"burn while cycling normal/batch/idle(/ext) every 20 ms", 1, false, setupPolicyChurn},
}

// WorkTypes lists every work type in a stable order.
func WorkTypes() []WorkType {
	out := make([]WorkType, 0, len(workImpls))
	for k := range workImpls {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Describe is a one-line summary of what the work type does.
func (t WorkType) Describe() string { return workImpls[t].desc }

// Threads is the number of work threads a worker of this type runs.
func (t WorkType) Threads() int { return workImpls[t].threads }

// CPUBound reports whether workers of this type have equal, unbounded CPU
// demand, so that equal workers should get equal CPU time.
func (t WorkType) CPUBound() bool { return workImpls[t].cpuBound }

// Validate reports an unknown work type.
func (t WorkType) Validate() error {
	if _, ok := workImpls[t]; !ok {
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

func setupIOSync(w *workerEnv) (func(int, *tracker), func(), error) {
	f, err := os.CreateTemp("", "ktstr-io-*")
	if err != nil {
		return nil, nil, fmt.Errorf("io_sync: creating temp file: %w", err)
	}
	// Unlinked at once: the open fd is all the worker needs, and a worker
	// killed by its group's SIGKILL leaves no file behind.
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("io_sync: unlinking temp file: %w", err)
	}
	w.cleanup = append(w.cleanup, func() { f.Close() })
	buf := make([]byte, 4096)
	fd := int(f.Fd())
	return func(_ int, tr *tracker) {
		var off int64
		for !w.stopped() {
			buf[0]++
			if _, err := unix.Pwrite(fd, buf, off); err != nil {
				w.fail(fmt.Errorf("io_sync: write: %w", err))
				return
			}
			tr.block()
			err := unix.Fdatasync(fd)
			tr.unblock()
			if err != nil {
				w.fail(fmt.Errorf("io_sync: fdatasync: %w", err))
				return
			}
			tr.tick(1)
			if off += 4096; off >= 1<<20 {
				off = 0
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

// setupFutexRing passes a token around n threads: thread i waits on its
// own futex word, burns briefly, then hands the token to thread i+1.
// n == 2 is futex ping-pong, n == 3 a wake chain.
func setupFutexRing(n int) func(*workerEnv) (func(int, *tracker), func(), error) {
	return func(w *workerEnv) (func(int, *tracker), func(), error) {
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
				futexWake(&words[next])
			}
		}
		return run, nil, nil
	}
}

const (
	futexWaitPrivate = 0 | 128
	futexWakePrivate = 1 | 128
)

func futexWait(addr *atomic.Uint32, val uint32, timeout time.Duration) {
	ts := unix.NsecToTimespec(int64(timeout))
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWaitPrivate, uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
}

func futexWake(addr *atomic.Uint32) {
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWakePrivate, 1, 0, 0, 0)
}

func setupCachePressure(w *workerEnv) (func(int, *tracker), func(), error) {
	const size = 8 << 20
	buf := make([]byte, size)
	return func(_ int, tr *tracker) {
		// A stride of 4099 cache lines visits every line of the buffer
		// (4099 is prime) in an order the prefetcher cannot follow.
		const stride = 4099 * 64
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
			w.burnFor(tr, 25*time.Millisecond)
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
			w.burnFor(tr, 10*time.Millisecond)
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
			d := 20 * time.Millisecond
			if cycle[k%len(cycle)] == IdlePolicy {
				d = 5 * time.Millisecond
			}
			w.burnFor(tr, d)
			if err := cycle[(k+1)%len(cycle)].apply(0, w.spec.Nice); err != nil {
				w.fail(fmt.Errorf("policy_churn: %w", err))
				return
			}
		}
	}, nil, nil
}
