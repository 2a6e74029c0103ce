package results

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/monitor"
	tline "github.com/ktstr-go/ktstr/timeline"
)

// What a run saw of its scheduler beyond the monitor's samples
// (snapshots, probes, the timeline) in the trace, the report and the
// directory's extra files.

// The trace's introspection process and its fixed threads; each probed
// function gets a thread from traceTIDProbes on.
const (
	tracePIDIntrospect = 4
	traceTIDSnapshots  = 1
	traceTIDFailure    = 2
	traceTIDProbes     = 10
)

// extraNames are the names of r.Extra, sorted; a name that is not a
// plain file name, or that is one of the directory's own files, is an
// error.
func extraNames(r *Run) ([]string, error) {
	names := make([]string, 0, len(r.Extra))
	for n := range r.Extra {
		if n == "" || n != filepath.Base(n) || strings.HasPrefix(n, ".") {
			return nil, fmt.Errorf("results: extra file %q: want a plain file name", n)
		}
		if n == FileResult || n == FileIndex || n == FileIndexHTML || slices.Contains(runFiles, n) {
			return nil, fmt.Errorf("results: extra file %q is one of the directory's own files", n)
		}
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

// introspection adds the snapshots, probe hits, failed checks and the
// failure to the trace. Monitor snapshots are on the monitor's clock,
// like its counters; timeline events on the VM's.
func (t *Trace) introspection(v *view) {
	m, tl := v.run.Monitor, v.run.Timeline
	if (m == nil || len(m.Snapshots) == 0) && tl == nil {
		return
	}
	t.meta(tracePIDIntrospect, 0, "process_name", "introspection: snapshots, probes, failure")
	if m != nil && len(m.Snapshots) > 0 {
		t.meta(tracePIDIntrospect, traceTIDSnapshots, "thread_name", "snapshots")
		for i := range m.Snapshots {
			s := &m.Snapshots[i]
			t.add(TraceEvent{Name: "snapshot " + s.Name, Cat: "snapshot", Ph: "i", S: "t", Ts: us(s.At), PID: tracePIDIntrospect, TID: traceTIDSnapshots,
				Args: map[string]any{"trigger": string(s.Trigger), "took_ms": ms(s.Took), "state": s.String()}})
		}
	}
	if tl == nil {
		return
	}
	t.meta(tracePIDIntrospect, traceTIDFailure, "thread_name", "failed checks and the failure")
	probeTIDs := map[string]int{}
	for _, e := range tl.Events {
		switch e.Source {
		case tline.Probe:
			tid, ok := probeTIDs[e.Group]
			if !ok {
				tid = traceTIDProbes + len(probeTIDs)
				probeTIDs[e.Group] = tid
				t.meta(tracePIDIntrospect, tid, "thread_name", "probe "+e.Group)
			}
			t.add(TraceEvent{Name: e.Group, Cat: "probe", Ph: "i", S: "t", Ts: us(e.At), PID: tracePIDIntrospect, TID: tid,
				Args: map[string]any{"call": e.Text}})
		case tline.Check:
			t.add(TraceEvent{Name: "check failed", Cat: "check", Ph: "i", S: "t", Ts: us(e.At), PID: tracePIDIntrospect, TID: traceTIDFailure,
				Args: map[string]any{"check": e.Text}})
		}
	}
	if tl.Failed {
		t.add(TraceEvent{Name: "failure", Cat: "failure", Ph: "i", S: "g", Ts: us(tl.FailedAt), PID: tracePIDIntrospect, TID: traceTIDFailure,
			Args: map[string]any{"why": tl.Why}})
	}
}

// snapshotRow is one snapshot in the report.
type snapshotRow struct {
	At      string
	Name    string
	Trigger monitor.Trigger
	Took    time.Duration
	Text    string
}

func snapshotRows(m *monitor.Report) []snapshotRow {
	if m == nil {
		return nil
	}
	out := make([]snapshotRow, len(m.Snapshots))
	for i := range m.Snapshots {
		s := &m.Snapshots[i]
		out[i] = snapshotRow{At: secs(s.At), Name: s.Name, Trigger: s.Trigger, Took: s.Took, Text: s.String()}
	}
	return out
}
