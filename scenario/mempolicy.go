package scenario

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MemPolicyMode is a NUMA memory policy mode (set_mempolicy(2), mbind(2)).
type MemPolicyMode string

// Memory policy modes.
const (
	// MemDefault leaves placement to the kernel (local node first).
	MemDefault MemPolicyMode = ""
	// MemBind allocates only from the policy's nodes.
	MemBind MemPolicyMode = "bind"
	// MemPreferred allocates from the policy's node, falling back to
	// others when it is full.
	MemPreferred MemPolicyMode = "preferred"
	// MemInterleave spreads pages round robin over the policy's nodes.
	MemInterleave MemPolicyMode = "interleave"
)

// MpolFlags are the mode flags of set_mempolicy(2)/mbind(2).
type MpolFlags uint32

// Mode flags (linux/mempolicy.h).
const (
	// MpolStaticNodes: the nodes are physical ids, kept as given when
	// the task's cpuset.mems changes.
	MpolStaticNodes MpolFlags = 1 << 15
	// MpolRelativeNodes: the nodes are indexes into the task's allowed
	// nodes (cpuset.mems), remapped when those change.
	MpolRelativeNodes MpolFlags = 1 << 14
)

// kernel mode numbers (linux/mempolicy.h).
const (
	mpolPreferred  = 1
	mpolBind       = 2
	mpolInterleave = 3
)

// MemPolicy is where a worker's memory goes: a mode, its nodes and
// flags. The zero value is the kernel's default. It is applied with
// mbind(2) to the memory the work type maps (cache_pressure,
// page_fault_churn, fanout_compute with Size, WorkLoop.Alloc), so it
// holds whichever thread faults the pages in; the numa_placement check
// then reads where the pages landed (move_pages(2)).
type MemPolicy struct {
	Mode  MemPolicyMode `json:"mode,omitempty"`
	Nodes []int         `json:"nodes,omitempty"`
	Flags MpolFlags     `json:"flags,omitempty"`
}

// BindMemory allocates only from nodes.
func BindMemory(nodes ...int) MemPolicy { return MemPolicy{Mode: MemBind, Nodes: nodes} }

// PreferMemory allocates from node first.
func PreferMemory(node int) MemPolicy { return MemPolicy{Mode: MemPreferred, Nodes: []int{node}} }

// InterleaveMemory spreads pages over nodes.
func InterleaveMemory(nodes ...int) MemPolicy {
	return MemPolicy{Mode: MemInterleave, Nodes: nodes}
}

// With returns p with flags added.
func (p MemPolicy) With(flags MpolFlags) MemPolicy { p.Flags |= flags; return p }

// IsZero reports the default policy.
func (p MemPolicy) IsZero() bool { return p.Mode == MemDefault }

// String is e.g. "bind(1)" or "interleave(0,1)+static".
func (p MemPolicy) String() string {
	if p.IsZero() {
		return "default"
	}
	nodes := make([]string, len(p.Nodes))
	for i, n := range p.Nodes {
		nodes[i] = strconv.Itoa(n)
	}
	s := fmt.Sprintf("%s(%s)", p.Mode, strings.Join(nodes, ","))
	if p.Flags&MpolStaticNodes != 0 {
		s += "+static"
	}
	if p.Flags&MpolRelativeNodes != 0 {
		s += "+relative"
	}
	return s
}

// maxNode bounds node ids (one 64-bit mask word).
const maxNode = 63

// Validate reports a policy the kernel would refuse.
func (p MemPolicy) Validate() error {
	for _, n := range p.Nodes {
		if n < 0 || n > maxNode {
			return fmt.Errorf("memory policy %s: node %d out of range 0..%d", p, n, maxNode)
		}
	}
	if p.Flags&^(MpolStaticNodes|MpolRelativeNodes) != 0 {
		return fmt.Errorf("memory policy %s: unknown flags %#x", p, uint32(p.Flags))
	}
	if p.Flags&MpolStaticNodes != 0 && p.Flags&MpolRelativeNodes != 0 {
		return fmt.Errorf("memory policy %s: static and relative nodes exclude each other", p)
	}
	switch p.Mode {
	case MemDefault:
		if len(p.Nodes) > 0 || p.Flags != 0 {
			return errors.New("the default memory policy takes no nodes or flags")
		}
	case MemBind, MemInterleave:
		if len(p.Nodes) == 0 {
			return fmt.Errorf("memory policy %s needs at least one node", p.Mode)
		}
	case MemPreferred:
		if len(p.Nodes) != 1 {
			return fmt.Errorf("memory policy preferred needs exactly one node, got %v", p.Nodes)
		}
	default:
		return fmt.Errorf("unknown memory policy mode %q (want bind, preferred or interleave)", p.Mode)
	}
	return nil
}

