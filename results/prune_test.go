package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pruneRoot lays out three runs an hour apart (a, b, then a matrix m with
// two cases), a run being written and a directory that is not a run.
func pruneRoot(t *testing.T) (root string, t0 time.Time) {
	t.Helper()
	root = t.TempDir()
	base := synthRun(t, fixture{})
	t0 = base.Started
	write := func(dir string, at time.Time) {
		r := synthRun(t, fixture{})
		r.Started = at
		if err := Write(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "a"), t0)
	write(filepath.Join(root, "b"), t0.Add(time.Hour))
	write(filepath.Join(root, "m", "x"), t0.Add(2*time.Hour))
	write(filepath.Join(root, "m", "y"), t0.Add(2*time.Hour+time.Minute))
	if err := WriteIndex(filepath.Join(root, "m"), "m", []IndexCase{{Name: "x", Dir: "x"}, {Name: "y", Dir: "y"}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{".c.tmp-1", "notes"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, d, "f"), []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, t0
}

func ids(runs []RunDir) string {
	var s []string
	for _, r := range runs {
		s = append(s, r.ID)
	}
	return strings.Join(s, " ")
}

func TestPlanPrune(t *testing.T) {
	tests := []struct {
		name         string
		keep         int
		olderThan    time.Duration
		remove, kept string
	}{
		{"everything", 0, 0, "m b a", ""},
		{"keep the newest two", 2, 0, "a", "m b"},
		{"keep more than there are", 5, 0, "", "m b a"},
		{"older than 90 minutes", 0, 90 * time.Minute, "b a", "m"},
		{"both must hold", 2, 30 * time.Minute, "a", "m b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, t0 := pruneRoot(t)
			remove, keep, err := PlanPrune(root, PruneOptions{Keep: tc.keep, OlderThan: tc.olderThan, Now: t0.Add(3 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if ids(remove) != tc.remove || ids(keep) != tc.kept {
				t.Errorf("remove %q keep %q; want remove %q keep %q", ids(remove), ids(keep), tc.remove, tc.kept)
			}
		})
	}
	root, _ := pruneRoot(t)
	remove, _, _ := PlanPrune(root, PruneOptions{})
	if remove[0].ID != "m" || remove[0].Runs != 2 || remove[0].Size == 0 {
		t.Errorf("matrix: %+v; want 2 runs and a size", remove[0])
	}
	if _, _, err := PlanPrune(root, PruneOptions{Keep: -1}); err == nil {
		t.Error("keep -1: no error")
	}
}

// RemoveRuns removes what was planned and nothing else.
func TestRemoveRuns(t *testing.T) {
	root, t0 := pruneRoot(t)
	remove, _, err := PlanPrune(root, PruneOptions{Keep: 1, Now: t0.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := RemoveRuns(remove); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if got := strings.Join(left, " "); got != ".c.tmp-1 m notes" {
		t.Errorf("left %q; want the newest run, the run being written and the non-run directory", got)
	}
	// A planned directory replaced meanwhile by something else stays.
	victim := filepath.Join(root, "m")
	plan, _, _ := PlanPrune(root, PruneOptions{})
	if err := os.RemoveAll(victim); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := RemoveRuns(plan); err == nil || !strings.Contains(err.Error(), "left alone") {
		t.Errorf("removing a directory that is no longer a run: %v", err)
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("the non-run directory went: %v", err)
	}
}
