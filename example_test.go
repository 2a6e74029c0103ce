package ktstr_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
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
