package guest

import "time"

// Record kinds of the introspection features: snapshots the guest asks
// the host for and probe reports. (The scenario's ops, the stimulus
// side of a run's timeline, are KindOp records.)
const (
	// KindSnapshot asks the host to read the guest's scheduling state
	// now; payload: SnapshotRequest.
	KindSnapshot = "snapshot"
	// KindProbe carries probe counts and hits; payload: probe.Report.
	KindProbe = "probe"
)

// SnapshotRequest is the payload of KindSnapshot.
type SnapshotRequest struct {
	// Name says which moment this is ("after cpuset change").
	Name string `json:"name"`
}

// OpEvent is the payload of KindOp, sent once the op is applied.
type OpEvent struct {
	// Step is the 1-based step the op belongs to.
	Step int    `json:"step"`
	Op   string `json:"op"`
	// Took is how long applying it took: it began Took before the
	// record's time.
	Took time.Duration `json:"took"`
}
