package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

// This test binary is itself a ktstr test binary: it registers fixture
// tests and dispatches `<bin> ktstr ...` through ktstr.Main, so the tests
// below export from it exactly as `ktstr export` would from ./tests.
func TestMain(m *testing.M) { ktstr.Main(m) }

func passBody(*scenario.Ctx) error { return nil }

var (
	_ = ktstr.Register("export_fixture_eevdf", ktstr.Opts{
		Topology: topology.Must("1n1l2c1t"),
		Duration: 2 * time.Second,
		Includes: []string{"testdata/include.txt"},
	}, passBody)
	_ = ktstr.Register("export_fixture_2llc", ktstr.Opts{Topology: topology.Must("1n2l2c1t")}, passBody)
	_ = ktstr.Register("export_fixture_host_only", ktstr.Opts{HostOnly: true}, passBody)
	_ = ktstr.Register("export_fixture_dir_include", ktstr.Opts{Includes: []string{"./testdata"}}, passBody)
	_ = ktstr.Register("export_fixture_sched", ktstr.Opts{
		Topology:  topology.Must("1n1l2c1t"),
		Scheduler: fakeSched,
		Flags:     []string{"fast"},
		Watchdog:  3 * time.Second,
	}, passBody)
)

// prodSched is fakeSched told its cgroup parent by a flag, as cell
// schedulers are.
var prodSched = func() *scheds.Scheduler {
	s := *fakeSched
	s.CgroupParent = "ktstr-fixture-cells"
	s.CgroupParentArgs = []string{"--cell-parent-cgroup", "{cgroup}"}
	return &s
}()

// exportFixtureProd is configured as in production: sysctls, a kernel
// argument, the cgroup parent, extra arguments and its own config
// content. Its body checks the sysctl the script set.
var _ = ktstr.Register("export_fixture_prod", ktstr.Opts{
	Topology:    topology.Must("1n1l2c1t"),
	Scheduler:   prodSched,
	SchedArgs:   []string{"--extra"},
	SchedConfig: &scheds.Config{Content: `{"cells": 2}`},
	Sysctls:     []ktstr.Sysctl{{Key: "kernel.sched_rt_runtime_us", Value: "950000"}},
	KernelArgs:  []string{"ktstr_fixture_karg=1"},
	Duration:    time.Second,
}, func(*scenario.Ctx) error {
	b, err := os.ReadFile("/proc/sys/kernel/sched_rt_runtime_us")
	if err != nil || strings.TrimSpace(string(b)) != "950000" {
		return fmt.Errorf("sysctl not applied: %q %v", b, err)
	}
	return nil
})

// fakeSched is testdata/fake_sched, which pretends to attach by writing
// sched_ext's sysfs files (see TestRunfileOnFakeHost).
var fakeSched = &scheds.Scheduler{
	Name:   "fake",
	Source: scheds.HostBinary{Path: "testdata/fake_sched"},
	Args:   []string{"--slice", "it's 5"},
	Config: &scheds.Config{Content: "{}", GuestName: "fake.json", Args: []string{"-c{config}"}},
	Flags:  []scheds.Flag{{Name: "fast", Args: []string{"--fast"}}},
}

func self(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "eevdf.run")
	res, err := Export(context.Background(), Options{TestBinary: self(t), Test: "export_fixture_eevdf", Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != out || res.Includes != 1 || res.Git != Provenance(".") {
		t.Errorf("result %+v", res)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", st.Mode().Perm())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	script, payload, ok := strings.Cut(string(b), "\n"+ArchiveMarker+"\n")
	if !ok {
		t.Fatal("no archive marker")
	}
	for _, want := range []string{"KTSTR_TEST_NAME=export_fixture_eevdf\n", "NEED_LLCS=1\n", "NEED_CORES_PER_LLC=2\n", "TEST_DURATION_SECS=2\n", "KTSTR_SCHED_NAME=eevdf\n"} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q", want)
		}
	}
	blob := decodePayload(t, payload)
	_, entries := readArchive(t, blob)
	var names []string
	for _, e := range entries {
		names = append(names, e.hdr.Name)
	}
	if got := strings.Join(names, " "); got != "ktstr include/ include/include.txt" {
		t.Fatalf("archive entries %q", got)
	}
	bin, err := os.ReadFile(self(t))
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256([]byte(entries[0].data)) != sha256.Sum256(bin) {
		t.Error("packed ktstr differs from the test binary")
	}
	if entries[2].data != "fixture include\n" {
		t.Errorf("include content %q", entries[2].data)
	}
}

