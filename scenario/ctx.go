package scenario

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

// SchedulerControl lets scenario ops attach, detach and check the
// scheduler under test. The guest runner provides it; nil under EEVDF.
type SchedulerControl interface {
	// Name is the sched_ext ops name the scheduler registers.
	Name() string
	Attach() error
	Detach() error
	// Alive returns nil while the scheduler is attached and healthy, or an
	// error carrying the sched_ext exit reason.
	Alive() error
}

// CtxConfig is what the guest runner knows when a test body starts.
type CtxConfig struct {
	// Topology is the shape the test asked for; the guest's real topology
	// (from sysfs) is checked against it. Zero skips the comparison.
	Topology topology.Topology
	// Duration is the scenario's total run time.
	Duration time.Duration
	// CgroupRoot is the cgroup2 directory the test may use (created and
	// removed by the runner, with +cpu +cpuset in its subtree_control).
	CgroupRoot string
	// Emit streams a record (kind, JSON-marshalable payload) to the host;
	// nil drops records.
	Emit func(kind string, payload any)
	// Scheduler is nil under EEVDF.
	Scheduler SchedulerControl
	Log       *zap.Logger

	// Checks replaces DefaultAssert() as the starting bounds (e.g. a
	// scheduler's own overrides); nil keeps the defaults.
	Checks *Assert
	// Settle is the pause between creating a step's cgroups and starting
	// its workers; zero means DefaultSettle.
	Settle time.Duration
	// SysfsRoot is where sysfs is found ("/" when empty; tests use a fake
	// tree).
	SysfsRoot string
	// NoCgroups runs the body without a cgroup root (a host-only test on
	// a host without a usable cgroup2 hierarchy): every cgroup operation
	// fails with ErrNoCgroups.
	NoCgroups bool
}

// DefaultSettle lets a scheduler see new cgroups before tasks arrive.
const DefaultSettle = 50 * time.Millisecond

// Ctx is what a test body gets: the guest's topology, its cgroups, the
// timing, the bounds checks use, and the results gathered so far.
// A test body may change Duration, Settle and Checks before executing.
type Ctx struct {
	Topo      *TestTopology
	Cgroups   *Cgroups
	Duration  time.Duration
	Settle    time.Duration
	Checks    Assert
	Scheduler SchedulerControl
	Log       *zap.Logger

	emitFn      func(string, any)
	mu          sync.Mutex
	result      AssertResult
	workloads   []*Workload
	lastReports []WorkerReport
}

// NewCtx reads the guest topology and prepares the cgroup manager. A
// topology that differs from cfg.Topology is recorded as a failed
// "topology" check (the VM did not give the test what it asked for).
func NewCtx(cfg CtxConfig) (*Ctx, error) {
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	root := cfg.SysfsRoot
	if root == "" {
		root = "/"
	}
	topo, err := ReadTopology(root)
	if err != nil {
		return nil, fmt.Errorf("reading guest topology: %w", err)
	}
	switch {
	case cfg.NoCgroups:
		cfg.CgroupRoot = ""
	case cfg.CgroupRoot == "":
		return nil, errors.New("CtxConfig.CgroupRoot is empty: the runner must create a cgroup2 directory for the test")
	default:
		if st, err := os.Stat(cfg.CgroupRoot); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("cgroup root %s is not a directory: %v", cfg.CgroupRoot, err)
		}
	}
	c := &Ctx{
		Topo:      topo,
		Cgroups:   NewCgroups(cfg.CgroupRoot),
		Duration:  cfg.Duration,
		Settle:    cfg.Settle,
		Checks:    DefaultAssert(),
		Scheduler: cfg.Scheduler,
		Log:       log,
		emitFn:    cfg.Emit,
	}
	if cfg.Checks != nil {
		c.Checks = *cfg.Checks
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.Duration <= 0 {
		c.Duration = 4 * time.Second
	}
	c.emit(guest.KindTopology, topo.Describe())
	var res AssertResult
	if why := topo.Mismatch(cfg.Topology); why != "" {
		res.Add(Detail{Check: "topology", Verdict: verdict.Fail, Worker: -1, Message: why})
	} else if cfg.Topology != (topology.Topology{}) {
		res.Add(Detail{Check: "topology", Verdict: verdict.Pass, Worker: -1, Message: "as requested"})
	}
	if res.Checks != nil {
		c.Record(res)
	}
	return c, nil
}

func (c *Ctx) emit(kind string, payload any) {
	if c.emitFn != nil {
		c.emitFn(kind, payload)
	}
}

// Emit sends a record to the host (kind from the guest package's Kind*
// constants).
func (c *Ctx) Emit(kind string, payload any) { c.emit(kind, payload) }

// Record merges res into the context's result and sends it to the host.
func (c *Ctx) Record(res AssertResult) {
	c.mu.Lock()
	c.result.Merge(res)
	c.mu.Unlock()
	c.emit(guest.KindAssert, res)
}

// Result is the merged result of every check run so far.
func (c *Ctx) Result() AssertResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.result
	r.Details = slices.Clone(r.Details)
	r.Skipped = slices.Clone(r.Skipped)
	return r
}

// Err is Result().Err(): non-nil when any check so far failed.
func (c *Ctx) Err() error { return c.Result().Err() }

// Reports are the worker reports of the last scenario executed.
func (c *Ctx) Reports() []WorkerReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lastReports)
}

// Spawn is SpawnWorkload, with the workload killed by Close if the test
// leaves it running.
func (c *Ctx) Spawn(cfg WorkloadConfig) (*Workload, error) {
	if cfg.Log == nil {
		cfg.Log = c.Log
	}
	w, err := SpawnWorkload(cfg)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.workloads = append(c.workloads, w)
	c.mu.Unlock()
	return w, nil
}

// Check judges reports with c.Checks, records and returns the result.
func (c *Ctx) Check(reports []WorkerReport) AssertResult {
	res := c.Checks.Evaluate(reports)
	c.Record(res)
	return res
}

// Close kills every worker the context spawned and removes every cgroup
// it created. Safe to call more than once.
func (c *Ctx) Close() error {
	c.mu.Lock()
	ws := c.workloads
	c.workloads = nil
	c.mu.Unlock()
	for _, w := range ws {
		w.Kill()
	}
	if err := c.Cgroups.RemoveAll(); err != nil {
		return fmt.Errorf("cleaning up cgroups: %w", err)
	}
	return nil
}
