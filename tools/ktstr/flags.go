package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/topology"
)

// Flags that several commands take, declared once here so they read and
// check the same everywhere.

// kernelUsage is what --kernel accepts (kernel.CheckSpec checks it).
const kernelUsage = "kernel to boot: a bzImage or build tree, a cached version (6.12 or 6.12.118), a cache key " +
	"or an OCI reference (default $KTSTR_KERNEL, else the newest cached kernel)"

func addKernelFlag(c *cobra.Command, p *string) {
	c.Flags().StringVar(p, "kernel", "", kernelUsage)
	_ = c.RegisterFlagCompletionFunc("kernel", completeKernels)
}

// checkVM checks what a run boots before any slow work: the kernel
// (checkKernel) and, when --backend is not given, KTSTR_BACKEND.
func checkVM(kernelFlag string, backend backendValue) error {
	if env := strings.TrimSpace(os.Getenv(ktstr.EnvBackend)); backend == "" && env != "" {
		var b backendValue
		if err := b.Set(env); err != nil {
			return usagef("%s=%s: %v", ktstr.EnvBackend, env, err)
		}
	}
	return checkKernel(kernelFlag)
}

// checkKernel checks the kernel a run will use, --kernel or else
// KTSTR_KERNEL, before any slow work: a path must be a bootable image.
func checkKernel(flag string) error {
	if flag = strings.TrimSpace(flag); flag != "" {
		return kernel.CheckSpec(flag, "--kernel "+flag)
	}
	if env := kernel.EnvSpec(); env != "" {
		return kernel.CheckSpec(env, kernel.EnvKernel+"="+env)
	}
	return nil
}

// backends are the VMM backends ktstr.SelectBackend knows.
var backends = []string{"auto", "kvm", "qemu", "qemu-tcg"}

// backendValue is a --backend that only takes a known backend.
type backendValue string

func (b *backendValue) String() string { return string(*b) }
func (b *backendValue) Type() string   { return "backend" }
func (b *backendValue) Set(s string) error {
	for _, k := range backends {
		if s == k {
			*b = backendValue(s)
			return nil
		}
	}
	return fmt.Errorf("unknown backend: use %s", strings.Join(backends, ", "))
}

// addBackendFlag is --backend; unset it leaves the choice to
// KTSTR_BACKEND, else auto (flag > environment, as for every override).
func addBackendFlag(c *cobra.Command, p *backendValue) {
	c.Flags().Var(p, "backend", "VMM: auto (the in-repo KVM VMM when /dev/kvm is usable, else QEMU), kvm, qemu or qemu-tcg (default $KTSTR_BACKEND, else auto)")
	_ = c.RegisterFlagCompletionFunc("backend", cobra.FixedCompletions(backends, cobra.ShellCompDirectiveNoFileComp))
}

// topologyValue is a --topology checked as it is parsed.
type topologyValue struct{ t *topology.Topology }

func (v topologyValue) String() string {
	if *v.t == (topology.Topology{}) {
		return ""
	}
	return v.t.String()
}
func (v topologyValue) Type() string { return "topology" }
func (v topologyValue) Set(s string) error {
	t, err := topology.Parse(s)
	if err != nil {
		return err
	}
	*v.t = t
	return nil
}

func addTopologyFlag(c *cobra.Command, p *topology.Topology, usage string) {
	c.Flags().Var(topologyValue{p}, "topology", usage+": NnLlCcTt (1n2l2c1t) or N,L,C,T (NUMA nodes, LLCs, cores per LLC, threads per core)")
	_ = c.RegisterFlagCompletionFunc("topology", cobra.NoFileCompletions)
}

// durationValue is a duration given as plain seconds (30) or with units
// (1m30s, 500ms); it must be positive.
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if *v.d == 0 {
		return ""
	}
	return v.d.String()
}
func (v durationValue) Type() string { return "duration" }
func (v durationValue) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("must be positive")
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want seconds (30) or a positive duration with a unit (1m30s, 500ms)")
	}
	return d, nil
}

func addDurationFlag(c *cobra.Command, p *time.Duration, name, usage string) {
	c.Flags().Var(durationValue{p}, name, usage+": seconds (30) or a duration with a unit (1m30s, 500ms)")
	_ = c.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
}

func addJSONFlag(c *cobra.Command, p *bool, what string) {
	c.Flags().BoolVar(p, "json", false, "print "+what+" as JSON on stdout (messages and progress stay on stderr)")
}

func addJUnitFlag(c *cobra.Command, p *string) {
	c.Flags().StringVar(p, "junit", "", "also write the results as JUnit XML to `FILE` (for CI test reporters)")
}

// addOutFlag is --out of the commands that keep results directories.
func addOutFlag(c *cobra.Command, p *string, what, def string) {
	c.Flags().StringVar(p, "out", "", what+" in `DIR` (default "+def+"; - for none)")
	_ = c.MarkFlagDirname("out")
}

// checkOutputFile checks that a file a flag names can be written: its
// directory exists. Checked before the run, not after it.
func checkOutputFile(flag, path string) error {
	if path == "" {
		return nil
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return usagef("--%s %s: directory %s does not exist", flag, path, dir)
	}
	return nil
}
