package results

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/verdict"
)

func TestWriteLaysOutEveryFile(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "run")
	r := synthRun(t, fixture{cg1Share: 0.5})
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	for _, f := range append([]string{FileResult}, runFiles...) {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
		} else if fi.Size() == 0 {
			t.Errorf("%s is empty", f)
		}
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Errorf("parent holds %d entries, want only the run (a temp dir left behind?)", len(entries))
	}

	var res Result
	if err := readJSON(filepath.Join(dir, FileResult), &res); err != nil {
		t.Fatal(err)
	}
	if res.Test != "synthetic" || res.Verdict != verdict.Pass || res.Topology != "1n1l2c1t" || res.CPUs != 2 ||
		res.Scheduler != "ktstr_fifo" || res.Kernel.Key != "6.12.118-test" || res.ID != "20261203T093000Z-synthetic" {
		t.Errorf("result.json = %+v", res)
	}
	if res.Timings.GuestStart != guestBoot+recvDelay || res.Timings.MonitorSamples != 60 {
		t.Errorf("timings = %+v, want guest start %v and 60 samples", res.Timings, guestBoot+recvDelay)
	}

	console, _ := os.ReadFile(filepath.Join(dir, FileConsole))
	if string(console) != string(r.Console) {
		t.Errorf("console.log = %q, want %q", console, r.Console)
	}
	lines := strings.Split(strings.TrimSpace(readFile(t, dir, FileRecords)), "\n")
	if len(lines) != len(r.Records) {
		t.Fatalf("records.jsonl has %d lines, want %d", len(lines), len(r.Records))
	}
	var first Record
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.Kind != "start" || first.Host != guestBoot+time.Millisecond+recvDelay {
		t.Errorf("first record = %+v (%v), want the start record with its receive time", first, err)
	}
	var sets []workerSet
	if err := readJSON(filepath.Join(dir, FileWorkers), &sets); err != nil || len(sets) != 1 || len(sets[0].Reports) != 4 {
		t.Errorf("workers.json: %d sets (%v), want 1 with 4 reports", len(sets), err)
	}
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteTargets(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(dir string) error
		wantErr string
	}{
		{"new", func(string) error { return nil }, ""},
		{"empty dir", func(d string) error { return os.Mkdir(d, 0o755) }, ""},
		{"earlier run", func(d string) error { return Write(d, synthRun(t, fixture{cg1Share: 0.2})) }, ""},
		{"foreign dir", func(d string) error {
			if err := os.Mkdir(d, 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(d, "notes.txt"), []byte("mine"), 0o644)
		}, "not a ktstr results directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if err := tc.prepare(dir); err != nil {
				t.Fatal(err)
			}
			err := Write(dir, synthRun(t, fixture{cg1Share: 0.5}))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Write = %v, want an error with %q", err, tc.wantErr)
				}
				if readFile(t, dir, "notes.txt") != "mine" {
					t.Error("the foreign file was changed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if m, _ := s.Metrics.Get("cg_1", MetricCPUShare); m.Value != 0.5 {
				t.Errorf("cg_1 cpu_share = %v, want the new run's 0.5", m.Value)
			}
			entries, _ := os.ReadDir(filepath.Dir(dir))
			if len(entries) != 1 {
				t.Errorf("%d entries beside the run, want none", len(entries)-1)
			}
		})
	}
}

func TestConsoleCapNote(t *testing.T) {
	r := synthRun(t, fixture{cg1Share: 0.5})
	r.ConsoleDropped = 1234
	dir := filepath.Join(t.TempDir(), "run")
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dir, FileConsole); !strings.HasPrefix(got, string(r.Console)) || !strings.Contains(got, "1234 more console bytes") {
		t.Errorf("console.log = %q, want the console and a note of the dropped bytes", got)
	}
}

func TestNewID(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 4, 5, 0, time.FixedZone("CET", 3600))
	for test, want := range map[string]string{
		"demo":              "20261203T090405Z-demo",
		"TestTwo/sub case":  "20261203T090405Z-TestTwo_sub_case",
		"../..":             "20261203T090405Z-run",
		"matrix_ktstr_fifo": "20261203T090405Z-matrix_ktstr_fifo",
	} {
		if got := NewID(test, at); got != want {
			t.Errorf("NewID(%q) = %q, want %q", test, got, want)
		}
	}
}

// A kernel booted from a path is named by the release the guest
// reported, not by a path that may change from run to run.
func TestDimensionsKernel(t *testing.T) {
	r := synthRun(t, fixture{cg1Share: 0.5})
	r.Kernel = Kernel{Image: "/sandbox/213/bzImage"}
	r.Records[0].Data = []byte(`{"test":"synthetic","kernel":"6.12.118"}`)
	if got := r.Dimensions().Kernel; got != "6.12.118" {
		t.Errorf("kernel dimension %q, want the guest's release", got)
	}
	r.Records = nil
	if got := r.Dimensions().Kernel; got != "/sandbox/213/bzImage" {
		t.Errorf("kernel dimension %q, want the image without a release", got)
	}
}
