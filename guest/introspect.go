package guest

// Record kinds of the introspection features: snapshots the guest asks
// the host for, probe reports, and the scenario ops as they run (the
// stimulus side of a run's timeline).
const (
	// KindSnapshot asks the host to read the guest's scheduling state
	// now; payload: SnapshotRequest.
	KindSnapshot = "snapshot"
	// KindProbe carries probe counts and hits; payload: probe.Report.
	KindProbe = "probe"
	// KindOp marks a scenario op being applied; payload: OpEvent.
	KindOp = "op"
)

// SnapshotRequest is the payload of KindSnapshot.
type SnapshotRequest struct {
	// Name says which moment this is ("after cpuset change").
	Name string `json:"name"`
}

// OpEvent is the payload of KindOp.
type OpEvent struct {
	// Step is the 1-based step the op belongs to.
	Step int    `json:"step"`
	Op   string `json:"op"`
}
