package tests

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

// Scenario tests batch many checks per VM: a boot under TCG costs more
// than a second of scenario.

// TestScenarioCanned runs every canned scenario under EEVDF on a guest
// with two LLCs; each must pass.
func TestScenarioCanned(t *testing.T) {
	// Canned scenarios confine cgroups to some CPUs on purpose.
	res := ktstr.RunResult(t, ktstr.Opts{Topology: topology.Must("1n2l1c1t"), Timeout: 5 * time.Minute, Monitor: &monitor.BalanceAgnostic},
		func(ctx *scenario.Ctx) error {
			ctx.Duration = 2500 * time.Millisecond
			var errs []error
			for _, sc := range scenario.Canned() {
				t0 := time.Now()
				err := scenario.ExecuteScenario(ctx, sc)
				ctx.Emit(guest.KindOutput, map[string]any{"scenario": sc.Name, "took": time.Since(t0).String(), "error": fmt.Sprint(err)})
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", sc.Name, err))
				}
			}
			return errors.Join(errs...)
		})
	if res == nil {
		return // in the guest
	}
	reports := decodeReports(t, res)
	for _, sc := range scenario.Canned() {
		if len(reports[sc.Name]) == 0 {
			t.Errorf("scenario %s sent no worker reports", sc.Name)
		}
	}
	for _, sc := range scenario.Canned() {
		t.Logf("%s:\n%s", sc.Name, scenario.FormatReports(reports[sc.Name]))
	}
	if !res.Passed() {
		t.Fatalf("canned scenarios: %s\n  %s", res.Verdict, strings.Join(res.Reasons, "\n  "))
	}
}

// TestScenarioWorkTypes runs every work type alone for a short while, then
// every scheduling policy side by side, and checks each reports work.
func TestScenarioWorkTypes(t *testing.T) {
	// Real-time hogs and fork churn pile tasks on one CPU by design.
	opts := ktstr.Opts{Topology: topology.Must("1n1l2c1t"), Timeout: 5 * time.Minute, Monitor: &monitor.BalanceAgnostic}
	res := ktstr.RunResult(t, opts,
		func(ctx *scenario.Ctx) error {
			var errs []error
			ctx.Duration = 600 * time.Millisecond
			for _, typ := range scenario.WorkTypes() {
				sc := scenario.Scenario{Name: "type:" + string(typ), Steps: []scenario.Step{{
					Defs: []scenario.CgroupDef{scenario.Cgroup(string(typ)).Work(typ)},
					Hold: scenario.Frac(1),
				}}}
				if err := scenario.ExecuteScenario(ctx, sc); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", typ, err))
				}
			}
			policies := []scenario.Policy{scenario.NormalPolicy, scenario.BatchPolicy, scenario.IdlePolicy,
				scenario.FIFOPolicy(10), scenario.RRPolicy(10)}
			if scenario.ExtAvailable() {
				policies = append(policies, scenario.ExtPolicy)
			}
			var defs []scenario.CgroupDef
			for _, p := range policies {
				// Real-time workers sleep most of the time so they cannot
				// monopolise a CPU: at 1 ms / 1 ms two of them left a
				// fair-class worker 50 ms of CPU in 3 s under TCG (it
				// could not even send its report), so they burn 1 ms in 5.
				def := scenario.Cgroup(strings.ReplaceAll(p.String(), ":", "_")).Policy(p).Work(scenario.MixedWork)
				if p.Class == scenario.SchedFIFO || p.Class == scenario.SchedRR {
					def = def.Work(scenario.Work{Type: scenario.MixedWork, Burn: time.Millisecond, Sleep: 4 * time.Millisecond})
				}
				if p.Class != scenario.SchedFIFO && p.Class != scenario.SchedRR {
					// Beside FIFO/RR workers every fair-class worker
					// (normal, batch, idle, and ext falling back to fair)
					// waits for what the real-time ones leave by design:
					// its wake latency says nothing here (p99 over 0.5 s
					// seen for normal and ext), and its longest wait is
					// longer than beside its peers (2.2-2.4 s measured
					// for normal and batch under TCG, 2 vCPUs): 5 s still
					// fails a worker the RT ones shut out.
					def = def.Checks(func(a *scenario.Assert) { a.MaxWakeP99, a.MaxGap = 0, 5*time.Second })
				}
				defs = append(defs, def)
			}
			ctx.Duration = time.Second
			sc := scenario.Scenario{Name: "policies", Steps: []scenario.Step{{Defs: defs, Hold: scenario.Frac(1)}}}
			if err := scenario.ExecuteScenario(ctx, sc); err != nil {
				errs = append(errs, fmt.Errorf("policies: %w", err))
			}
			return errors.Join(errs...)
		})
	if res == nil {
		return
	}
	reports := decodeReports(t, res)
	var table []scenario.WorkerReport
	for _, typ := range scenario.WorkTypes() {
		rs := reports["type:"+string(typ)]
		if len(rs) != 1 {
			t.Errorf("%s: %d reports, want 1", typ, len(rs))
			continue
		}
		if rs[0].Work == 0 {
			t.Errorf("%s did no work in the guest", typ)
		}
		table = append(table, rs[0])
	}
	t.Logf("work types (EEVDF, 1n1l2c1t, one worker each):\n%s", scenario.FormatReports(table))
	pol := reports["policies"]
	for _, r := range pol {
		if r.Work == 0 && r.Policy.Class != scenario.SchedIdle {
			t.Errorf("policy %s did no work", r.Policy)
		}
	}
	t.Logf("policies:\n%s", scenario.FormatReports(pol))
	if !res.Passed() {
		t.Fatalf("work types: %s\n  %s", res.Verdict, strings.Join(res.Reasons, "\n  "))
	}
}

