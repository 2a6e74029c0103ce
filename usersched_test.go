package ktstr

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/bpfmap"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// testBinary is an executable file to stand in for a scheduler binary.
func testBinary(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The scheduler a run launches: the caller's --scheduler, then
// KTSTR_SCHEDULER, then the test's; arguments add up in that order.
func TestSettleSchedulerCascade(t *testing.T) {
	bin := testBinary(t)
	base := &scheds.Scheduler{Name: "base", Source: scheds.HostBinary{Path: "/bin/true"}, Args: []string{"--base"}}
	opts := Opts{Scheduler: base, SchedArgs: []string{"--test"}}
	for _, tc := range []struct {
		name      string
		env       map[string]string
		ro        RunOptions
		from      string
		argv      string
		schedName string
	}{
		{"test's", nil, RunOptions{}, "test", "/sched/true --base --test", "base"},
		{"environment", map[string]string{EnvScheduler: bin, EnvSchedArgs: "-e 1"}, RunOptions{},
			EnvScheduler, "/sched/" + filepath.Base(bin) + " --base --test -e 1", ""},
		{"caller", map[string]string{EnvScheduler: "/nonexistent"}, RunOptions{Scheduler: bin, SchedArgs: []string{"--cli"}},
			"--scheduler", "/sched/" + filepath.Base(bin) + " --base --test --cli", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := settle(&opts, &tc.ro, envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			argv, err := s.sched.Argv()
			if err != nil {
				t.Fatal(err)
			}
			if s.schedFrom != tc.from || strings.Join(argv, " ") != tc.argv || s.sched.Sched.Name != tc.schedName {
				t.Errorf("from %s, argv %q, name %q; want %s, %q, %q", s.schedFrom, argv, s.sched.Sched.Name, tc.from, tc.argv, tc.schedName)
			}
		})
	}
	if base.Source.(scheds.HostBinary).Path != "/bin/true" {
		t.Error("settling changed the test's scheduler definition")
	}
}

// Bad inputs are refused by settle, before anything is built or booted,
// with the fix in the message.
func TestSettleRejectsBadSchedulerInputs(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "scx_noexec")
	b, err := os.ReadFile(testBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noexec, b, 0o644); err != nil {
		t.Fatal(err)
	}
	sched := &scheds.Scheduler{Name: "s", Source: scheds.HostBinary{Path: "/bin/true"}}
	for _, tc := range []struct {
		name string
		opts Opts
		env  map[string]string
		ro   RunOptions
		want string
	}{
		{"missing file", Opts{}, nil, RunOptions{Scheduler: filepath.Join(dir, "scx_gone")}, "--scheduler: scheduler " + dir + "/scx_gone: no such file (build it first or fix the path)"},
		{"not executable", Opts{Scheduler: sched}, map[string]string{EnvScheduler: noexec}, RunOptions{}, "KTSTR_SCHEDULER: scheduler " + noexec + " is not executable: chmod +x it"},
		{"arguments under EEVDF", Opts{SchedArgs: []string{"-v"}}, nil, RunOptions{}, "scheduler arguments given, but the test runs under EEVDF"},
		{"map write under EEVDF", Opts{}, nil, RunOptions{MapWrites: []bpfmap.Write{{Map: ".bss", Value: []byte{1}}}}, "BPF map writes given, but the test runs under EEVDF"},
		{"watchdog too long", Opts{Scheduler: sched, Watchdog: time.Minute}, nil, RunOptions{}, "sched_ext accepts at most 30s"},
		{"bad expectation", Opts{ExpectFail: "("}, nil, RunOptions{}, "ExpectFail \"(\""},
		{"impossible constraints", Opts{Constraints: topology.Constraints{MinLLCs: 4, MaxLLCs: 2}}, nil, RunOptions{}, "can never hold"},
		{"builtin with map writes", Opts{Scheduler: &scheds.Scheduler{Name: "b", Source: scheds.KernelBuiltin{Enable: []string{"true"}}},
			MapWrites: []bpfmap.Write{{Map: "m", Value: []byte{1}}}}, nil, RunOptions{}, "kernel-builtin: it has no BPF maps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := settle(&tc.opts, &tc.ro, envOf(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("settle = %v, want %q", err, tc.want)
			}
		})
	}
	if err := checkKernelArgs([]string{"quiet", "ktstr.mode=shell"}); err == nil || !strings.Contains(err.Error(), "harness's own") {
		t.Errorf("a ktstr.* kernel argument: %v", err)
	}
	if err := checkKernelArgs([]string{"a b"}); err == nil {
		t.Error("a kernel argument with a space was accepted")
	}
}

// treeBinaryInCache finds a built kernel-tree scheduler without building.
func treeBinaryInCache(t *testing.T, name string) string {
	t.Helper()
	home, _ := os.UserHomeDir()
	m, _ := filepath.Glob(filepath.Join(home, ".cache", "ktstr", "scheds", "tree-*", name))
	if len(m) == 0 {
		t.Skipf("no built %s in the scheduler cache (ktstr sched build)", name)
	}
	return m[0]
}

