package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Stored is a results directory read back.
type Stored struct {
	Dir     string
	Result  *Result
	Metrics *Metrics
}

// Load reads the run in dir.
func Load(dir string) (*Stored, error) {
	s := &Stored{Dir: dir, Result: &Result{}, Metrics: &Metrics{}}
	if err := readJSON(filepath.Join(dir, FileResult), s.Result); err != nil {
		return nil, err
	}
	if err := readJSON(filepath.Join(dir, FileMetrics), s.Metrics); err != nil {
		return nil, err
	}
	return s, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("results: %s: %w", path, err)
	}
	return nil
}

// Entry is one run found under a root.
type Entry struct {
	// ID is the run's path under the root: "20261203T093012Z-demo", or
	// "<matrix id>/<case>" for a case of a multi-run directory.
	ID     string
	Dir    string
	Result *Result
}

// List finds the runs under root: its subdirectories holding a
// result.json, and the cases of its multi-run directories, oldest first.
// A missing root lists nothing.
func List(root string) ([]Entry, error) {
	var out []Entry
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == root {
				return fs.SkipAll
			}
			return err
		}
		if !d.IsDir() || path == root {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir // a run being written, or one moved aside
		}
		if depth(root, path) > 2 {
			return fs.SkipDir
		}
		res := &Result{}
		if readJSON(filepath.Join(path, FileResult), res) != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		out = append(out, Entry{ID: filepath.ToSlash(rel), Dir: path, Result: res})
		return fs.SkipDir
	})
	if err != nil {
		return nil, fmt.Errorf("results: listing %s: %w", root, err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ti, tj := out[i].Result.Timings.Started, out[j].Result.Timings.Started
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func depth(root, path string) int {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return 0
	}
	return len(strings.Split(filepath.ToSlash(rel), "/"))
}

// Resolve finds a results directory by path, or by run id (or a unique
// prefix of one) under root.
func Resolve(root, arg string) (string, error) {
	if isResultsDir(arg) {
		return arg, nil
	}
	if p := filepath.Join(root, arg); isResultsDir(p) {
		return p, nil
	}
	entries, err := List(root)
	if err != nil {
		return "", err
	}
	var match []string
	for _, e := range entries {
		if strings.HasPrefix(e.ID, arg) {
			match = append(match, e.ID)
		}
	}
	switch len(match) {
	case 1:
		return filepath.Join(root, match[0]), nil
	case 0:
		return "", fmt.Errorf("no run %q: not a results directory, nor a run id under %s ('ktstr stats list' shows them)", arg, root)
	}
	return "", fmt.Errorf("run id %q is ambiguous under %s: %s", arg, root, strings.Join(match, ", "))
}

// CompareDirs compares two results directories: two runs, or two
// multi-run directories case by case (cases in only one are skipped).
func CompareDirs(a, b string, th Thresholds) ([]*Comparison, error) {
	ia, ib := readIndexIfAny(a), readIndexIfAny(b)
	if (ia == nil) != (ib == nil) {
		return nil, fmt.Errorf("cannot compare %s with %s: one is a multi-run directory and the other a single run", a, b)
	}
	if ia == nil {
		sa, err := Load(a)
		if err != nil {
			return nil, err
		}
		sb, err := Load(b)
		if err != nil {
			return nil, err
		}
		c := Compare(sa.Metrics, sb.Metrics, th)
		c.A, c.B = a, b // run ids may repeat; directories do not
		return []*Comparison{c}, nil
	}
	var out []*Comparison
	for _, ca := range ia.Cases {
		for _, cb := range ib.Cases {
			if ca.Name != cb.Name {
				continue
			}
			cs, err := CompareDirs(filepath.Join(a, ca.Dir), filepath.Join(b, cb.Dir), th)
			if err != nil {
				return nil, err
			}
			for _, c := range cs {
				c.Name = ca.Name
			}
			out = append(out, cs...)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s and %s have no case in common", a, b)
	}
	return out, nil
}
