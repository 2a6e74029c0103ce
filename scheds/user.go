package scheds

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/ktstr-go/ktstr/guest"
)

// EnvScheduler names a scheduler file that replaces the scheduler of
// every test a process runs (go test, Bazel's ktstr_test, the ktstr
// command): a binary or a BPF object, as FromPath takes it.
const EnvScheduler = "KTSTR_SCHEDULER"

// FromPath turns a user's scheduler file into a Source, checking what
// can be checked on the host so a bad file fails before anything boots:
//
//   - a BPF object (.bpf.o holding a struct sched_ext_ops) is loaded in
//     the guest by the in-repo loader, scxload;
//   - an executable is run as it is: a static binary alone, a dynamic
//     one with its loader and shared libraries (found by ldd, packed at
//     their host paths).
//
// It also returns the ops name when the file says it (a BPF object's
// ops.name), else "".
func FromPath(path string) (Source, string, error) {
	if path == "" {
		return nil, "", errors.New("no scheduler path given")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", fmt.Errorf("scheduler %s: %w", path, err)
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, "", fmt.Errorf("scheduler %s: no such file (build it first or fix the path)", path)
	case err != nil:
		return nil, "", fmt.Errorf("scheduler %s: %w", path, err)
	case !st.Mode().IsRegular():
		return nil, "", fmt.Errorf("scheduler %s is not a regular file: give a scheduler binary or a BPF object (.bpf.o)", path)
	}
	f, err := elf.Open(abs)
	if err != nil {
		return nil, "", fmt.Errorf("scheduler %s is not an ELF file: give a scheduler binary or a BPF object (.bpf.o)", path)
	}
	defer f.Close()
	if f.Machine == emBPF {
		return bpfObjectFromPath(abs)
	}
	return binaryFromPath(abs, st, f)
}

func bpfObjectFromPath(path string) (Source, string, error) {
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		return nil, "", fmt.Errorf("BPF object %s: %w", path, err)
	}
	name := OpsName(spec)
	if name == "" {
		return nil, "", fmt.Errorf("BPF object %s declares no struct sched_ext_ops (in SEC(\".struct_ops.link\")): it is not a sched_ext scheduler", path)
	}
	return BPFObject{
		ObjectName: filepath.Base(path),
		Object:     func() (string, error) { return path, nil },
		Loader:     loader,
	}, name, nil
}

func binaryFromPath(path string, st os.FileInfo, f *elf.File) (Source, string, error) {
	if want := hostMachine(); want != elf.EM_NONE && f.Machine != want {
		return nil, "", fmt.Errorf("scheduler %s is built for %s, the guest runs %s", path, f.Machine, want)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return nil, "", fmt.Errorf("scheduler %s is an ELF %s, not an executable", path, f.Type)
	}
	if st.Mode().Perm()&0o111 == 0 {
		return nil, "", fmt.Errorf("scheduler %s is not executable: chmod +x it", path)
	}
	if _, err := guest.SharedLibs(path); err != nil {
		return nil, "", fmt.Errorf("scheduler %s is not static and its shared libraries cannot all be found to pack with it: %w (link it statically, or install the libraries)", path, err)
	}
	return HostBinary{Path: path}, "", nil
}

func hostMachine() elf.Machine {
	switch runtime.GOARCH {
	case "amd64":
		return elf.EM_X86_64
	case "arm64":
		return elf.EM_AARCH64
	}
	return elf.EM_NONE
}

// Replace returns the scheduler a test runs when a launcher names a
// scheduler file (ktstr run --scheduler, KTSTR_SCHEDULER): the test's
// definition with its Source replaced, so the test's Args, flags,
// config and cgroup parent still apply, and Name set to the file's ops
// name when it declares one, else empty (whichever attaches is
// accepted). Under EEVDF (base nil) it is a new definition.
func Replace(base *Scheduler, src Source, name string) *Scheduler {
	s := &Scheduler{}
	if base != nil && !base.IsKernelBuiltin() {
		*s = *base
	}
	s.Source, s.Name = src, name
	return s
}

// ResolveOverride applies the override cascade for the scheduler a test
// runs, highest first: the launcher's path (a command-line flag, for the
// one test it runs), then $KTSTR_SCHEDULER (for every test of a process
// that has a sched_ext scheduler: EEVDF and kernel-builtin tests keep
// theirs), then the test's own. env looks a variable up. The second
// result says where the choice came from ("--scheduler",
// "KTSTR_SCHEDULER", "test").
func ResolveOverride(base *Scheduler, flagPath string, env func(string) (string, bool)) (*Scheduler, string, error) {
	path, from := strings.TrimSpace(flagPath), "--scheduler"
	if path == "" && base != nil && !base.IsKernelBuiltin() {
		v, _ := env(EnvScheduler)
		path, from = strings.TrimSpace(v), EnvScheduler
	}
	if path == "" {
		return base, "test", nil
	}
	src, name, err := FromPath(path)
	if err != nil {
		return nil, from, fmt.Errorf("%s: %w", from, err)
	}
	return Replace(base, src, name), from, nil
}
