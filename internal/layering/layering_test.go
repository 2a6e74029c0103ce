package layering

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The module's real import graph keeps the layering.
func TestModuleLayering(t *testing.T) {
	deps := moduleDeps(t)
	if len(deps) < 10 {
		t.Fatalf("go list found %d packages; is the module root wrong?", len(deps))
	}
	for _, v := range Check(Rules, deps) {
		t.Errorf("layering: %s", v)
	}
}

// moduleDeps runs `go list -deps` over the module's non-test packages.
func moduleDeps(t *testing.T) map[string][]string {
	t.Helper()
	// Under Bazel the test runs in a runfiles tree without the module's
	// go.mod or the go command; .ci/run's static step runs it with go test.
	if _, err := os.Stat("../../go.mod"); err != nil {
		t.Skip("layering: no go.mod at ../.. (run it with go test from the module, as .ci/run does)")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("layering: the go command is not on PATH")
	}
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, Module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	deps := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			deps[f[0]] = f[1:]
		}
	}
	return deps
}

// Each rule fires on the violation it exists for, and not on what it
// allows: a check that cannot fail would prove nothing.
func TestRulesCatchViolations(t *testing.T) {
	m := func(rel string) string {
		if rel == "." {
			return Module
		}
		return Module + "/" + rel
	}
	tests := []struct {
		name      string
		from      string
		deps      []string
		wantViols int
		wantWhy   string
	}{
		{"CLI imports tests", "tools/ktstr", []string{"tests/scheds"}, 1, "tests/"},
		{"root imports tests", ".", []string{"tests"}, 1, "tests/"},
		{"scenario reaches kernel through a dependency", "scenario", []string{"guest", "kernel"}, 1, "in-guest test API"},
		{"scenario imports vmm", "scenario", []string{"vmm", "kvm"}, 2, "in-guest test API"},
		{"kvm imports kernel/kerneltest", "kvm", []string{"kernel/kerneltest"}, 1, "thin /dev/kvm wrapper"},
		{"monitor imports guest", "monitor", []string{"guest"}, 1, "imports nothing of ours"},
		{"topology imports vmm", "topology", []string{"vmm"}, 1, "leaves"},
		{"the contract imports a backend", "vmm", []string{"vmm/qemu"}, 1, "know no backend"},
		{"guest imports the monitor", "guest", []string{"monitor"}, 1, "inside the VM"},
		{"kernel imports the x86 boot parser", "kernel", []string{"vmm/x86"}, 1, "knows no VMM"},
		{"internal imports root", "internal/tailbuf", []string{"."}, 1, "internal helpers"},
		{"vmm imports the runner", "vmm/native", []string{"."}, 1, "VMM layer"},
		{"results imports the runner", "results", []string{".", "vmm"}, 2, "finished runs"},
		{"allowed: results imports what the guest sent and the monitor saw", "results", []string{"guest", "monitor", "scenario", "topology", "verdict", "probe", "timeline"}, 0, ""},
		{"probe imports the host monitor", "probe", []string{"guest", "monitor"}, 1, "probe runs inside the VM"},
		{"probe imports the runner and the scenario", "probe", []string{".", "scenario"}, 2, "probe runs inside the VM"},
		{"allowed: probe imports guest", "probe", []string{"guest", "topology"}, 0, ""},
		{"timeline imports the VMM", "timeline", []string{"vmm", "kernel"}, 2, "timeline merges"},
		{"timeline imports results", "timeline", []string{"results"}, 1, "timeline merges"},
		{"allowed: timeline imports records, samples and probe results", "timeline", []string{"guest", "monitor", "probe", "verdict"}, 0, ""},
		{"root imports the gauntlet", ".", []string{"gauntlet"}, 1, "on top of the runner"},
		{"allowed: the gauntlet imports the runner", "gauntlet", []string{".", "kernel", "scheds", "monitor"}, 0, ""},
		{"allowed: root imports everything product", ".", []string{"scenario", "vmm", "vmm/qemu", "kernel", "scheds", "internal/tailbuf"}, 0, ""},
		{"allowed: scenario imports guest and leaves", "scenario", []string{"guest", "topology", "verdict", "internal/cgroupfs"}, 0, ""},
		{"allowed: tests import anything", "tests", []string{".", "vmm/native", "tools/internal/export"}, 0, ""},
		{"allowed: tools import tools", "tools/ktstr", []string{"tools/internal/export", "."}, 0, ""},
		{"allowed: outside the module", "kvm", []string{"golang.org/x/sys/unix"}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ds []string
			for _, d := range tc.deps {
				if strings.Contains(d, ".org/") {
					ds = append(ds, d)
				} else {
					ds = append(ds, m(d))
				}
			}
			got := Check(Rules, map[string][]string{m(tc.from): ds})
			if len(got) != tc.wantViols {
				t.Fatalf("%d violations %v, want %d", len(got), got, tc.wantViols)
			}
			for _, v := range got {
				if !strings.Contains(v.String(), tc.wantWhy) {
					t.Errorf("violation %q does not give the rule %q", v, tc.wantWhy)
				}
			}
		})
	}
}
