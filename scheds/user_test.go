package scheds

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/ktstr-go/ktstr/bpfmap"
)

// refObject finds a built in-repo BPF object in the scheduler cache, or
// skips: building one needs clang and a kernel's BTF.
func refObject(t *testing.T, short string) string {
	t.Helper()
	dir := os.Getenv(EnvCache)
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "ktstr", "scheds")
	}
	m, _ := filepath.Glob(filepath.Join(dir, "ref-*", short+".bpf.o"))
	if len(m) == 0 {
		t.Skipf("no built %s.bpf.o under %s (ktstr sched build)", short, dir)
	}
	// The newest build: older cache entries hold older sources.
	newest, at := m[0], time.Time{}
	for _, p := range m {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(at) {
			newest, at = p, fi.ModTime()
		}
	}
	return newest
}

func TestFromPathRejects(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	noexec := filepath.Join(dir, "noexec")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noexec, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing"), "no such file (build it first or fix the path)"},
		{dir, "is not a regular file"},
		{script, "is not an ELF file: give a scheduler binary or a BPF object"},
		{noexec, "is not executable: chmod +x it"},
	} {
		_, _, err := FromPath(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromPath(%s) = %v, want %q", tc.path, err, tc.want)
		}
	}
}

// TestFromPathMissingLibrary: a dynamic binary whose shared library is
// gone is refused on the host, not in the guest.
func TestFromPathMissingLibrary(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("needs a C compiler to build a dynamic binary")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "lib.c")
	main := filepath.Join(dir, "main.c")
	_ = os.WriteFile(src, []byte("int f(void){return 1;}\n"), 0o644)
	_ = os.WriteFile(main, []byte("int f(void); int main(void){return f();}\n"), 0o644)
	lib := filepath.Join(dir, "libgone.so")
	bin := filepath.Join(dir, "scx_dyn")
	for _, args := range [][]string{
		{"-shared", "-fPIC", "-o", lib, src},
		{"-o", bin, main, "-L" + dir, "-lgone"},
	} {
		if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
			t.Skipf("cc %v: %v: %s", args, err, out)
		}
	}
	if err := os.Remove(lib); err != nil {
		t.Fatal(err)
	}
	_, _, err = FromPath(bin)
	if err == nil || !strings.Contains(err.Error(), "is not static and its shared libraries cannot all be found") ||
		!strings.Contains(err.Error(), "libgone.so") {
		t.Fatalf("FromPath = %v, want the missing library named", err)
	}
}

func TestFromPathBinary(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, name, err := FromPath(self)
	if err != nil {
		t.Fatal(err)
	}
	if hb, ok := src.(HostBinary); !ok || hb.Path != self || name != "" {
		t.Fatalf("FromPath = %#v, %q", src, name)
	}
}

func TestFromPathBPFObject(t *testing.T) {
	obj := refObject(t, "fifo")
	src, name, err := FromPath(obj)
	if err != nil {
		t.Fatal(err)
	}
	if name != "ktstr_fifo" {
		t.Errorf("ops name %q, want ktstr_fifo", name)
	}
	if o, ok := src.(BPFObject); !ok || o.ObjectName != "fifo.bpf.o" {
		t.Errorf("FromPath = %#v, want a BPFObject loaded by scxload", src)
	}
	if got := src.Argv(); strings.Join(got, " ") != "/sched/scxload -obj /sched/fifo.bpf.o" {
		t.Errorf("Argv = %v", got)
	}
}

// TestEmbeddedObjects finds an object embedded in a binary as a libbpf
// skeleton embeds it, between other bytes.
func TestEmbeddedObjects(t *testing.T) {
	obj, err := os.ReadFile(refObject(t, "fifo"))
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	blob := append(append(append([]byte{}, host[:4096]...), obj...), bytes.Repeat([]byte{0xee}, 100)...)
	got := EmbeddedObjects(blob)
	if len(got) != 1 || !bytes.Equal(got[0], obj) {
		t.Fatalf("found %d objects, want exactly the embedded one", len(got))
	}
	bin := filepath.Join(t.TempDir(), "scx_fake")
	if err := os.WriteFile(bin, blob, 0o755); err != nil {
		t.Fatal(err)
	}
	// Objects extracts into the user cache: a test must not write to the
	// real one (read-only in Bazel's sandbox).
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	paths, err := Objects(bin)
	if err != nil || len(paths) != 1 {
		t.Fatalf("Objects = %v, %v", paths, err)
	}
	spec, err := ebpf.LoadCollectionSpec(paths[0])
	if err != nil || OpsName(spec) != "ktstr_fifo" {
		t.Fatalf("extracted object: %v, ops %q", err, OpsName(spec))
	}
}

func TestCheckMapWrites(t *testing.T) {
	files := map[string]string{"/sched/unfair.bpf.o": refObject(t, "unfair")}
	for _, tc := range []struct {
		w    bpfmap.Write
		want string
	}{
		{bpfmap.Write{Map: "ktstr_exit", Value: []byte{1}}, ""},
		{bpfmap.Write{Map: "ktstr_unfair.rodata", Var: "victim", Value: make([]byte, 32)}, ""},
		{bpfmap.Write{Map: "nope", Value: []byte{1}}, `have no map "nope"`},
		{bpfmap.Write{Map: ".rodata", Var: "nope", Value: []byte{1}}, "has no variable nope"},
		{bpfmap.Write{Map: ".rodata", Var: "victim", Value: bpfmap.U32(1)}, "is 32 bytes"},
	} {
		err := CheckMapWrites(files, []bpfmap.Write{tc.w})
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckMapWrites(%v) = %v, want %q", tc.w, err, tc.want)
		}
	}
	if err := CheckMapWrites(map[string]string{}, []bpfmap.Write{{Map: "x", Value: []byte{1}}}); err != ErrNoObjects {
		t.Errorf("no objects: %v", err)
	}
}

