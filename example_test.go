package ktstr_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/bpfmap"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

// A test function runs a scenario in a VM of a given shape. TestMain must
// hand the binary to ktstr.Main, which makes it the guest's init too.
func ExampleRun() {
	testTwoCgroups := func(t *testing.T) {
		ktstr.Run(t, ktstr.Opts{Topology: topology.Must("1n2l2c1t")}, func(ctx *scenario.Ctx) error {
			return scenario.ExecuteDefs(ctx,
				scenario.Cgroup("cg_0").Workers(2).Cpuset(scenario.LLC(0)),
				scenario.Cgroup("cg_1").Workers(2).Cpuset(scenario.LLC(1)))
		})
	}
	_ = testTwoCgroups
}

// Registered tests run by name: from go test (RunRegistered), from the
// ktstr command (`ktstr run --test spread`) and as exported .run files.
func ExampleRegister() {
	var _ = ktstr.Register("spread", ktstr.Opts{
		Topology: topology.Must("2n4l2c1t"),
		Duration: 5 * time.Second,
	}, func(ctx *scenario.Ctx) error {
		return scenario.ExecuteDefs(ctx, scenario.Cgroup("all").Workers(16))
	})
}

// Boot runs a registered test from a program and returns the verdict.
func ExampleBoot() {
	t, ok := ktstr.Lookup("demo")
	if !ok {
		return
	}
	res, err := ktstr.Boot(context.Background(), t, ktstr.RunOptions{Backend: "auto"})
	if err != nil {
		fmt.Println("could not run:", err)
		return
	}
	fmt.Println(res.Verdict, res.Reasons)
}

// A test of the scheduler under development, configured as production
// runs it: arguments, its own config content, the cgroup parent the
// scheduler is told, sysctls, kernel arguments, the shapes it runs on, a
// BPF map write at attach, a watchdog override, and the failure expected
// of it. KTSTR_SCHEDULER=/path/to/binary replaces the scheduler without
// changing the test.
func ExampleOpts_production() {
	cells := &scheds.Scheduler{
		Name:             "cells",
		Source:           scheds.HostBinary{Path: "/usr/bin/scx_cells"},
		Config:           &scheds.Config{Content: "{}", Args: []string{"--config", "{config}"}},
		CgroupParent:     "workload.slice",
		CgroupParentArgs: []string{"--cell-parent-cgroup", "{cgroup}"},
	}
	testCells := func(t *testing.T) {
		ktstr.Run(t, ktstr.Opts{
			Scheduler:   cells,
			SchedArgs:   []string{"--verbose"},
			SchedConfig: &scheds.Config{Content: `{"cells": 2}`},
			Sysctls:     []ktstr.Sysctl{{Key: "kernel.sched_rt_runtime_us", Value: "900000"}},
			KernelArgs:  []string{"nosmt"},
			Constraints: topology.Constraints{MinLLCs: 2},
			MapWrites:   []bpfmap.Write{{Map: ".bss", Var: "nr_cells", Value: bpfmap.U32(2)}},
			Watchdog:    2 * time.Second,
			ExpectFail:  `runnable task stall`,
		}, func(ctx *scenario.Ctx) error {
			return scenario.ExecuteDefs(ctx, scenario.Cgroup("cell_a").Workers(2), scenario.Cgroup("cell_b").Workers(2))
		})
	}
	_ = testCells
}
