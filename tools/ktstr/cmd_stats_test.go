package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/results"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

// writeRun writes a results directory of two cgroups whose workers got
// cg0 and cg1 of a CPU each.
func writeRun(t *testing.T, dir, test string, cg0, cg1 float64) {
	t.Helper()
	wall := 3 * time.Second
	var reports []scenario.WorkerReport
	for i, share := range []float64{cg0, cg0, cg1, cg1} {
		reports = append(reports, scenario.WorkerReport{Cgroup: []string{"cg_0", "cg_1"}[i/2], Index: i % 2, Wall: wall,
			CPUTime: time.Duration(share * float64(wall)), Work: uint64(share * 3000)})
	}
	data, err := json.Marshal(map[string]any{"reports": reports})
	if err != nil {
		t.Fatal(err)
	}
	r := &results.Run{Test: test, Topology: topology.Must("1n1l2c1t"), Verdict: verdict.Pass, Started: time.Now(),
		Records: []results.Record{{Record: guest.Record{Kind: guest.KindWorkers, Elapsed: 5 * time.Second, Data: data}}}}
	if err := results.Write(dir, r); err != nil {
		t.Fatal(err)
	}
}

func TestStatsCompare(t *testing.T) {
	root := t.TempDir()
	writeRun(t, filepath.Join(root, "healthy"), "matrix", 0.5, 0.5)
	writeRun(t, filepath.Join(root, "unfair"), "matrix", 0.9, 0.05)
	tests := []struct {
		name     string
		args     []string
		wantRC   int
		want     []string
		wantNone string
	}{
		{"regression", []string{"--root", root, "healthy", "unfair"}, 1,
			[]string{"REGRESSION", "cgroup_balance"}, ""},
		{"against itself", []string{"--root", root, "healthy", "healthy"}, 0, []string{"0 regression(s), 0 improvement(s)"}, "REGRESSION"},
		{"by path, flags after", []string{filepath.Join(root, "healthy"), filepath.Join(root, "unfair"), "-t", "cpu_share=1000%", "-t", "cgroup_balance=1000%", "-t", "work_rate=1000%"}, 0,
			[]string{"0 regression(s)"}, "REGRESSION"},
		{"unknown metric", []string{"--root", root, "-t", "cpu_shares=10%", "healthy", "unfair"}, 2, nil, ""},
		{"bad threshold", []string{"--root", root, "-t", "cpu_share", "healthy", "unfair"}, 2, nil, ""},
		{"missing run", []string{"--root", root, "healthy", "nope"}, 2, nil, ""},
		{"one run", []string{"--root", root, "healthy"}, 2, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ktstrCLI(t, cliOpts{}, append([]string{"stats", "compare"}, tc.args...)...)
			if r.code != tc.wantRC {
				t.Fatalf("rc %d, want %d; output:\n%s%s", r.code, tc.wantRC, r.stdout, r.stderr)
			}
			if tc.wantRC == 1 && !regexp.MustCompile(`(?m)^cg_1 +cpu_share .*REGRESSION$`).MatchString(r.stdout) {
				t.Errorf("cg_1's cpu_share is not marked as a regression:\n%s", r.stdout)
			}
			r.expect(t, tc.want, nil)
			if tc.wantNone != "" && strings.Contains(r.stdout, tc.wantNone) {
				t.Errorf("output has %q:\n%s", tc.wantNone, r.stdout)
			}
		})
	}
}

func TestStatsList(t *testing.T) {
	root := t.TempDir()
	if r := ktstrCLI(t, cliOpts{}, "stats", "list", "--root", root); r.code != 0 || !strings.Contains(r.stdout, "no runs under") {
		t.Errorf("empty root: rc %d, %q", r.code, r.stdout)
	}
	writeRun(t, filepath.Join(root, "r1"), "demo", 0.5, 0.5)
	r := ktstrCLI(t, cliOpts{}, "stats", "list", "--root", root)
	if r.code != 0 {
		t.Fatalf("rc %d: %s", r.code, r.stderr)
	}
	r.expect(t, []string{"RUN", "r1", "pass", "demo", "1n1l2c1t", "eevdf"}, nil)
}

