package scenario

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseSchedstat(t *testing.T) {
	for _, tc := range []struct {
		in        string
		cpu, wait uint64
		ok        bool
	}{
		{"123 456 7\n", 123, 456, true},
		{"123 456\n", 123, 456, true},
		{"123\n", 0, 0, false},
		{"x 1 2\n", 0, 0, false},
		{"", 0, 0, false},
	} {
		cpu, wait, err := parseSchedstat([]byte(tc.in))
		if (err == nil) != tc.ok || cpu != tc.cpu || wait != tc.wait {
			t.Errorf("parseSchedstat(%q) = %d, %d, %v; want %d, %d, ok %v", tc.in, cpu, wait, err, tc.cpu, tc.wait, tc.ok)
		}
	}
}

func TestStatState(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want byte
	}{
		{"12 (init) R 1 12", 'R'},
		{"12 (a (b) c) S 1 12", 'S'},
		{"12 (x) D", 'D'},
		{"12 (x)", 0},
		{"garbage", 0},
	} {
		if got := statState([]byte(tc.in)); got != tc.want {
			t.Errorf("statState(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestTaskFilesRead reads this thread's files held open and by path
// (the fallback when no descriptor is to be had): both see the CPU time
// it burns between two reads, and see it running.
func TestTaskFilesRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(dir string) *taskFiles
	}{
		{"held open", openTaskFiles},
		{"by path", func(dir string) *taskFiles { return &taskFiles{dir: dir, schedstat: -1, stat: -1} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			files := tc.open("/proc/self/task/" + strconv.Itoa(unix.Gettid()))
			defer files.close()
			var buf [512]byte
			cpu0, _, err := files.sched(buf[:])
			if err != nil {
				t.Fatal(err)
			}
			burnThreadCPU(t, 20*time.Millisecond)
			cpu1, _, err := files.sched(buf[:])
			if err != nil {
				t.Fatal(err)
			}
			if cpu1 < cpu0+uint64(20*time.Millisecond) {
				t.Errorf("schedstat cpu went from %d to %d ns over a 20 ms burn", cpu0, cpu1)
			}
			if st := files.state(buf[:]); st != 'R' {
				t.Errorf("state of the running thread = %q, want 'R'", st)
			}
		})
	}
}

// TestTaskListTIDs: the held-open task directory lists the same threads
// as a fresh read, every time it is asked.
func TestTaskListTIDs(t *testing.T) {
	l := openTaskList(os.Getpid())
	defer l.close()
	for range 3 {
		got, want := l.tids(), listTIDs("/proc/self/task")
		slices.Sort(got)
		slices.Sort(want)
		if len(got) == 0 || !slices.Equal(got, want) {
			t.Fatalf("tids() = %v, /proc/self/task lists %v", got, want)
		}
	}
}

// TestCollectorHeldFilesBound: past maxHeldFiles the collector reads
// threads by path, still samples every one, and gives back every
// descriptor it held.
func TestCollectorHeldFilesBound(t *testing.T) {
	held0 := heldFiles.Load()
	defer func(m int64) { maxHeldFiles = m }(maxHeldFiles)
	maxHeldFiles = held0 + 3 // the task list and one thread's two files
	c := startCollector([]int{os.Getpid()})
	c.halt()
	p := c.procs[os.Getpid()]
	open := 0
	for _, th := range p.threads {
		if th.files.schedstat >= 0 {
			open++
		}
	}
	if p.dir.f == nil || open != 1 || len(p.threads) < 2 {
		t.Errorf("held: task list %v, %d of %d threads' files; want the list and 1", p.dir.f != nil, open, len(p.threads))
	}
	if want := listTIDs("/proc/self/task"); len(p.threads) < len(want)-1 {
		t.Errorf("sampled %d threads of %d", len(p.threads), len(want))
	}
	c.sample() // by path again: the same threads, no error
	c.close()
	if got := heldFiles.Load(); got != held0 {
		t.Errorf("%d descriptors held after close, %d before", got, held0)
	}
}

// TestCollectorThreadExit: a thread born after the start signal is
// counted from its birth, its files are closed when it exits, its time
// stays counted, and the collector leaves no descriptor open.
func TestCollectorThreadExit(t *testing.T) {
	fds0 := openFDs(t)
	c := startCollector([]int{os.Getpid()})
	defer c.close()
	c.halt() // sampled by hand below

	tid, exit := burnerThread(t, 30*time.Millisecond)
	c.sample()
	p := c.procs[os.Getpid()]
	th := p.threads[tid]
	if th == nil || th.files == nil {
		t.Fatalf("thread %d not sampled with open files: %+v", tid, th)
	}
	close(exit)
	for i := 0; ; i++ {
		if _, err := os.Stat("/proc/self/task/" + strconv.Itoa(tid)); err != nil {
			break
		}
		if i == 200 {
			t.Fatalf("thread %d did not exit", tid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.sample()
	if th.files != nil {
		t.Errorf("files of exited thread %d still open", tid)
	}
	views := c.stopAndView()
	if v := views[os.Getpid()]; v == nil || v.CPUTime < 30*time.Millisecond {
		t.Errorf("view %+v lost the exited thread's 30 ms burn", v)
	}
	if fds := openFDs(t); fds != fds0 {
		t.Errorf("%d descriptors open after the collector, %d before", fds, fds0)
	}
}

// burnerThread starts a thread that burns d of CPU, then waits; it exits
// when exit is closed.
func burnerThread(t *testing.T, d time.Duration) (tid int, exit chan struct{}) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	for range 10 {
		tidc, exit := make(chan int), make(chan struct{})
		go func() {
			runtime.LockOSThread()
			if unix.Gettid() == os.Getpid() {
				// The main thread outlives its goroutine: keep it busy
				// so that the next goroutine gets another thread.
				tidc <- 0
				<-release
				runtime.UnlockOSThread()
				return
			}
			// Never unlocked: the thread exits with the goroutine.
			burnThreadCPU(t, d)
			tidc <- unix.Gettid()
			<-exit
		}()
		if tid := <-tidc; tid != 0 {
			return tid, exit
		}
	}
	t.Fatal("no goroutine ran on a thread other than the main one")
	return 0, nil
}

// burnThreadCPU spins until the calling thread has run d on a CPU
// (wall time would depend on the machine's load).
func burnThreadCPU(t *testing.T, d time.Duration) {
	now := func() time.Duration {
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
			t.Error(err)
			return 1 << 62
		}
		return time.Duration(ts.Nano())
	}
	for end := now() + d; now() < end; {
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// BenchmarkCollectorSample is one sample of this process's threads, the
// collector's recurring cost per worker process.
func BenchmarkCollectorSample(b *testing.B) {
	c := startCollector([]int{os.Getpid()})
	c.halt()
	defer c.close()
	b.ReportAllocs()
	for b.Loop() {
		c.sample()
	}
}
