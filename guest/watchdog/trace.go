package watchdog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapUpdate is one bpf(BPF_MAP_UPDATE_ELEM) call a traced thread is
// about to make, stopped at syscall entry.
type mapUpdate struct {
	tid int
	// pid is the traced process (its file descriptors name the map).
	pid int
	// fd is the map's file descriptor in pid; value is the address of the
	// value buffer in the thread's memory.
	fd    int
	value uintptr
}

// syscallInfo is struct ptrace_syscall_info (Linux 5.3), large enough for
// every variant.
type syscallInfo struct {
	Op   uint8
	_    [3]uint8
	Arch uint32
	IP   uint64
	SP   uint64
	Nr   uint64
	Args [6]uint64
	_    [8]uint8
}

// traceOptions follow every thread, report syscall stops as SIGTRAP|0x80,
// keep exec from raising a stray SIGTRAP, and kill the tracee if the
// tracer dies (so a scheduler never outlives its supervisor untraced).
const traceOptions = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACECLONE |
	unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_EXITKILL

// trace starts cmd traced and runs it to the end, calling started with
// its pid once it runs and onUpdate at the entry of every
// bpf(BPF_MAP_UPDATE_ELEM) any of its threads makes.
// It returns how the process ended. It locks the calling goroutine to its
// thread for good: ptrace requests must come from the tracing thread,
// and the thread is not reused after the goroutine ends.
func trace(cmd *exec.Cmd, started func(pid int), onUpdate func(mapUpdate)) (unix.WaitStatus, error) {
	runtime.LockOSThread()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Ptrace = true
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	started(pid)
	var ws unix.WaitStatus
	// The child stops with SIGTRAP once it has exec'ed.
	if _, err := wait(pid, &ws); err != nil {
		return 0, fmt.Errorf("waiting for %s to start: %w", cmd.Path, err)
	}
	if !ws.Stopped() {
		return ws, nil
	}
	if err := unix.PtraceSetOptions(pid, traceOptions); err != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		return 0, fmt.Errorf("ptrace options on %d: %w", pid, err)
	}
	t := &tracee{pid: pid, known: map[int]bool{pid: true}, onUpdate: onUpdate}
	t.resume(pid, 0)
	for {
		tid, err := wait(-1, &ws)
		if err != nil {
			return 0, fmt.Errorf("tracing %s: %w", cmd.Path, err)
		}
		if ws.Exited() || ws.Signaled() {
			delete(t.known, tid)
			if tid == pid {
				return ws, nil
			}
			continue
		}
		if ws.Stopped() {
			t.resume(tid, t.stopped(tid, ws))
		}
	}
}

func wait(pid int, ws *unix.WaitStatus) (int, error) {
	for {
		tid, err := unix.Wait4(pid, ws, unix.WALL, nil)
		if !errors.Is(err, unix.EINTR) {
			return tid, err
		}
	}
}

// tracee is the traced process's threads.
type tracee struct {
	pid      int
	known    map[int]bool
	onUpdate func(mapUpdate)
}

// stopped handles one stop and returns the signal to deliver when the
// thread resumes (0 for none).
func (t *tracee) stopped(tid int, ws unix.WaitStatus) int {
	sig := ws.StopSignal()
	switch {
	case sig == unix.SIGTRAP|0x80:
		t.syscallStop(tid)
		return 0
	case sig == unix.SIGTRAP && ws.TrapCause() > 0:
		// A clone or exec event: the new thread shows up by itself.
		return 0
	case sig == unix.SIGSTOP && !t.known[tid]:
		// A new thread's first stop, which the tracer owes it.
		t.known[tid] = true
		return 0
	}
	t.known[tid] = true
	return int(sig)
}

func (t *tracee) resume(tid, sig int) {
	// ESRCH: the thread was killed meanwhile; its exit is reported next.
	_ = unix.PtraceSyscall(tid, sig)
}

// syscallStop reports a bpf(BPF_MAP_UPDATE_ELEM) entry to onUpdate.
func (t *tracee) syscallStop(tid int) {
	var info syscallInfo
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid),
		unsafe.Sizeof(info), uintptr(unsafe.Pointer(&info)), 0, 0)
	if errno != 0 || info.Op != unix.PTRACE_SYSCALL_INFO_ENTRY {
		return
	}
	if info.Nr != unix.SYS_BPF || info.Args[0] != unix.BPF_MAP_UPDATE_ELEM {
		return
	}
	// union bpf_attr for map updates: map_fd (u32), pad, key (u64),
	// value (u64), flags (u64).
	var attr [24]byte
	if _, err := unix.PtracePeekData(tid, uintptr(info.Args[1]), attr[:]); err != nil {
		return
	}
	t.onUpdate(mapUpdate{
		tid:   tid,
		pid:   t.pid,
		fd:    int(binary.NativeEndian.Uint32(attr[0:])),
		value: uintptr(binary.NativeEndian.Uint64(attr[16:])),
	})
}
