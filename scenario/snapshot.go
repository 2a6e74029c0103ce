package scenario

import (
	"time"

	"github.com/ktstr-go/ktstr/guest"
)

// endSnapshotGrace is how long a scenario waits after asking for its
// end-of-scenario snapshot before it stops the workers: the host takes
// the snapshot when the request reaches it, and the state it should
// show is the one the workers are still in.
const endSnapshotGrace = 100 * time.Millisecond

// EndSnapshotName names the snapshot every scenario asks for before it
// stops its workers, so a check that fails has the state it judged.
const EndSnapshotName = "end of scenario, before the workers stop"

// Snapshot asks the host to read the guest's scheduling state at this
// point of the step: sched_ext's dispatch queues with the tasks on them,
// each CPU's running task, the scheduler's BPF maps, schedstat. The host
// reads guest memory from outside, so the scheduler under test cannot
// hide or disturb it; the snapshot lands in the run's results under
// name. The request travels on the data channel, so put the op before
// the step's hold: the state is taken while the step holds.
func Snapshot(name string) Op {
	return Op{"snapshot(" + name + ")", func(r *run) error {
		r.ctx.Snapshot(name)
		return nil
	}}
}

// Snapshot asks the host for a snapshot now, from a test body that does
// not use steps (see the Snapshot op).
func (c *Ctx) Snapshot(name string) {
	c.emit(guest.KindSnapshot, guest.SnapshotRequest{Name: name})
}

// endSnapshot asks for the end-of-scenario snapshot and gives the host a
// moment to take it.
func (r *run) endSnapshot() {
	if r.ctx.emitFn == nil {
		return
	}
	r.ctx.Snapshot(EndSnapshotName)
	time.Sleep(endSnapshotGrace)
}
