package monitor

import "time"

// HostShare is how much host CPU a VM got while its guest had work, from
// the samples' vCPU times: the measure of whether a run was starved by
// its host (other VMs, builds) rather than by the scheduler under test.
type HostShare struct {
	// Share is the host CPU time the VM's vCPUs got, divided by what they
	// could have used, over the intervals in which the guest had runnable
	// tasks: 1 is an unloaded host, 0.5 means the VM waited half the
	// time for a host CPU.
	Share float64 `json:"share"`
	// Busy is the length of those intervals.
	Busy time.Duration `json:"busy"`
	// Starved counts the intervals in which the VM got less than a
	// quarter of what it could use; LongestStarved is the longest run of
	// them back to back.
	Starved        int           `json:"starved"`
	LongestStarved time.Duration `json:"longest_starved"`
}

// starvedShare is the share below which one interval counts as starved.
const starvedShare = 0.25

// HostShare measures the run's host share. parallel is how many vCPUs the
// VMM can run at once (1 for single-threaded TCG, the vCPU count for
// KVM): in an interval where b guest CPUs had runnable tasks, the VM
// could use min(b, parallel) host CPUs. ok is false when the samples
// carry no vCPU times or the guest was never busy.
func (r *Report) HostShare(parallel int) (h HostShare, ok bool) {
	if r == nil || parallel < 1 {
		return HostShare{}, false
	}
	var got, could time.Duration
	var streak time.Duration
	for i := 1; i < len(r.Samples); i++ {
		prev, cur := r.Samples[i-1], r.Samples[i]
		dt := cur.At - prev.At
		if dt <= 0 || len(prev.CPUs) != len(cur.CPUs) {
			continue
		}
		busy := 0
		var ran time.Duration
		for c := range cur.CPUs {
			if prev.CPUs[c].VCPUTime == 0 || cur.CPUs[c].VCPUTime == 0 {
				return HostShare{}, false // the backend cannot tell
			}
			if prev.CPUs[c].NrRunning > 0 && cur.CPUs[c].NrRunning > 0 {
				busy++
			}
			ran += cur.CPUs[c].VCPUTime - prev.CPUs[c].VCPUTime
		}
		if busy == 0 {
			streak = 0
			continue
		}
		want := time.Duration(min(busy, parallel)) * dt
		ran = min(ran, want) // QEMU's I/O threads can add a little
		got += ran
		could += want
		h.Busy += dt
		if float64(ran) < starvedShare*float64(want) {
			h.Starved++
			streak += dt
			h.LongestStarved = max(h.LongestStarved, streak)
		} else {
			streak = 0
		}
	}
	if could == 0 {
		return HostShare{}, false
	}
	h.Share = float64(got) / float64(could)
	return h, true
}
