package watchdog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// The test binary doubles as the traced program: with childEnv set it
// writes a fake ops value into a BPF array map and prints what the kernel
// then holds.
const childEnv = "KTSTR_WATCHDOG_TEST_CHILD"

// fakeLayout places a name and a timeout in a 16-byte array value, as a
// sched_ext ops value holds them.
var fakeLayout = Layout{ValueSize: 16, NameOff: 0, NameLen: 8, TimeoutOff: 8}

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(child())
	}
	RunIfRequested()
	os.Exit(m.Run())
}

func child() int {
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: fakeLayout.ValueSize, MaxEntries: 1})
	if err != nil {
		fmt.Println("skip:", err)
		return 0
	}
	defer m.Close()
	v := make([]byte, fakeLayout.ValueSize)
	copy(v, "probe")
	binary.NativeEndian.PutUint32(v[fakeLayout.TimeoutOff:], 5000)
	if err := m.Update(uint32(0), v, ebpf.UpdateAny); err != nil {
		fmt.Println("update:", err)
		return 1
	}
	got := make([]byte, fakeLayout.ValueSize)
	if err := m.Lookup(uint32(0), &got); err != nil {
		fmt.Println("lookup:", err)
		return 1
	}
	fmt.Printf("timeout_ms=%d\n", binary.NativeEndian.Uint32(got[fakeLayout.TimeoutOff:]))
	return 0
}

// TestTraceRewritesMapUpdate runs a child that stores 5000 in a map and
// checks the tracer made the kernel receive 2000 instead, and reported it.
func TestTraceRewritesMapUpdate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for BPF maps and ptrace")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdout = &out
	var rewrites []Rewrite
	var failures []error
	rw := newRewriter(2*time.Second, func(r Rewrite) { rewrites = append(rewrites, r) }, func(err error) { failures = append(failures, err) })
	rw.mapType = 2 // BPF_MAP_TYPE_ARRAY
	rw.layout = func() (Layout, error) { return fakeLayout, nil }
	done := make(chan error, 1)
	go func() {
		ws, err := trace(cmd, func(int) {}, rw.onUpdate)
		if err == nil && (!ws.Exited() || ws.ExitStatus() != 0) {
			err = fmt.Errorf("child ended with %v: %s", ws, out.String())
		}
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.HasPrefix(s, "skip:") {
		t.Skip(strings.TrimSpace(s))
	}
	if got := strings.TrimSpace(out.String()); got != "timeout_ms=2000" {
		t.Fatalf("child saw %q, want timeout_ms=2000 (rewrites %v, failures %v)", got, rewrites, failures)
	}
	want := Rewrite{Ops: "probe", Asked: 5 * time.Second, Set: 2 * time.Second}
	if len(rewrites) != 1 || rewrites[0] != want || len(failures) > 0 {
		t.Fatalf("rewrites %v, failures %v; want exactly %v", rewrites, failures, want)
	}
	if s := want.String(); s != "scheduler probe asked for a 5s watchdog timeout; set 2s" {
		t.Errorf("Rewrite.String = %q", s)
	}
}

// TestSuperviseExitStatus: the supervisor leaves as its scheduler did,
// with its exit status or killed by its signal.
func TestSuperviseExitStatus(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for ptrace of a child under some hardened kernels")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		script string
		code   int
		signal syscall.Signal
	}{
		{script: "exit 0"},
		{script: "exit 7", code: 7},
		{script: "kill -TERM $$", code: -1, signal: syscall.SIGTERM},
	} {
		argv := Command(self, time.Second, Options{Layout: &fakeLayout}, []string{"/bin/sh", "-c", tc.script})
		err := exec.Command(argv[0], argv[1:]...).Run()
		var ee *exec.ExitError
		switch {
		case err == nil && tc.code == 0:
		case errors.As(err, &ee) && ee.ExitCode() == tc.code:
			if ws := ee.Sys().(syscall.WaitStatus); tc.signal != 0 && ws.Signal() != tc.signal {
				t.Errorf("%s: supervisor ended by %v, want %v", tc.script, ws.Signal(), tc.signal)
			}
		default:
			t.Errorf("%s: supervisor ended with %v, want code %d", tc.script, err, tc.code)
		}
	}
}

func TestCheckTimeout(t *testing.T) {
	for d, want := range map[time.Duration]string{
		2 * time.Second:         "",
		0:                       "must be positive",
		31 * time.Second:        "at most 30s",
		1500 * time.Microsecond: "whole milliseconds",
	} {
		err := CheckTimeout(d)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("CheckTimeout(%v) = %v, want %q", d, err, want)
		}
	}
}

func TestParseFdInfo(t *testing.T) {
	typ, size, err := parseFdInfo("pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nmap_type:\t26\nkey_size:\t4\nvalue_size:\t1288\nmax_entries:\t1\n")
	if err != nil || typ != 26 || size != 1288 {
		t.Fatalf("parseFdInfo = %d, %d, %v", typ, size, err)
	}
	if _, _, err := parseFdInfo("pos:\t0\nflags:\t02\n"); err == nil {
		t.Fatal("a descriptor without map_type must not parse as a map")
	}
}

// TestLayoutFromVmlinux reads the layout from a sched_ext kernel's BTF
// ($KTSTR_VMLINUX, as the scheduler builds use) and checks it against
// 6.12's struct sched_ext_ops: name is the last 128 bytes before the
// hotplug sequence, timeout_ms a u32 the kernel accepts up to 30 s.
func TestLayoutFromVmlinux(t *testing.T) {
	path := os.Getenv("KTSTR_VMLINUX")
	if path == "" {
		t.Skip("set KTSTR_VMLINUX to a sched_ext kernel's vmlinux to check the BTF layout")
	}
	spec, err := btf.LoadSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	l, err := LayoutFrom(spec)
	if err != nil {
		t.Fatal(err)
	}
	if l.NameLen != 128 || l.TimeoutOff <= 0 || l.NameOff <= l.TimeoutOff || int(l.ValueSize) < l.NameOff+l.NameLen {
		t.Fatalf("implausible layout %+v", l)
	}
	t.Logf("layout %+v", l)
}

func TestLayoutFromKernelWithoutSchedExt(t *testing.T) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Skipf("no kernel BTF: %v", err)
	}
	if _, err := LayoutFrom(spec); err == nil {
		t.Skip("this kernel has sched_ext")
	} else if !strings.Contains(err.Error(), "CONFIG_SCHED_CLASS_EXT") {
		t.Fatalf("LayoutFrom = %v, want the missing-sched_ext hint", err)
	}
}

func TestLayoutString(t *testing.T) {
	l, err := ParseLayout(fakeLayout.String())
	if err != nil || l != fakeLayout {
		t.Fatalf("ParseLayout(%q) = %+v, %v", fakeLayout.String(), l, err)
	}
	for _, bad := range []string{"", "1:2:3", "16:14:0:8", "x:1:2:3"} {
		if _, err := ParseLayout(bad); err == nil {
			t.Errorf("ParseLayout(%q) accepted", bad)
		}
	}
}