// `ktstr matrix --out DIR` keeps each row's run in DIR/<row> and writes
// an index over them.
func TestMatrixIndex(t *testing.T) {
	defer func(b func(context.Context, *ktstr.Test, ktstr.RunOptions) (*ktstr.Result, error)) { matrixBoot = b }(matrixBoot)
	matrixBoot = func(_ context.Context, rt *ktstr.Test, ro ktstr.RunOptions) (*ktstr.Result, error) {
		writeRun(t, ro.Out, rt.Name, 0.5, 0.5)
		return &ktstr.Result{Test: rt.Name, Verdict: verdict.Pass, Dir: ro.Out}, nil
	}
	out := t.TempDir()
	if r := ktstrCLI(t, cliOpts{}, "matrix", "--kernel", fakeBzImage(t, "6.12.118"), "--only", "eevdf,ktstr_fifo", "--out", out); r.code != 0 {
		t.Fatalf("rc %d: %s%s", r.code, r.stdout, r.stderr)
	}
	page, err := os.ReadFile(filepath.Join(out, results.FileIndexHTML))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`href="eevdf/report.html"`, `href="ktstr_fifo/report.html"`} {
		if !strings.Contains(string(page), w) {
			t.Errorf("index.html lacks %s", w)
		}
	}
	if _, err := results.CompareDirs(out, out, nil); err != nil {
		t.Errorf("comparing the matrix with itself: %v", err)
	}
}

// `ktstr stats prune` lists first and removes only when told to: on a
// terminal after a yes, elsewhere with --force.
func TestStatsPrune(t *testing.T) {
	layout := func(t *testing.T) string {
		root := t.TempDir()
		for _, name := range []string{"old", "new"} {
			writeRun(t, filepath.Join(root, name), "demo", 0.5, 0.5)
			time.Sleep(10 * time.Millisecond) // "new" starts later
		}
		if err := os.MkdirAll(filepath.Join(root, "mine"), 0o755); err != nil {
			t.Fatal(err)
		}
		return root
	}
	left := func(t *testing.T, root string) string {
		entries, err := os.ReadDir(root)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return strings.Join(names, " ")
	}
	tests := []struct {
		name   string
		opts   cliOpts
		args   []string
		code   int
		out    []string
		errs   []string
		remain string
	}{
		{"not on a terminal, no --force", cliOpts{}, []string{"--keep", "1"}, 2,
			[]string{"remove old", "keep   new"}, []string{"nothing removed", "--force"}, "mine new old"},
		{"--force", cliOpts{}, []string{"--keep", "1", "--force"}, 0,
			[]string{"remove old"}, []string{"removed 1 run", "kept 1"}, "mine new"},
		{"dry run", cliOpts{}, []string{"--dry-run"}, 0,
			[]string{"remove new", "remove old"}, []string{"dry run: nothing removed", "2 runs"}, "mine new old"},
		{"terminal, yes", cliOpts{interactive: true, stdin: "y\n"}, nil, 0, nil, []string{"Remove 2 runs", "removed 2 runs"}, "mine"},
		{"terminal, no", cliOpts{interactive: true, stdin: "\n"}, nil, 0, nil, []string{"nothing removed"}, "mine new old"},
		{"nothing old enough", cliOpts{}, []string{"--older-than", "30d", "--force"}, 0, []string{"keep   new"}, []string{"nothing to remove (2 kept)"}, "mine new old"},
		{"bad age", cliOpts{}, []string{"--older-than", "soon"}, 2, nil, []string{"30d, 2w, 12h"}, "mine new old"},
		{"negative keep", cliOpts{}, []string{"--keep", "-1"}, 2, nil, []string{"want 0 or more"}, "mine new old"},
		{"both ways", cliOpts{}, []string{"--dry-run", "--force"}, 2, nil, []string{"contradict"}, "mine new old"},
		{"a stray word", cliOpts{}, []string{"all", "--force"}, 2, nil, []string{`unexpected argument "all"`}, "mine new old"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := layout(t)
			r := ktstrCLI(t, tc.opts, append([]string{"stats", "prune", "--root", root}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("rc %d, want %d:\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
			r.expect(t, tc.out, tc.errs)
			if got := left(t, root); got != tc.remain {
				t.Errorf("left %q, want %q", got, tc.remain)
			}
		})
	}
}