func (p MemPolicy) kernelMode() uintptr {
	m := map[MemPolicyMode]uintptr{MemBind: mpolBind, MemPreferred: mpolPreferred, MemInterleave: mpolInterleave}[p.Mode]
	return m | uintptr(p.Flags)
}

// bind applies p to the mapping b (mbind(2)); the default policy is a
// no-op.
func (p MemPolicy) bind(b []byte) error {
	if p.IsZero() || len(b) == 0 {
		return nil
	}
	var mask uint64
	for _, n := range p.Nodes {
		mask |= 1 << n
	}
	// maxnode counts one more bit than the mask holds, as libnuma passes it.
	_, _, e := unix.Syscall6(unix.SYS_MBIND, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), p.kernelMode(),
		uintptr(unsafe.Pointer(&mask)), maxNode+2, 0)
	if e != 0 {
		err := fmt.Errorf("mbind %s: %w", p, e)
		if e == unix.EINVAL {
			err = fmt.Errorf("%w (online nodes: %s)", err, onlineNodes())
		}
		return err
	}
	return nil
}

func onlineNodes() string {
	b, err := os.ReadFile("/sys/devices/system/node/online")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// maxPlacementPages bounds how many pages of a worker's buffers
// pageNodes asks about.
const maxPlacementPages = 4096

// pageNodes says on which NUMA node each resident page of bufs lives
// (move_pages(2) with no target nodes only reports): pages per node,
// sampled evenly when there are more than maxPlacementPages.
func pageNodes(bufs [][]byte) (map[int]uint64, error) {
	var total int
	for _, b := range bufs {
		total += len(b) / pageSize
	}
	if total == 0 {
		return nil, nil
	}
	step := max(1, total/maxPlacementPages)
	var pages []uintptr
	for _, b := range bufs {
		for off := 0; off+pageSize <= len(b); off += step * pageSize {
			pages = append(pages, uintptr(unsafe.Pointer(&b[off])))
		}
	}
	status := make([]int32, len(pages))
	_, _, e := unix.Syscall6(unix.SYS_MOVE_PAGES, 0, uintptr(len(pages)), uintptr(unsafe.Pointer(&pages[0])), 0,
		uintptr(unsafe.Pointer(&status[0])), 0)
	if e != 0 {
		return nil, fmt.Errorf("move_pages: %w", e)
	}
	out := map[int]uint64{}
	for _, s := range status {
		if s >= 0 { // negative: not resident (-ENOENT) or not ours
			out[int(s)]++
		}
	}
	return out, nil
}

// nodesOutside counts pages on nodes not in allowed.
func nodesOutside(pages map[int]uint64, allowed []int) (outside uint64, where []int) {
	for n, c := range pages {
		if !slices.Contains(allowed, n) {
			outside += c
			where = append(where, n)
		}
	}
	slices.Sort(where)
	return outside, where
}

// checkMemPolicy refuses a policy that is invalid or has nothing to
// place: the work must map memory of its own.
func checkMemPolicy(w Work, p MemPolicy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if p.IsZero() {
		return nil
	}
	impl, _ := lookupWork(w.Type)
	if impl.allocates == nil || !impl.allocates(w.withDefaults()) {
		return fmt.Errorf("memory policy %s: work %s maps no memory of its own to place; use cache_pressure, page_fault_churn, fanout_compute with Size, or custom work that calls WorkLoop.Alloc", p, w)
	}
	return nil
}
