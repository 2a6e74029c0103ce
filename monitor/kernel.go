package monitor

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf/btf"
)

// Kernel is what the monitor needs to know about one guest kernel build:
// where its runqueues are and how struct rq is laid out.
type Kernel struct {
	syms symbols
	rq   rqLayout
	// shutdown holds the values of enum system_states that mean the
	// kernel is going down (empty: shutdown is not detected).
	shutdown shutdownStates
	// intro is what snapshots read beyond struct rq (sched_ext's
	// queues, BPF objects, schedstat), each part with what it lacks.
	intro introLayout
}

// SchedExt reports whether struct rq has sched_ext's fields.
func (k *Kernel) SchedExt() bool { return k.rq.localDSQ.size != 0 }

// kernels caches Load by file identity: a go test run boots many VMs of
// one kernel, and parsing a vmlinux's BTF takes a noticeable fraction of
// a second.
var kernels sync.Map // kernelKey → *Kernel

type kernelKey struct {
	path  string
	size  int64
	mtime time.Time
}

// Load reads the symbols and BTF of the guest kernel's vmlinux (the one
// kernel.FindVmlinux returns for a cached kernel). The error names what
// is missing when the file cannot support the monitor.
func Load(vmlinux string) (*Kernel, error) {
	st, err := os.Stat(vmlinux)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	key := kernelKey{vmlinux, st.Size(), st.ModTime()}
	if k, ok := kernels.Load(key); ok {
		return k.(*Kernel), nil
	}
	file, err := os.Open(vmlinux)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	defer file.Close()
	f, err := elf.NewFile(file)
	if err != nil {
		return nil, fmt.Errorf("monitor: %s is not an ELF vmlinux (%w): the monitor needs the vmlinux built with the bzImage", vmlinux, err)
	}
	if f.Machine != elf.EM_X86_64 {
		return nil, fmt.Errorf("monitor: %s is a %s kernel; the monitor reads x86-64 guests", vmlinux, f.Machine)
	}
	syms, err := loadSymbols(f)
	if err != nil {
		return nil, fmt.Errorf("monitor: %s: %w", vmlinux, err)
	}
	spec, err := btf.LoadSpecFromReader(file)
	if errors.Is(err, btf.ErrNotFound) {
		err = fmt.Errorf("%w (build the kernel with CONFIG_DEBUG_INFO_BTF=y)", err)
	}
	if err != nil {
		return nil, fmt.Errorf("monitor: %s: BTF: %w", vmlinux, err)
	}
	rq, err := loadRQLayout(spec)
	if err != nil {
		return nil, fmt.Errorf("monitor: %s: %w", vmlinux, err)
	}
	k := &Kernel{syms: syms, rq: rq, intro: loadIntroLayout(spec)}
	if syms.systemState != 0 {
		k.shutdown = loadShutdownStates(spec)
	}
	kernels.Store(key, k)
	return k, nil
}
