package scenario

import (
	"fmt"
	"math"
)

// CpusetSpec describes a set of CPUs relative to the guest topology, so a
// scenario reads the same on any shape. Resolve turns it into a CPUSet.
type CpusetSpec struct {
	desc    string
	resolve func(*TestTopology) (CPUSet, error)
}

// String describes the spec, e.g. "llc(1)".
func (s CpusetSpec) String() string {
	if s.resolve == nil {
		return "none"
	}
	return s.desc
}

// IsZero reports whether the spec is unset (no cpuset restriction).
func (s CpusetSpec) IsZero() bool { return s.resolve == nil }

// Resolve computes the CPUs on topology t. A spec that resolves to no CPU
// is an error: an empty cpuset cannot run anything.
func (s CpusetSpec) Resolve(t *TestTopology) (CPUSet, error) {
	if s.resolve == nil {
		return t.All(), nil
	}
	c, err := s.resolve(t)
	if err != nil {
		return CPUSet{}, fmt.Errorf("cpuset %s: %w", s.desc, err)
	}
	if c.Empty() {
		return CPUSet{}, fmt.Errorf("cpuset %s is empty on this topology (%s)", s.desc, t.All())
	}
	return c, nil
}

// AllCPUs is every online CPU.
func AllCPUs() CpusetSpec {
	return CpusetSpec{"all", func(t *TestTopology) (CPUSet, error) { return t.All(), nil }}
}

// LLC is the CPUs of the i-th last-level cache.
func LLC(i int) CpusetSpec {
	return CpusetSpec{fmt.Sprintf("llc(%d)", i), func(t *TestTopology) (CPUSet, error) { return t.LLC(i) }}
}

// NUMA is the CPUs of the i-th NUMA node.
func NUMA(i int) CpusetSpec {
	return CpusetSpec{fmt.Sprintf("numa(%d)", i), func(t *TestTopology) (CPUSet, error) { return t.Node(i) }}
}

// Exact is exactly the given CPUs; each must be online.
func Exact(cpus ...int) CpusetSpec {
	want := NewCPUSet(cpus...)
	return CpusetSpec{"exact(" + want.String() + ")", func(t *TestTopology) (CPUSet, error) {
		if miss := want.Minus(t.All()); !miss.Empty() {
			return CPUSet{}, fmt.Errorf("cpus %s are not online (online: %s)", miss, t.All())
		}
		return want, nil
	}}
}

// Range is the slice [lo, hi) of all CPUs by fraction, in CPU order:
// Range(0, 0.5) is the lower half. At least one CPU is always included.
func Range(lo, hi float64) CpusetSpec {
	return CpusetSpec{fmt.Sprintf("range(%g,%g)", lo, hi), func(t *TestTopology) (CPUSet, error) {
		if lo < 0 || hi > 1 || lo >= hi {
			return CPUSet{}, fmt.Errorf("fractions must satisfy 0 <= lo < hi <= 1, got %g..%g", lo, hi)
		}
		cpus := t.All().CPUs()
		n := len(cpus)
		a := int(math.Floor(lo * float64(n)))
		b := int(math.Ceil(hi * float64(n)))
		a = min(a, n-1)
		b = max(b, a+1)
		return NewCPUSet(cpus[a:b]...), nil
	}}
}

// Disjoint is the i-th of n disjoint, contiguous, near-equal partitions of
// all CPUs (sizes differ by at most one, larger ones first).
func Disjoint(i, n int) CpusetSpec {
	return CpusetSpec{fmt.Sprintf("disjoint(%d/%d)", i, n), func(t *TestTopology) (CPUSet, error) {
		a, b, err := partition(t.NumCPUs(), i, n)
		if err != nil {
			return CPUSet{}, err
		}
		return NewCPUSet(t.All().CPUs()[a:b]...), nil
	}}
}

// Overlapping is the i-th of n partitions like Disjoint, each widened by
// frac of its size into its right-hand neighbour (the last one into its
// left-hand neighbour), so neighbours share CPUs.
func Overlapping(i, n int, frac float64) CpusetSpec {
	return CpusetSpec{fmt.Sprintf("overlap(%d/%d,%g)", i, n, frac), func(t *TestTopology) (CPUSet, error) {
		if frac <= 0 || frac > 1 {
			return CPUSet{}, fmt.Errorf("overlap fraction must be in (0,1], got %g", frac)
		}
		total := t.NumCPUs()
		a, b, err := partition(total, i, n)
		if err != nil {
			return CPUSet{}, err
		}
		extra := max(1, int(math.Round(frac*float64(b-a))))
		if i == n-1 && n > 1 {
			a = max(0, a-extra)
		} else {
			b = min(total, b+extra)
		}
		return NewCPUSet(t.All().CPUs()[a:b]...), nil
	}}
}

// Siblings is the SMT siblings of cpu (itself included).
func Siblings(cpu int) CpusetSpec {
	return CpusetSpec{fmt.Sprintf("siblings(%d)", cpu), func(t *TestTopology) (CPUSet, error) {
		if !t.All().Contains(cpu) {
			return CPUSet{}, fmt.Errorf("cpu %d is not online (online: %s)", cpu, t.All())
		}
		return t.Siblings(cpu), nil
	}}
}

// Minus is spec s without the CPUs of o.
func (s CpusetSpec) Minus(o CpusetSpec) CpusetSpec {
	return CpusetSpec{s.String() + "-" + o.String(), func(t *TestTopology) (CPUSet, error) {
		a, err := s.Resolve(t)
		if err != nil {
			return CPUSet{}, err
		}
		b, err := o.Resolve(t)
		if err != nil {
			return CPUSet{}, err
		}
		return a.Minus(b), nil
	}}
}

// partition returns the bounds [a, b) of part i of n over total items.
func partition(total, i, n int) (int, int, error) {
	switch {
	case n < 1 || i < 0 || i >= n:
		return 0, 0, fmt.Errorf("partition %d of %d: want 0 <= i < n", i, n)
	case n > total:
		return 0, 0, fmt.Errorf("%d partitions need at least %d cpus, the guest has %d", n, n, total)
	}
	base, rem := total/n, total%n
	a := i*base + min(i, rem)
	b := a + base
	if i < rem {
		b++
	}
	return a, b, nil
}