// A map the scheduler's BPF objects do not declare is refused on the
// host, before boot; one they declare passes.
func TestUnknownMapBeforeBoot(t *testing.T) {
	qmap := treeBinaryInCache(t, "scx_qmap")
	for _, tc := range []struct {
		w    string
		want string
	}{
		{".bss:test_error_cnt=1", ""},
		{"queue0[0]=1", ""},
		{"nope=1", `BPF map write nope = 0x01000000: the scheduler's BPF objects have no map "nope"`},
		{".bss:nope=1", "has no variable nope"},
	} {
		w, err := bpfmap.ParseWrite(tc.w)
		if err != nil {
			t.Fatal(err)
		}
		s, err := settle(&Opts{}, &RunOptions{Scheduler: qmap, MapWrites: []bpfmap.Write{w}}, envOf(nil))
		if err != nil {
			t.Fatal(err)
		}
		files, err := s.schedulerFiles()
		if err != nil {
			t.Fatal(err)
		}
		err = s.checkMapWrites(files)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.w, err, tc.want)
		}
	}
}

// A topology outside the constraints is a Skip result, decided before
// any kernel is looked for.
func TestConstraintsSkipBeforeBoot(t *testing.T) {
	t.Setenv(EnvKernel, "/nonexistent/kernel")
	res, err := boot(context.Background(), bootSpec{
		name:   "too_small",
		params: guest.BootParams{Mode: guest.ModeTest, Test: "too_small"},
		opts:   Opts{Topology: topology.Must("1n1l2c1t"), Constraints: topology.Constraints{MinLLCs: 2}},
	}, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != verdict.Skip || !strings.Contains(res.Reasons[0], "topology 1n1l2c1t does not meet the test's constraints: 1 LLCs, needs at least 2 (LLCs>=2)") {
		t.Fatalf("%s %q, want a skip naming the LLCs", res.Verdict, res.Reasons)
	}
}

// The guest gets the settled scheduler, cgroup, sysctls and map writes.
func TestGuestPlan(t *testing.T) {
	sched := &scheds.Scheduler{Name: "cells", Source: scheds.HostBinary{Path: "/bin/true"},
		CgroupParent: "work.slice", CgroupParentArgs: []string{"--parent", "{cgroup}"}}
	opts := Opts{Scheduler: sched, Sysctls: []Sysctl{{Key: "kernel.x", Value: "1"}},
		MapWrites: []bpfmap.Write{{Map: ".bss", Var: "v", Value: bpfmap.U32(1)}}}
	s, err := settle(&opts, &RunOptions{}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.guestPlan(&opts, "", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	var p guest.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Cgroup != "/sys/fs/cgroup/work.slice" || p.Scheduler == nil || strings.Join(p.Scheduler.Argv, " ") != "/sched/true --parent /work.slice" ||
		len(p.Sysctls) != 1 || len(p.MapWrites) != 1 || p.MapWrites[0].Var != "v" {
		t.Fatalf("plan %s", b)
	}
	builtin := Opts{Scheduler: &scheds.Scheduler{Name: "eevdf_x", Source: scheds.KernelBuiltin{Enable: []string{"echo on"}, Disable: []string{"echo off"}}}}
	s, err = settle(&builtin, &RunOptions{}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if b, err = s.guestPlan(&builtin, "", zap.NewNop()); err != nil || !strings.Contains(string(b), `"enable":["echo on"]`) || strings.Contains(string(b), "argv") {
		t.Fatalf("builtin plan %s, %v", b, err)
	}
}

// HostOnly tests run on this host: no VM, judged like any body, an
// expected failure included; what would change the host is refused.
func TestHostOnly(t *testing.T) {
	ran := false
	pass := &Test{Name: "host_pass", Opts: Opts{HostOnly: true, Duration: time.Second}, Body: func(ctx *scenario.Ctx) error {
		ran = !guest.IsChild() && os.Getpid() != 1 && ctx.Topo != nil
		return nil
	}}
	res, err := Boot(context.Background(), pass, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !ran || res.Verdict != verdict.Pass || res.Backend != HostBackend {
		t.Fatalf("ran %v, %s on %s: %v", ran, res.Verdict, res.Backend, res.Reasons)
	}
	boom := &Test{Name: "host_boom", Opts: Opts{HostOnly: true, ExpectFail: "boom"}, Body: func(*scenario.Ctx) error {
		return errors.New("boom")
	}}
	if res, err := Boot(context.Background(), boom, RunOptions{}); err != nil || res.Verdict != verdict.Pass {
		t.Fatalf("expected failure on the host: %v %v", res, err)
	}
	sysctl := &Test{Name: "host_sysctl", Opts: Opts{HostOnly: true, Sysctls: []Sysctl{{Key: "kernel.x", Value: "1"}}}, Body: pass.Body}
	if _, err := Boot(context.Background(), sysctl, RunOptions{}); err == nil || !strings.Contains(err.Error(), "cannot take Sysctls") {
		t.Fatalf("host-only with sysctls: %v", err)
	}
}
