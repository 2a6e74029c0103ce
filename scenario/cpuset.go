package scenario

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CPUSet is a set of logical CPU numbers. The zero value is the empty set.
// It is immutable by convention: every operation returns a new set.
type CPUSet struct {
	cpus []int // sorted, unique
}

// NewCPUSet returns the set of the given CPUs (duplicates are fine).
func NewCPUSet(cpus ...int) CPUSet {
	c := slices.Clone(cpus)
	slices.Sort(c)
	return CPUSet{cpus: slices.Compact(c)}
}

// ParseCPUSet parses the kernel's list format ("0-3,8,10-11"); an empty
// or blank string is the empty set.
func ParseCPUSet(s string) (CPUSet, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return CPUSet{}, nil
	}
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return CPUSet{}, fmt.Errorf("cpu list %q: bad cpu %q", s, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return CPUSet{}, fmt.Errorf("cpu list %q: bad range %q", s, part)
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return NewCPUSet(cpus...), nil
}

// MustParseCPUSet is ParseCPUSet for constants; it panics on bad input.
func MustParseCPUSet(s string) CPUSet {
	c, err := ParseCPUSet(s)
	if err != nil {
		panic(err)
	}
	return c
}

// CPUs returns the members in ascending order (a copy).
func (s CPUSet) CPUs() []int { return slices.Clone(s.cpus) }

// Len is the number of CPUs in the set.
func (s CPUSet) Len() int { return len(s.cpus) }

// Empty reports whether the set has no CPUs.
func (s CPUSet) Empty() bool { return len(s.cpus) == 0 }

// Contains reports whether cpu is in the set.
func (s CPUSet) Contains(cpu int) bool {
	_, ok := slices.BinarySearch(s.cpus, cpu)
	return ok
}

// Equal reports whether both sets hold the same CPUs.
func (s CPUSet) Equal(o CPUSet) bool { return slices.Equal(s.cpus, o.cpus) }

// Union is s ∪ o.
func (s CPUSet) Union(o CPUSet) CPUSet {
	return NewCPUSet(append(slices.Clone(s.cpus), o.cpus...)...)
}

// Intersect is s ∩ o.
func (s CPUSet) Intersect(o CPUSet) CPUSet {
	var out []int
	for _, c := range s.cpus {
		if o.Contains(c) {
			out = append(out, c)
		}
	}
	return CPUSet{cpus: out}
}

// Minus is s \ o.
func (s CPUSet) Minus(o CPUSet) CPUSet {
	var out []int
	for _, c := range s.cpus {
		if !o.Contains(c) {
			out = append(out, c)
		}
	}
	return CPUSet{cpus: out}
}

// SubsetOf reports whether every CPU of s is in o.
func (s CPUSet) SubsetOf(o CPUSet) bool { return s.Minus(o).Empty() }

// String is the kernel's list format, e.g. "0-3,8"; "" for the empty set.
func (s CPUSet) String() string {
	var b strings.Builder
	for i := 0; i < len(s.cpus); {
		j := i
		for j+1 < len(s.cpus) && s.cpus[j+1] == s.cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(s.cpus[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(s.cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}

// MarshalJSON encodes the set in list format.
func (s CPUSet) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON decodes the list format.
func (s *CPUSet) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	v, err := ParseCPUSet(str)
	if err != nil {
		return err
	}
	*s = v
	return nil
}
