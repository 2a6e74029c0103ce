package tests

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/gauntlet"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scenario"
)

// gauntletPresets are the CI gauntlet's shapes: two and four cores in one
// LLC, two LLCs, two NUMA nodes; small enough to boot quickly under
// emulation. No SMT preset: under QEMU 7.2's TCG a 6.1 guest sees no SMT
// siblings (TCG lacks the topoext CPUID feature 6.1's AMD topology code
// reads; 6.12 finds them), so smt-pair fails its topology check on 6.1
// there, as the gauntlet reports.
var gauntletPresets = []string{"pair", "quad", "2llc", "numa2"}

// TestGauntlet fans the demo scenario out over four presets and every
// kernel of KTSTR_KERNEL_LIST (tools/test.sh gives 6.12 and 6.1), under
// the in-repo FIFO sched_ext scheduler (demo: it skips on a kernel
// without sched_ext, saying so) and under the kernel's own fair class
// (demo_eevdf: EEVDF on 6.12, CFS on 6.1). Cases are
// TestGauntlet/TEST/PRESET/FLAGS/KERNEL; KTSTR_PRESETS, KTSTR_BUDGET and
// KTSTR_PARALLELISM change the selection.
func TestGauntlet(t *testing.T) {
	gauntlet.RunRegistered(t, gauntlet.Options{Tests: []string{"demo", "demo_eevdf"}, Presets: gauntletPresets})
}

// plantedFailure passes everywhere but on two LLCs.
var plantedFailure = &ktstr.Test{
	Name: "planted_failure",
	Opts: ktstr.Opts{Duration: time.Second},
	Body: func(ctx *scenario.Ctx) error {
		if ctx.Topo.NumLLCs() == 2 {
			return errors.New("planted failure: this body fails on two LLCs")
		}
		return scenario.ExecuteDefs(ctx, scenario.Cgroup("cg_0").Workers(1))
	},
}

const envPlanted = "KTSTR_GAUNTLET_PLANTED"

// TestGauntletPlanted is run by TestGauntletFailsOnlyItsCase.
func TestGauntletPlanted(t *testing.T) {
	if !guest.IsChild() && os.Getenv(envPlanted) == "" {
		t.Skip("run by TestGauntletFailsOnlyItsCase")
	}
	gauntlet.Run(t, plantedFailure, gauntlet.Options{Presets: []string{"pair", "2llc"}})
}

// TestGauntletFailsOnlyItsCase runs a gauntlet with one planted failure
// in a child go test and checks that exactly that case failed, named
// with its dimensions, while its sibling passed.
func TestGauntletFailsOnlyItsCase(t *testing.T) {
	if testing.Short() {
		t.Skip("ktstr: VM tests are skipped under -short")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGauntletPlanted$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), envPlanted+"=1", gauntlet.EnvParallelism+"=1", gauntlet.EnvPresets+"=", gauntlet.EnvBudget+"=", "KTSTR_KERNEL_LIST=")
	out, err := cmd.CombinedOutput()
	leaf := regexp.MustCompile(`--- (PASS|FAIL|SKIP): (TestGauntletPlanted/[^/\s]+/[^/\s]+/[^/\s]+) `)
	// A case's verdict is its worst line: the failing case's console
	// tail quotes the guest's own go test, which passed the body's run.
	rank := map[string]int{"SKIP": 0, "PASS": 1, "FAIL": 2}
	worst := map[string]string{}
	for _, m := range leaf.FindAllStringSubmatch(string(out), -1) {
		if v, seen := worst[m[2]]; !seen || rank[m[1]] > rank[v] {
			worst[m[2]] = m[1]
		}
	}
	got := map[string][]string{}
	for name, v := range worst {
		got[v] = append(got[v], name)
	}
	for _, l := range got {
		sort.Strings(l)
	}
	if len(got["SKIP"]) > 0 && len(got["PASS"])+len(got["FAIL"]) == 0 {
		t.Skipf("no kernel for the child gauntlet: %s", got["SKIP"])
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child go test: %v, want a failing exit\n%s", err, out)
	}
	fails, passes := got["FAIL"], got["PASS"]
	if len(fails) != 1 || !strings.HasPrefix(fails[0], "TestGauntletPlanted/2llc/base/") {
		t.Fatalf("failed cases %q, want exactly TestGauntletPlanted/2llc/base/KERNEL\n%s", fails, out)
	}
	if len(passes) != 1 || !strings.HasPrefix(passes[0], "TestGauntletPlanted/pair/base/") {
		t.Fatalf("passed cases %q, want exactly TestGauntletPlanted/pair/base/KERNEL\n%s", passes, out)
	}
	if !strings.Contains(string(out), "planted failure: this body fails on two LLCs") {
		t.Fatalf("the failing case does not carry its reason\n%s", out)
	}
	t.Logf("only %s failed; %s passed", fails[0], passes[0])
}
