package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The collector reads every worker thread's schedstat (and, for a thread
// that did not run, its stat) every collectInterval while the workers
// run, in the guest, beside them, in the fair class the workers it
// judges compete in. Opening each file by path (os.ReadFile: a /proc
// path walk, open, epoll_ctl, fstat, two reads, close) made one sample
// of one worker cost 3.7 ms of CPU under TCG, and six workloads' samples
// kept the runner's threads busy long enough that a 1 s hold beside
// real-time workers took 15-20 s and fair workers went unscheduled past
// the 2 s not_stuck bound. So the files stay open and each sample reads
// them with one pread each (the kernel makes a /proc file anew at offset
// 0), and the task directory with one lseek and getdents.

// maxHeldFiles bounds the descriptors all collectors of the process hold
// open together. The guest's init may have 4096 (the kernel's default
// hard RLIMIT_NOFILE, which Go raises the soft limit to) and needs most
// for what it runs (worker pipes, payloads, its own files); threads
// beyond the bound are read by path. A variable for tests.
var maxHeldFiles int64 = 1024

// heldFiles counts the descriptors taskFiles hold open.
var heldFiles atomic.Int64

// taskFiles are a thread's /proc schedstat and stat, held open.
type taskFiles struct {
	dir string // /proc/<pid>/task/<tid>
	// schedstat and stat are open descriptors, or -1 when past
	// maxHeldFiles or opening failed: the file is then read by its path.
	schedstat, stat int
}

func openTaskFiles(dir string) *taskFiles {
	f := &taskFiles{dir: dir, schedstat: -1, stat: -1}
	if heldFiles.Add(2) > maxHeldFiles {
		heldFiles.Add(-2)
		return f
	}
	open := func(name string) int {
		fd, err := unix.Open(dir+"/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			heldFiles.Add(-1)
			return -1
		}
		return fd
	}
	f.schedstat, f.stat = open("schedstat"), open("stat")
	return f
}

// read reads the start of the file (the kernel makes it anew at offset
// 0) into buf.
func (f *taskFiles) read(fd int, name string, buf []byte) ([]byte, error) {
	if fd < 0 {
		var err error
		if fd, err = unix.Open(f.dir+"/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			return nil, err
		}
		defer unix.Close(fd)
	}
	n, err := unix.Pread(fd, buf, 0)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, io.ErrUnexpectedEOF // a thread gone between open and read
	}
	return buf[:n], nil
}

// sched returns the thread's time on CPU and time runnable but waiting
// (ns); an error when the thread is gone.
func (f *taskFiles) sched(buf []byte) (cpu, wait uint64, err error) {
	b, err := f.read(f.schedstat, "schedstat", buf)
	if err != nil {
		return 0, 0, err
	}
	return parseSchedstat(b)
}

// state is the thread's scheduler state letter (R, S, D, ...); 0 when
// it is gone.
func (f *taskFiles) state(buf []byte) byte {
	b, err := f.read(f.stat, "stat", buf)
	if err != nil {
		return 0
	}
	return statState(b)
}

func (f *taskFiles) close() {
	for _, fd := range []*int{&f.schedstat, &f.stat} {
		if *fd >= 0 {
			_ = unix.Close(*fd)
			*fd = -1
			heldFiles.Add(-1)
		}
	}
}

// taskList is a process's /proc/<pid>/task, held open and listed anew for
// each sample (by path when past maxHeldFiles).
type taskList struct {
	path string
	f    *os.File
}

func openTaskList(pid int) *taskList {
	d := &taskList{path: "/proc/" + strconv.Itoa(pid) + "/task"}
	if heldFiles.Add(1) > maxHeldFiles {
		heldFiles.Add(-1)
		return d
	}
	f, err := os.Open(d.path)
	if err != nil {
		heldFiles.Add(-1)
		return d
	}
	d.f = f
	return d
}

// tids lists the process's threads now; none once it is gone.
func (d *taskList) tids() []int {
	if d.f == nil {
		return listTIDs(d.path)
	}
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	names, err := d.f.Readdirnames(-1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil
	}
	out := make([]int, 0, len(names))
	for _, n := range names {
		if tid, err := strconv.Atoi(n); err == nil {
			out = append(out, tid)
		}
	}
	return out
}

func (d *taskList) close() {
	if d.f != nil {
		_ = d.f.Close()
		d.f = nil
		heldFiles.Add(-1)
	}
}

// parseSchedstat reads "run wait slices" (ns, ns, count) from a
// schedstat file's content.
func parseSchedstat(b []byte) (cpu, wait uint64, err error) {
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("schedstat %q is not \"run wait slices\"", b)
	}
	cpu, err = strconv.ParseUint(string(f[0]), 10, 64)
	if err == nil {
		wait, err = strconv.ParseUint(string(f[1]), 10, 64)
	}
	return cpu, wait, err
}

// statState is the state letter of a stat file's content: the field
// after the command name, which may itself hold spaces and parentheses.
func statState(b []byte) byte {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}
