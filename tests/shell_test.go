package tests

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/topology"
)

// TestShellExec runs one command in a busybox VM: its output comes back on
// stdout/stderr and its exit code is the result's.
func TestShellExec(t *testing.T) {
	if testing.Short() {
		t.Skip("VM test skipped under -short")
	}
	var out, errOut bytes.Buffer
	inc := filepath.Join(t.TempDir(), "included.txt")
	if err := os.WriteFile(inc, []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := ktstr.Shell(context.Background(), ktstr.ShellOptions{
		Topology: topology.Must("1n2l1c1t"),
		Exec:     "cat /sys/devices/system/cpu/online; echo oops >&2; cat /include/included.txt; exit 3",
		Includes: []string{inc},
		Stdout:   &out,
		Stderr:   &errOut,
	}, ktstr.RunOptions{})
	if errors.Is(err, ktstr.ErrNoKernel) && !kernel.Required() {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 {
		t.Errorf("exit code %d, want 3 (verdict %s %v)", res.ExitCode, res.Verdict, res.Reasons)
	}
	if got := out.String(); got != "0-1\nfrom the host\n" {
		t.Errorf("stdout %q, want the online CPUs and the included file", got)
	}
	if strings.TrimSpace(errOut.String()) != "oops" {
		t.Errorf("stderr %q, want oops", errOut.String())
	}
}

func TestShellExecTooLong(t *testing.T) {
	_, err := ktstr.Shell(context.Background(), ktstr.ShellOptions{
		Topology: topology.Must("1n1l1c1t"),
		Exec:     strings.Repeat("x", 5000),
	}, ktstr.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "-i") {
		t.Fatalf("err %v; want a length error pointing at -i", err)
	}
}