func decodePayload(t *testing.T, payload string) []byte {
	t.Helper()
	cmd := exec.Command("base64", "-d")
	cmd.Stdin = strings.NewReader(payload)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("base64 -d: %v", err)
	}
	return out
}

func TestExportScheduler(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sched.run")
	res, err := Export(context.Background(), Options{TestBinary: self(t), Test: "export_fixture_sched", Output: out})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range res.Entries {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, " "); got != "ktstr sched/fake.json sched/fake_sched" {
		t.Errorf("entries %q", got)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// Same order as in the VM: source command, Args, config args, flags.
	want := "\n${SUPERVISE[@]+\"${SUPERVISE[@]}\"} " + `"$DIR"/sched/fake_sched --slice 'it'\''s 5' -c"$DIR"/sched/fake.json --fast` + " &\n"
	if !strings.Contains(string(b), want) {
		t.Errorf("script lacks the scheduler command %q", want)
	}
	if !strings.Contains(string(b), "\nTEST_WATCHDOG_SECS=3\n") || !strings.Contains(string(b), "\nKTSTR_SCHED_NAME=fake\n") {
		t.Error("script lacks the frozen scheduler name or watchdog")
	}
}

func TestExportErrors(t *testing.T) {
	tests := []struct {
		test, want string
	}{
		{"export_fixture_host_only", "test 'export_fixture_host_only' is host-only"},
		{"export_fixture_evdf", `no registered test named "export_fixture_evdf"; did you mean: export_fixture_eevdf?`},
		{"export_fixture_dir_include", "include file './testdata' is a directory: only regular files can be included"},
	}
	for _, tt := range tests {
		t.Run(tt.test, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x.run")
			_, err := Export(context.Background(), Options{TestBinary: self(t), Test: tt.test, Output: out})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a failed export left a .run file")
			}
		})
	}
}

func TestList(t *testing.T) {
	names, err := List(context.Background(), self(t), "")
	if err != nil {
		t.Fatal(err)
	}
	got := " " + strings.Join(names, " ") + " "
	for _, want := range []string{"export_fixture_eevdf", "export_fixture_2llc", "export_fixture_dir_include"} {
		if !strings.Contains(got, " "+want+" ") {
			t.Errorf("list %q lacks %s", names, want)
		}
	}
	if strings.Contains(got, "host_only") {
		t.Errorf("list %q includes the host-only test", names)
	}
}

func TestCommand(t *testing.T) {
	t.Setenv("BUILD_WORKING_DIRECTORY", "")
	t.Setenv("BUILD_WORKSPACE_DIRECTORY", "")
	bin := self(t)
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Command(context.Background(), "ktstr export", args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	if code, _, stderr := run(); code != 2 || !strings.Contains(stderr, "missing the test NAME") || !strings.Contains(stderr, "ktstr export --help") {
		t.Errorf("no args: exit %d, stderr %q", code, stderr)
	}
	if code, stdout, _ := run("--list", "--test-binary", bin); code != 0 || !strings.Contains(stdout, "export_fixture_eevdf\n") {
		t.Errorf("--list: exit %d, stdout %q", code, stdout)
	}
	out := filepath.Join(t.TempDir(), "y.run")
	// Flags after the name, as in `bazel run //tools:export -- NAME -o x`.
	if code, stdout, stderr := run("export_fixture_2llc", "-o", out, "--quiet", "--test-binary", bin); code != 0 || stdout != "" || stderr != "" {
		t.Errorf("export --quiet: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Error(err)
	}
	code, _, stderr := run("export_fixture_2llc", "-o", out, "--test-binary", bin)
	if code != 0 || !strings.HasPrefix(stderr, "wrote "+out+" (") {
		t.Errorf("export: exit %d, stderr %q", code, stderr)
	}
	for _, args := range [][]string{{"a", "b"}, {"--list", "a"}, {"--bogus"}} {
		if code, _, stderr := run(args...); code != 2 || !strings.Contains(stderr, args[len(args)-1]) {
			t.Errorf("%q: exit %d, stderr %q; want a usage error naming %q", args, code, stderr, args[len(args)-1])
		}
	}
	if code, stdout, stderr := run("--help"); code != 0 || !strings.Contains(stdout, "--test-binary") {
		t.Errorf("--help: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	t.Setenv(TestBinaryEnv, bin)
	if code, _, stderr := run("export_fixture_host_only", "-o", out); code != 1 || !strings.Contains(stderr, "host-only") {
		t.Errorf("host-only via %s: exit %d, stderr %q", TestBinaryEnv, code, stderr)
	}
}
