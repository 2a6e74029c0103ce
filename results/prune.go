package results

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// RunDir is one run kept directly under a runs root: a run's results
// directory, or a multi-run directory (a matrix) with its cases.
type RunDir struct {
	// ID is the directory's name under the root.
	ID  string
	Dir string
	// Started is when its run (its newest case) started.
	Started time.Time
	// Runs counts the runs in it: 1, or a multi-run directory's cases.
	Runs int
	// Size is its files' bytes.
	Size int64
}

// PruneOptions choose the runs PlanPrune removes.
type PruneOptions struct {
	// Keep is how many of the newest runs stay whatever their age.
	Keep int
	// OlderThan, if set, removes only runs that started longer ago.
	OlderThan time.Duration
	// Now is the time OlderThan counts back from; zero means time.Now().
	Now time.Time
}

// PlanPrune lists the runs directly under root, newest first, split into
// those o removes and those it keeps. Only results directories are ever
// listed: anything else under root (and a run being written, whose name
// starts with a dot) is neither removed nor kept.
func PlanPrune(root string, o PruneOptions) (remove, keep []RunDir, err error) {
	if o.Keep < 0 {
		return nil, nil, fmt.Errorf("results: keep %d runs: want 0 or more", o.Keep)
	}
	runs, err := runDirs(root)
	if err != nil {
		return nil, nil, err
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	for i, r := range runs {
		old := o.OlderThan == 0 || now.Sub(r.Started) > o.OlderThan
		if i >= o.Keep && old {
			remove = append(remove, r)
		} else {
			keep = append(keep, r)
		}
	}
	return remove, keep, nil
}

// runDirs groups List's runs by their directory directly under root,
// newest first.
func runDirs(root string) ([]RunDir, error) {
	entries, err := List(root)
	if err != nil {
		return nil, err
	}
	byID := map[string]*RunDir{}
	var out []*RunDir
	for _, e := range entries {
		id, _, _ := strings.Cut(e.ID, "/")
		r, ok := byID[id]
		if !ok {
			r = &RunDir{ID: id, Dir: filepath.Join(root, id)}
			byID[id] = r
			out = append(out, r)
		}
		r.Runs++
		if s := e.Result.Timings.Started; s.After(r.Started) {
			r.Started = s
		}
	}
	runs := make([]RunDir, len(out))
	for i, r := range out {
		r.Size = dirSize(r.Dir)
		runs[i] = *r
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Started.After(runs[j].Started) })
	return runs, nil
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// RemoveRuns removes the run directories PlanPrune listed. Each is first
// renamed to a hidden name, so a reader (stats list, a browser on its
// report) sees it whole or not at all; a directory that is no longer a
// results directory is left alone.
func RemoveRuns(runs []RunDir) error {
	for _, r := range runs {
		if !isResultsDir(r.Dir) {
			return fmt.Errorf("results: %s is no longer a results directory: left alone", r.Dir)
		}
		hidden, _, err := moveAside(r.Dir, "prune")
		if err != nil {
			return fmt.Errorf("results: removing %s: %w", r.ID, err)
		}
		if err := os.RemoveAll(hidden); err != nil {
			return fmt.Errorf("results: removing %s: %w", r.ID, err)
		}
	}
	return nil
}