// Beside other schedulers' objects (Bazel passes every prebuilt one),
// each with a .data of its own, a write is checked against the object
// whose map has the variable, whatever order the objects come in.
func TestCheckMapWritesAmongObjects(t *testing.T) {
	files := map[string]string{}
	for _, n := range []string{"fifo", "vtime", "starve", "stall", "error", "unfair"} {
		files["/sched/"+n+".bpf.o"] = refObject(t, n)
	}
	ok := bpfmap.Write{Map: ".data", Var: "victim_slice_us", Value: bpfmap.U64(100000)}
	for range 20 { // map iteration order varies
		if err := CheckMapWrites(files, []bpfmap.Write{ok}); err != nil {
			t.Fatalf("CheckMapWrites(%v) among %d objects: %v", ok, len(files), err)
		}
	}
	bad := bpfmap.Write{Map: ".data", Var: "nope", Value: bpfmap.U64(1)}
	if err := CheckMapWrites(files, []bpfmap.Write{bad}); err == nil || !strings.Contains(err.Error(), "has no variable nope") {
		t.Errorf("CheckMapWrites(%v) = %v, want no variable nope", bad, err)
	}
}

func TestResolveOverride(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	base := testSched(t)
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) { return v, k == EnvScheduler && v != "" }
	}
	s, from, err := ResolveOverride(base, "", env(""))
	if err != nil || s != base || from != "test" {
		t.Fatalf("no override: %v %q %v", s, from, err)
	}
	s, from, err = ResolveOverride(base, "", env(self))
	if err != nil || from != EnvScheduler || s.Source.(HostBinary).Path != self || s.Name != "" {
		t.Fatalf("env override: %+v %q %v", s, from, err)
	}
	if strings.Join(s.Args, " ") != "--base" || len(s.Flags) != 3 || s.Config == nil {
		t.Errorf("the replacement must keep the test's Args, Flags and Config: %+v", s)
	}
	if base.Source.(HostBinary).Path == self {
		t.Error("Replace changed the test's definition")
	}
	s, from, err = ResolveOverride(nil, self, env("/nonexistent"))
	if err != nil || from != "--scheduler" || s == nil {
		t.Fatalf("flag beats env: %+v %q %v", s, from, err)
	}
	if s, from, err := ResolveOverride(nil, "", env(self)); err != nil || s != nil || from != "test" {
		t.Fatalf("KTSTR_SCHEDULER must leave an EEVDF test under EEVDF: %+v %q %v", s, from, err)
	}
	_, _, err = ResolveOverride(base, "", env("/nonexistent/scx"))
	if err == nil || !strings.HasPrefix(err.Error(), "KTSTR_SCHEDULER: scheduler /nonexistent/scx: no such file") {
		t.Fatalf("bad env path: %v", err)
	}
}

func TestInvocationArgv(t *testing.T) {
	s := testSched(t)
	s.CgroupParent = "workload.slice"
	s.CgroupParentArgs = []string{"--cell-parent-cgroup", "{cgroup}"}
	iv := Invocation{Sched: s, Flags: []string{"llc"}, ExtraArgs: []string{"--extra", "1"},
		Config: &Config{Content: "y=2\n"}}
	argv, err := iv.Argv()
	if err != nil {
		t.Fatal(err)
	}
	want := "/sched/scx_test --base --config=/sched/config --cell-parent-cgroup /workload.slice --llc --extra 1"
	if got := strings.Join(argv, " "); got != want {
		t.Errorf("Argv =\n  %s\nwant\n  %s", got, want)
	}
	files, err := iv.Files()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(files["/sched/config"])
	if err != nil || string(b) != "y=2\n" {
		t.Errorf("the test's config content must replace the scheduler's: %q, %v", b, err)
	}
	iv.CgroupParent = "/abs"
	if _, err := iv.Argv(); err == nil || !strings.Contains(err.Error(), "relative to the cgroup root") {
		t.Errorf("absolute cgroup parent: %v", err)
	}
	noArgs := Invocation{Sched: &Scheduler{Name: "x", Source: s.Source}, Config: &Config{Content: "c"}}
	if _, err := noArgs.Argv(); err == nil || !strings.Contains(err.Error(), "set Config.Args") {
		t.Errorf("config without Args: %v", err)
	}
	builtin := Invocation{Sched: &Scheduler{Name: "eevdf_x", Source: KernelBuiltin{Enable: []string{"true"}}}}
	if argv, err := builtin.Argv(); err != nil || argv != nil {
		t.Errorf("kernel-builtin Argv = %v, %v", argv, err)
	}
	builtin.ExtraArgs = []string{"-v"}
	if _, err := builtin.Argv(); err == nil {
		t.Error("a kernel-builtin scheduler must refuse arguments")
	}
}

func TestVerifyTargetsFor(t *testing.T) {
	obj := refObject(t, "fifo")
	ts, err := VerifyTargetsFor(obj)
	if err != nil || len(ts) != 1 || ts[0].Name != "fifo" || ts[0].Path != obj {
		t.Fatalf("VerifyTargetsFor(object) = %+v, %v", ts, err)
	}
	if p, err := ts[0].HostObject(&Built{}); err != nil || p != obj {
		t.Errorf("HostObject = %q, %v", p, err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyTargetsFor(self); err == nil || !strings.Contains(err.Error(), "embeds none") {
		t.Errorf("a binary without objects: %v", err)
	}
	if _, err := (VerifyTarget{Name: "x", Object: "x"}).HostObject(&Built{}); err == nil {
		t.Error("an unbuilt object was found")
	}
}
