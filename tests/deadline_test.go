package tests

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/topology"
)

// deadlineFixtureEnv makes TestGoTestDeadlineFixture run on the host.
const deadlineFixtureEnv = "KTSTR_DEADLINE_FIXTURE"

// A VM run that would outlast go test's -timeout is cut short to fit it:
// the test fails with where the guest was, and the test binary does not
// panic with "test timed out".
func TestGoTestDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("ktstr: VM tests are skipped under -short")
	}
	if _, err := kernel.Resolve(context.Background(), kernel.ResolveOptions{}); err != nil {
		if kernel.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	start := time.Now()
	cmd := exec.Command(os.Args[0], "-test.run=^TestGoTestDeadlineFixture$", "-test.timeout=75s", "-test.v")
	cmd.Env = append(os.Environ(), deadlineFixtureEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("fixture after %s (%v):\n%s", time.Since(start).Round(time.Second), err, out)
	s := string(out)
	if strings.Contains(s, "panic: test timed out") {
		t.Fatal("go test's -timeout fired: the VM run was not fitted inside it")
	}
	// The harness's warnings (here: the /dev/kvm fallback, where there
	// is one) come without Go stack traces.
	if strings.Contains(s, "github.com/ktstr-go/ktstr.") {
		t.Error("the output carries a Go stack trace")
	}
	for _, want := range []string{
		"--- FAIL: TestGoTestDeadlineFixture",
		"timeout: ",
		"where the vCPUs were when the VM was killed: vCPU 0 in ",
		"the VM was stopped to end before the go test -timeout deadline",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("fixture output lacks %q", want)
		}
	}
}

// TestGoTestDeadlineFixture hangs in the guest with an hour's timeout;
// TestGoTestDeadline runs it under a 75 s -timeout.
func TestGoTestDeadlineFixture(t *testing.T) {
	if os.Getenv(deadlineFixtureEnv) == "" && !guest.IsChild() {
		t.Skip("run by TestGoTestDeadline")
	}
	ktstr.Run(t, ktstr.Opts{Topology: topology.Must("1n1l1c1t"), Timeout: time.Hour}, func(*scenario.Ctx) error {
		time.Sleep(24 * time.Hour)
		return nil
	})
}
