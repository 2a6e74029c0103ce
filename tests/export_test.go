package tests

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

// exportE2EScript runs inside the VM, which plays the bare-metal host.
// "match" runs the .run file on a host of the test's shape, then again
// while another scheduler is attached; "small" runs it on a host with too
// few LLCs. After each run it prints what the script must not leave
// behind. The .run waits up to 60 s for the attach: BPF verification
// under TCG is slow.
const exportE2EScript = `R=/include/fifo_two_llcs.run
export KTSTR_ATTACH_TIMEOUT_SECS=60
leftovers() {
    echo "state=$(cat /sys/kernel/sched_ext/state)"
    echo "cgroups=$(cd /sys/fs/cgroup && ls -d ktstr* 2>/dev/null | tr '\n' ' ')"
    echo "tmpdirs=$(ls -d /tmp/ktstr-export-* 2>/dev/null | tr '\n' ' ')"
    # [t] keeps grep's own command line from matching.
    echo "procs=$(for p in /proc/[0-9]*; do tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep 'ktstr-expor[t]-'; done | tr '\n' ' ')"
}
case "$1" in
match)
    echo "--- pass"
    $R
    echo "exit=$?"
    leftovers
    echo "--- conflict"
    OTHER_SCHED_CMD >/tmp/other.log 2>&1 &
    other=$!
    i=0
    while [ "$(cat /sys/kernel/sched_ext/state)" != enabled ] && [ $i -lt 600 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    echo "other=$(cat /sys/kernel/sched_ext/root/ops)"
    $R --quiet
    echo "exit=$?"
    echo "still=$(cat /sys/kernel/sched_ext/root/ops)"
    kill "$other"
    wait "$other"
    echo "other-exit=$?"
    leftovers
    ;;
small)
    echo "--- fewer llcs"
    $R --quiet
    echo "exit=$?"
    leftovers
    ;;
esac
`

// TestExportRunfileInVM is the end-to-end proof of `ktstr export`: the
// .run file of a FIFO test is executed as root in VMs standing in for
// bare metal. On a host of the test's shape it attaches the scheduler,
// passes and leaves no cgroup, temp dir or scheduler process; with another
// scheduler attached, or on a host with fewer LLCs, it refuses with the
// matching message. Two VM boots, one at a time.
func TestExportRunfileInVM(t *testing.T) {
	runfile, dir := exportFromThisBinary(t, "fifo_two_llcs")

	// The conflicting scheduler is another in-repo one, started by hand
	// from /other/.
	files := map[string]string{"/bin/bash": bashStatic}
	otherCmd, err := otherScheduler(scheds.VTime, "/other/", files)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "export_e2e.sh")
	if err := os.WriteFile(script, []byte(strings.Replace(exportE2EScript, "OTHER_SCHED_CMD", otherCmd, 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	boot := func(topo, mode string) string {
		t.Helper()
		var out bytes.Buffer
		res, err := ktstr.Shell(context.Background(), ktstr.ShellOptions{
			Topology: topology.Must(topo),
			Exec:     "sh /include/export_e2e.sh " + mode,
			Includes: []string{runfile, script},
			Files:    files,
			Stdout:   &out,
			Stderr:   &out,
		}, ktstr.RunOptions{})
		if errors.Is(err, ktstr.ErrNoKernel) && !kernel.Required() {
			t.Skip(err)
		}
		if err != nil {
			t.Fatalf("%s VM: %v\n%s", topo, err, out.String())
		}
		t.Logf("%s VM (exit %d):\n%s", topo, res.ExitCode, out.String())
		return out.String()
	}

	match := boot("1n2l1c1t", "match")
	pass := section(match, "pass")
	expect(t, "pass", pass,
		"ktstr export: test=fifo_two_llcs scheduler=ktstr_fifo git=",
		"ktstr export: launching scheduler ktstr_fifo\n",
		"scxload: attached ktstr_fifo",
		"ktstr: running fifo_two_llcs on this host",
		"ktstr: fifo_two_llcs passed\n",
		"scxload: detached ktstr_fifo on terminated",
		"\nexit=0\n")
	noLeftovers(t, "pass", pass)

	conflict := section(match, "conflict")
	expect(t, "conflict", conflict,
		"\nother=ktstr_vtime\n",
		"error: another sched_ext scheduler is already attached (state=enabled, ops=ktstr_vtime).\n",
		"\nexit=1\n",
		"\nstill=ktstr_vtime\n",
		"\nother-exit=0\n")
	if strings.Contains(conflict, "attached ktstr_fifo") || strings.Contains(conflict, "ktstr: running") {
		t.Errorf("conflict: the scheduler or the test ran despite the attached scheduler:\n%s", conflict)
	}
	noLeftovers(t, "conflict", conflict)

	small := section(boot("1n1l2c1t", "small"), "fewer llcs")
	expect(t, "fewer llcs", small, "error: host has 1 LLCs, test needs 2\n", "\nexit=1\n")
	noLeftovers(t, "fewer llcs", small)
}

// bashStatic is the bash a busybox VM standing in for bare metal runs a
// .run file with.
const bashStatic = "/bin/bash-static"

// exportFromThisBinary exports a test registered in this test binary the
// way a user does: the real ktstr command, built here inside the source
// tree where the in-repo schedulers can be built. It returns the .run
// file and the temp dir holding it, and skips (VM test) under -short,
// without bash-static for the guest, or without the go tool.
func exportFromThisBinary(t *testing.T, test string) (runfile, dir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("VM test skipped under -short")
	}
	if _, err := os.Stat(bashStatic); err != nil {
		t.Skipf("the guest needs bash for the .run file: install bash-static (tools/setup/install-deps.sh): %v", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("building the ktstr command needs the go tool in PATH")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	ktstrCmd := filepath.Join(dir, "ktstr")
	if out, err := command(t, "..", goTool, "build", "-o", ktstrCmd, "./tools/ktstr"); err != nil {
		t.Fatalf("building the ktstr command: %v\n%s", err, out)
	}
	runfile = filepath.Join(dir, test+".run")
	if out, err := command(t, ".", ktstrCmd, "export", "--test-binary", self, "-o", runfile, test); err != nil {
		t.Fatalf("ktstr export: %v\n%s", err, out)
	}
	return runfile, dir
}

// otherScheduler maps a scheduler's /sched/ files to dir in files and
// returns its command line with the paths mapped the same way.
func otherScheduler(s *scheds.Scheduler, dir string, files map[string]string) (string, error) {
	fs, err := s.Files()
	if err != nil {
		return "", err
	}
	for gp, hp := range fs {
		files[path.Join(dir, path.Base(gp))] = hp
	}
	argv, err := s.Argv(nil)
	if err != nil {
		return "", err
	}
	for i, a := range argv {
		argv[i] = strings.Replace(a, guest.SchedDir, dir, 1)
	}
	return strings.Join(argv, " "), nil
}

func command(t *testing.T, dir, name string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	return cmd.CombinedOutput()
}

// section returns the output between "--- name" and the next "--- ".
func section(out, name string) string {
	_, rest, ok := strings.Cut(out, "--- "+name+"\n")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "\n--- "); i >= 0 {
		rest = rest[:i+1]
	}
	return "\n" + rest
}

func expect(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}

// noLeftovers checks the guest's report after a run: sched_ext back to
// disabled, no ktstr cgroup, no export temp dir, no process running from
// one.
func noLeftovers(t *testing.T, what, out string) {
	t.Helper()
	expect(t, what, out, "\nstate=disabled\n", "\ncgroups=\n", "\ntmpdirs=\n", "\nprocs=\n")
}
