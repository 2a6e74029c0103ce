package watchdog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// mapTypeStructOps is BPF_MAP_TYPE_STRUCT_OPS as /proc/PID/fdinfo shows
// it.
const mapTypeStructOps = 26

// Rewrite is one rewrite of a scheduler's ops on their way to the kernel.
type Rewrite struct {
	// Ops is the scheduler's ops name (sched_ext_ops.name).
	Ops string `json:"ops"`
	// Asked is the timeout the scheduler asked for (0: the kernel's
	// default, MaxTimeout); Set is what it got instead.
	Asked time.Duration `json:"asked"`
	Set   time.Duration `json:"set"`
}

func (r Rewrite) String() string {
	if r.Asked == 0 {
		return fmt.Sprintf("scheduler %s asked for no watchdog timeout (the kernel's %s); set %s", r.Ops, MaxTimeout, r.Set)
	}
	return fmt.Sprintf("scheduler %s asked for a %s watchdog timeout; set %s", r.Ops, r.Asked, r.Set)
}

// rewriter sets timeout_ms in every sched_ext ops value a traced process
// hands the kernel.
type rewriter struct {
	timeout time.Duration
	// mapType and layout say which maps to rewrite and where: struct_ops
	// maps with the kernel's sched_ext value layout (tests use others).
	mapType int
	layout  func() (Layout, error)
	// done receives each rewrite; failed each update it could not rewrite.
	done   func(Rewrite)
	failed func(error)
}

func newRewriter(timeout time.Duration, done func(Rewrite), failed func(error)) *rewriter {
	return &rewriter{timeout: timeout, mapType: mapTypeStructOps, layout: sync.OnceValues(KernelLayout), done: done, failed: failed}
}

// onUpdate runs at the entry of each map update: other maps pass
// untouched; a sched_ext struct_ops value gets the timeout.
func (r *rewriter) onUpdate(u mapUpdate) {
	typ, size, err := mapFdInfo(u.tid, u.fd)
	if err != nil || typ != r.mapType {
		return
	}
	l, err := r.layout()
	if err != nil {
		r.failed(err)
		return
	}
	if size != l.ValueSize {
		return // another kind of struct_ops (TCP congestion control, HID)
	}
	name := make([]byte, l.NameLen)
	was := make([]byte, 4)
	if _, err := unix.PtracePeekData(u.tid, u.value+uintptr(l.NameOff), name); err != nil {
		r.failed(fmt.Errorf("reading the ops name of pid %d: %w", u.tid, err))
		return
	}
	if _, err := unix.PtracePeekData(u.tid, u.value+uintptr(l.TimeoutOff), was); err != nil {
		r.failed(fmt.Errorf("reading ops.timeout_ms of pid %d: %w", u.tid, err))
		return
	}
	set := make([]byte, 4)
	binary.NativeEndian.PutUint32(set, uint32(r.timeout.Milliseconds()))
	if _, err := unix.PtracePokeData(u.tid, u.value+uintptr(l.TimeoutOff), set); err != nil {
		r.failed(fmt.Errorf("writing ops.timeout_ms of pid %d: %w", u.tid, err))
		return
	}
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	r.done(Rewrite{
		Ops:   string(name),
		Asked: time.Duration(binary.NativeEndian.Uint32(was)) * time.Millisecond,
		Set:   r.timeout,
	})
}

// mapFdInfo reads a BPF map's type and value size from the fdinfo of the
// thread's descriptor fd; a descriptor that is no BPF map is an error.
func mapFdInfo(tid, fd int) (typ int, valueSize uint32, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", tid, fd))
	if err != nil {
		return 0, 0, err
	}
	return parseFdInfo(string(b))
}

func parseFdInfo(s string) (typ int, valueSize uint32, err error) {
	typ = -1
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "map_type":
			typ, err = strconv.Atoi(v)
		case "value_size":
			var n uint64
			n, err = strconv.ParseUint(v, 10, 32)
			valueSize = uint32(n)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("fdinfo %s: %w", k, err)
		}
	}
	if typ < 0 {
		return 0, 0, fmt.Errorf("not a BPF map")
	}
	return typ, valueSize, nil
}
