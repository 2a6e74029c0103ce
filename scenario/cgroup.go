package scenario

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr/internal/cgroupfs"
)

// Cgroups manages cgroup v2 directories below one root (CtxConfig's
// CgroupRoot). Names are paths relative to the root ("cg_0", "outer/a").
// It remembers what it created, the cpusets it set and which workloads it
// placed where, so checks know each worker's allowed CPUs.
type Cgroups struct {
	root string

	mu      sync.Mutex
	created []string // creation order
	cpusets map[string]CPUSet
	members map[string][]*Workload
}

// NewCgroups manages cgroups below root, which must exist.
func NewCgroups(root string) *Cgroups {
	return &Cgroups{root: root, cpusets: map[string]CPUSet{}, members: map[string][]*Workload{}}
}

// Root is the directory the cgroups live under.
func (c *Cgroups) Root() string { return c.root }

// Path is the directory of cgroup name.
func (c *Cgroups) Path(name string) string { return filepath.Join(c.root, name) }

// ErrNoCgroups is what cgroup operations return in a run without a
// cgroup root (CtxConfig.NoCgroups).
var ErrNoCgroups = errors.New("this run has no cgroup root: a host-only test gets cgroups only as root on a cgroup2 host (/sys/fs/cgroup)")

func (c *Cgroups) check(name string) error {
	if c.root == "" {
		return ErrNoCgroups
	}
	return validName(name)
}

func validName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || slices.Contains(strings.Split(name, "/"), "..") {
		return fmt.Errorf("cgroup name %q: want a relative path like \"cg_0\" or \"outer/a\"", name)
	}
	return nil
}

// Create makes cgroup name and any missing parents, enabling the cpu and
// cpuset controllers in each parent so the child gets cpu.* and cpuset.*
// files. A parent with controllers enabled cannot hold tasks itself (the
// cgroup v2 "no internal processes" rule): put workers in leaves.
func (c *Cgroups) Create(name string) error {
	if err := c.check(name); err != nil {
		return err
	}
	parts := strings.Split(name, "/")
	for i := range parts {
		sub := strings.Join(parts[:i+1], "/")
		parent := filepath.Dir(c.Path(sub))
		if i > 0 {
			if err := cgroupfs.EnableControllers(parent); err != nil {
				return err
			}
		}
		if err := os.Mkdir(c.Path(sub), 0o755); err != nil {
			if errors.Is(err, fs.ErrExist) && sub != name {
				continue
			}
			return fmt.Errorf("creating cgroup %s: %w", sub, err)
		}
		c.mu.Lock()
		c.created = append(c.created, sub)
		c.mu.Unlock()
	}
	return nil
}

// Exists reports whether cgroup name exists.
func (c *Cgroups) Exists(name string) bool {
	_, err := os.Stat(c.Path(name))
	return err == nil
}

func (c *Cgroups) write(name, file, value string) error {
	if err := c.check(name); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.Path(name), file), []byte(value), 0); err != nil {
		return fmt.Errorf("writing %q to cgroup %s/%s: %w", value, name, file, err)
	}
	return nil
}

