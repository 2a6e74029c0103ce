package gauntlet

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/topology"
)

// flatCost estimates every running variant at 10 s.
func flatCost(v Variant) (time.Duration, bool) {
	if v.Skip != "" {
		return 0, true
	}
	return 10 * time.Second, true
}

func budgetVariants(t *testing.T) []Variant {
	t.Helper()
	vs, _, err := Expand(Selection{
		Tests:   []*ktstr.Test{testOf("sx", fakeSched, topology.Constraints{})},
		Presets: presetsOf(t, "pair", "2llc", "numa2"),
		Flags:   []string{"base", "a"},
		Kernels: kernelsOf("6.12.118", "6.13.1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 12 {
		t.Fatalf("%d variants, want 3 presets x 2 flags x 2 kernels", len(vs))
	}
	return vs
}

func TestSelectCoversEveryValueFirst(t *testing.T) {
	vs := budgetVariants(t)
	// 3 variants can cover 3 presets, 2 flag combinations and 2 kernels.
	p := Select(vs, 30*time.Second, 1, flatCost)
	if len(p.Run) != 3 || len(p.Left) != 9 {
		t.Fatalf("run %d left %d, want 3 and 9", len(p.Run), len(p.Left))
	}
	if len(p.Uncovered) != 0 {
		t.Fatalf("uncovered %v with a budget that covers everything once", p.Uncovered)
	}
	seen := map[string]bool{}
	for _, v := range p.Run {
		for _, d := range v.dims() {
			seen[d] = true
		}
	}
	for _, d := range []string{"preset:pair", "preset:2llc", "preset:numa2", "flags:fake:base", "flags:fake:a", "kernel:6.12.118", "kernel:6.13.1"} {
		if !seen[d] {
			t.Errorf("%s not covered by %s", d, ids(p.Run))
		}
	}
	if p.Estimate != 30*time.Second {
		t.Errorf("estimate %v, want 30s", p.Estimate)
	}
}

func TestSelectTooSmallNamesWhatIsMissing(t *testing.T) {
	p := Select(budgetVariants(t), 10*time.Second, 1, flatCost)
	if len(p.Run) != 1 {
		t.Fatalf("run %d variants in 10 s of 10 s each", len(p.Run))
	}
	got := strings.Join(p.Uncovered, " ")
	if len(p.Uncovered) != 4 || !strings.Contains(got, "preset:") || !strings.Contains(got, "kernel:") || !strings.Contains(got, "flags:") {
		t.Fatalf("uncovered %q, want the two presets, one flag combination and one kernel the single run missed", got)
	}
}

func TestSelectPairsBeforeTheRest(t *testing.T) {
	vs := budgetVariants(t)
	// 3 presets x 2 kernels = 6 preset-kernel pairs, 3 x 2 preset-flags,
	// 2 x 2 flags-kernel: 6 variants can cover every pair.
	p := Select(vs, 60*time.Second, 1, flatCost)
	pairs := map[string]bool{}
	for _, v := range p.Run {
		d := v.dims()
		pairs[d[1]+"|"+d[3]] = true // preset × kernel
		pairs[d[1]+"|"+d[2]] = true // preset × flags
	}
	if len(p.Run) != 6 || len(pairs) != 12 {
		t.Fatalf("6 variants cover %d preset pairs (want 12): %s", len(pairs), ids(p.Run))
	}
}

func TestSelectParallelismAndSkips(t *testing.T) {
	vs := budgetVariants(t)
	if p := Select(vs, 30*time.Second, 2, flatCost); len(p.Run) != 6 || p.Estimate != 30*time.Second {
		t.Errorf("parallelism 2: %d variants in %v, want 6 in 30s", len(p.Run), p.Estimate)
	}
	vs[0].Skip = "no sched_ext"
	p := Select(vs, 10*time.Second, 1, flatCost)
	if p.Run[0].ID() != vs[0].ID() || len(p.Run) != 2 {
		t.Errorf("skipping variant not kept for free: run %s", ids(p.Run))
	}
	if all := Select(vs, 0, 1, flatCost); len(all.Run) != len(vs) || len(all.Left) != 0 {
		t.Errorf("no budget kept %d of %d", len(all.Run), len(vs))
	}
}

func TestDurationsEstimateAndSave(t *testing.T) {
	path := t.TempDir() + "/d.json"
	d, err := LoadDurations(path)
	if err != nil {
		t.Fatal(err)
	}
	vs := budgetVariants(t)
	v := vs[0]
	if est, measured := d.Estimate(v); measured || est != model(v) {
		t.Fatalf("unmeasured estimate %v %v, want the model %v", est, measured, model(v))
	}
	d.Record(v.ID(), 20*time.Second)
	d.Record(v.ID(), 10*time.Second)
	if est, measured := d.Estimate(v); !measured || est != 15*time.Second {
		t.Fatalf("estimate after 20s and 10s: %v %v, want 15s (mean)", est, measured)
	}
	// A sibling on the same test and preset borrows the measurement.
	if est, measured := d.Estimate(vs[1]); !measured || est != 15*time.Second {
		t.Fatalf("sibling estimate %v %v", est, measured)
	}
	if err := d.Save(); err != nil {
		t.Fatal(err)
	}
	d2, err := LoadDurations(path)
	if err != nil {
		t.Fatal(err)
	}
	if w, ok := d2.Get(v.ID()); !ok || w != 15*time.Second {
		t.Fatalf("reloaded %v %v", w, ok)
	}
	if err := writeFileAtomic(path, func(w io.Writer) error { _, err := w.Write([]byte("{")); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDurations(path); err == nil || !strings.Contains(err.Error(), "delete the file") {
		t.Fatalf("corrupt durations: %v", err)
	}
}
