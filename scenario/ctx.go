package scenario

import (
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/vmm"
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
	// Topology is the shape the test asked for.
	Topology vmm.Topology
	// Duration is the scenario's total run time.
	Duration time.Duration
	// CgroupRoot is the cgroup2 directory the test may use (created and
	// removed by the runner).
	CgroupRoot string
	// Emit streams a record (kind, JSON-marshalable payload) to the host.
	Emit func(kind string, payload any)
	// Scheduler is nil under EEVDF.
	Scheduler SchedulerControl
	Log       *zap.Logger
}

// Ctx is what a test body gets: the topology, cgroups, timing, and the
// results it accumulates. PLACEHOLDER: the scenario package owner expands it.
type Ctx struct {
	cfg CtxConfig
}

// NewCtx builds a Ctx for a test body.
func NewCtx(cfg CtxConfig) (*Ctx, error) { return &Ctx{cfg: cfg}, nil }
