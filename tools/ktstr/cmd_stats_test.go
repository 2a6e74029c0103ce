package main

import (
	"bytes"
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
			var out bytes.Buffer
			if rc := statsCompare(tc.args, &out); rc != tc.wantRC {
				t.Fatalf("rc %d, want %d; output:\n%s", rc, tc.wantRC, out.String())
			}
			if tc.wantRC == 1 && !regexp.MustCompile(`(?m)^cg_1 +cpu_share .*REGRESSION$`).MatchString(out.String()) {
				t.Errorf("cg_1's cpu_share is not marked as a regression:\n%s", out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tc.wantNone != "" && strings.Contains(out.String(), tc.wantNone) {
				t.Errorf("output has %q:\n%s", tc.wantNone, out.String())
			}
		})
	}
}

func TestStatsList(t *testing.T) {
	root := t.TempDir()
	var out bytes.Buffer
	if rc := statsList([]string{"--root", root}, &out); rc != 0 || !strings.Contains(out.String(), "no runs under") {
		t.Errorf("empty root: rc %d, %q", rc, out.String())
	}
	writeRun(t, filepath.Join(root, "r1"), "demo", 0.5, 0.5)
	out.Reset()
	if rc := statsList([]string{"--root", root}, &out); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	for _, w := range []string{"RUN", "r1", "pass", "demo", "1n1l2c1t", "eevdf"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("list lacks %q:\n%s", w, out.String())
		}
	}
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
	if rc := cmdMatrix(context.Background(), []string{"-only", "eevdf,ktstr_fifo", "-out", out}); rc != 0 {
		t.Fatalf("rc %d", rc)
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