// Read returns the trimmed content of a cgroup file, e.g. "cpu.stat".
func (c *Cgroups) Read(name, file string) (string, error) {
	b, err := os.ReadFile(filepath.Join(c.Path(name), file))
	if err != nil {
		return "", fmt.Errorf("reading cgroup %s/%s: %w", name, file, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// SetCpuset restricts cgroup name to cpus (cpuset.cpus).
func (c *Cgroups) SetCpuset(name string, cpus CPUSet) error {
	if cpus.Empty() {
		return fmt.Errorf("cgroup %s: refusing an empty cpuset; use ClearCpuset to lift the restriction", name)
	}
	if err := c.write(name, "cpuset.cpus", cpus.String()); err != nil {
		return err
	}
	c.mu.Lock()
	c.cpusets[name] = cpus
	members := slices.Clone(c.members[name])
	c.mu.Unlock()
	for _, w := range members {
		w.cpusetChanged(cpus, true)
	}
	return nil
}

// ClearCpuset lifts the restriction: the cgroup inherits its parent's CPUs.
func (c *Cgroups) ClearCpuset(name string) error {
	if err := c.write(name, "cpuset.cpus", ""); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.cpusets, name)
	members := slices.Clone(c.members[name])
	c.mu.Unlock()
	bound, bounded := c.effectiveBound(name)
	for _, w := range members {
		w.cpusetChanged(bound, bounded)
	}
	return nil
}

// Cpuset is the cpuset set on name through this manager, if any.
func (c *Cgroups) Cpuset(name string) (CPUSet, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.cpusets[name]
	return s, ok
}

// effectiveBound is the nearest cpuset set on name or an ancestor.
func (c *Cgroups) effectiveBound(name string) (CPUSet, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for n := name; n != "." && n != "/" && n != ""; n = filepath.Dir(n) {
		if s, ok := c.cpusets[n]; ok {
			return s, true
		}
	}
	return CPUSet{}, false
}

// SetMems restricts the cgroup's memory to NUMA nodes (cpuset.mems).
func (c *Cgroups) SetMems(name string, nodes []int) error {
	return c.write(name, "cpuset.mems", NewCPUSet(nodes...).String())
}

// SetWeight sets cpu.weight (1..10000, default 100).
func (c *Cgroups) SetWeight(name string, weight int) error {
	if weight < 1 || weight > 10000 {
		return fmt.Errorf("cgroup %s: cpu.weight %d out of range 1..10000", name, weight)
	}
	return c.write(name, "cpu.weight", strconv.Itoa(weight))
}

// SetMax sets cpu.max: at most quota of CPU time per period. A zero quota
// removes the limit. Needs CONFIG_CFS_BANDWIDTH.
func (c *Cgroups) SetMax(name string, quota, period time.Duration) error {
	if period <= 0 {
		period = 100 * time.Millisecond
	}
	q := "max"
	if quota > 0 {
		q = strconv.FormatInt(quota.Microseconds(), 10)
	}
	return c.write(name, "cpu.max", fmt.Sprintf("%s %d", q, period.Microseconds()))
}

// Freeze stops every task in the cgroup and waits until the kernel
// reports it frozen.
func (c *Cgroups) Freeze(name string) error { return c.freeze(name, true) }

// Thaw lets a frozen cgroup run again.
func (c *Cgroups) Thaw(name string) error { return c.freeze(name, false) }

func (c *Cgroups) freeze(name string, on bool) error {
	v := map[bool]string{true: "1", false: "0"}[on]
	if err := c.write(name, "cgroup.freeze", v); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev, err := c.Read(name, "cgroup.events")
		if err != nil {
			return err
		}
		if strings.Contains(ev, "frozen "+v) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: cgroup.events still %q 10 s after writing cgroup.freeze=%s", name, ev, v)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// MoveTasks moves processes (all their threads) into cgroup name.
func (c *Cgroups) MoveTasks(name string, pids []int) error {
	for _, pid := range pids {
		if err := c.write(name, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// Move puts every process of w into cgroup name and records the cgroup's
// cpuset as the CPUs w's workers may use.
func (c *Cgroups) Move(w *Workload, name string) error {
	if err := c.MoveTasks(name, w.PIDs()); err != nil {
		return err
	}
	c.mu.Lock()
	for n, ws := range c.members {
		c.members[n] = slices.DeleteFunc(ws, func(x *Workload) bool { return x == w })
	}
	c.members[name] = append(c.members[name], w)
	c.mu.Unlock()
	bound, bounded := c.effectiveBound(name)
	w.placed(name, bound, bounded)
	return nil
}

// Members are the workloads placed in cgroup name through Move.
func (c *Cgroups) Members(name string) []*Workload {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.members[name])
}

// Procs lists the processes in cgroup name.
func (c *Cgroups) Procs(name string) ([]int, error) {
	s, err := c.Read(name, "cgroup.procs")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(s) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// Remove deletes cgroup name and its descendants made here. Tasks still
// inside must be gone first (stop or kill their workloads).
func (c *Cgroups) Remove(name string) error {
	if err := validName(name); err != nil {
		return err
	}
	c.mu.Lock()
	var victims []string
	for _, n := range c.created {
		if n == name || strings.HasPrefix(n, name+"/") {
			victims = append(victims, n)
		}
	}
	c.mu.Unlock()
	if len(victims) == 0 {
		victims = []string{name}
	}
	var errs []error
	for _, n := range slices.Backward(victims) {
		if err := rmdirRetry(c.Path(n)); err != nil {
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", n, err))
			continue
		}
		c.forget(n)
	}
	return errors.Join(errs...)
}

func (c *Cgroups) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.created = slices.DeleteFunc(c.created, func(n string) bool { return n == name })
	delete(c.cpusets, name)
	delete(c.members, name)
}

// rmdirRetry tolerates the short window in which a killed task still
// counts as a member (EBUSY until it is reaped).
func rmdirRetry(dir string) error {
	var err error
	for range 200 {
		err = os.Remove(dir)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return err
}

// RemoveAll deletes every cgroup this manager created, deepest first.
func (c *Cgroups) RemoveAll() error {
	c.mu.Lock()
	all := slices.Clone(c.created)
	c.mu.Unlock()
	slices.SortStableFunc(all, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	var errs []error
	for _, n := range all {
		if err := rmdirRetry(c.Path(n)); err != nil {
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", n, err))
			continue
		}
		c.forget(n)
	}
	return errors.Join(errs...)
}