// TestScenarioIsolationViolation uses the low-level API to pin a worker
// outside its cgroup's cpuset on purpose: the isolation check must fail
// the test, naming the worker and the CPU.
func TestScenarioIsolationViolation(t *testing.T) {
	res := ktstr.RunResult(t, ktstr.Opts{Topology: topology.Must("1n1l2c1t"), Timeout: 3 * time.Minute},
		func(ctx *scenario.Ctx) error {
			cg := ctx.Cgroups
			if err := cg.Create("iso"); err != nil {
				return err
			}
			if err := cg.SetCpuset("iso", scenario.NewCPUSet(1)); err != nil {
				return err
			}
			w, err := ctx.Spawn(scenario.WorkloadConfig{Workers: 1, Work: scenario.SpinWork})
			if err != nil {
				return err
			}
			if err := cg.Move(w, "iso"); err != nil {
				return err
			}
			// The deliberate bug: take the worker out of iso behind the
			// scenario's back and pin it to cpu0.
			for _, pid := range w.PIDs() {
				if err := os.WriteFile("/sys/fs/cgroup/cgroup.procs", []byte(strconv.Itoa(pid)), 0); err != nil {
					return err
				}
			}
			if err := w.SetAffinity(scenario.NewCPUSet(0)); err != nil {
				return err
			}
			if err := w.Start(); err != nil {
				return err
			}
			time.Sleep(500 * time.Millisecond)
			reports, err := w.Stop()
			if err != nil {
				return err
			}
			ctx.Emit(guest.KindOutput, map[string]any{"tid": reports[0].TIDs[0]})
			return ctx.Check(reports).Err()
		})
	if res == nil {
		return
	}
	if res.Verdict != verdict.Fail {
		t.Fatalf("verdict %s, want fail; reasons %q", res.Verdict, res.Reasons)
	}
	var tid int
	for _, r := range res.Records {
		var out struct{ TID int }
		if r.Kind == guest.KindOutput && r.Decode(&out) == nil && out.TID != 0 {
			tid = out.TID
		}
	}
	want := fmt.Sprintf("iso/w0 (tid %d) ran on cpu0 outside its cpuset 1", tid)
	all := strings.Join(res.Reasons, "\n")
	if tid == 0 || !strings.Contains(all, want) {
		t.Fatalf("reasons %q do not contain %q", all, want)
	}
	t.Logf("failed as it must: %s", all)
}

// decodeReports collects the worker reports of every scenario by name.
func decodeReports(t *testing.T, res *ktstr.Result) map[string][]scenario.WorkerReport {
	t.Helper()
	out := map[string][]scenario.WorkerReport{}
	for _, r := range res.Records {
		if r.Kind != guest.KindWorkers {
			continue
		}
		var p struct {
			Scenario string                  `json:"scenario"`
			Reports  []scenario.WorkerReport `json:"reports"`
		}
		if err := r.Decode(&p); err != nil {
			t.Errorf("decoding workers record: %v", err)
			continue
		}
		out[p.Scenario] = append(out[p.Scenario], p.Reports...)
	}
	return out
}
