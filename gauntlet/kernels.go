package gauntlet

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/kernel"
)

// Kernel is one value of the kernel dimension, resolved once per run.
type Kernel struct {
	// Label names the kernel in case names: its release ("6.12.118"),
	// or the label a kernel list gave it.
	Label string
	// Spec finds the same kernel again without searching (a cache key or
	// an image path): what each variant's run is given.
	Spec string
	// K is the resolved kernel.
	K *kernel.Kernel
}

// FairClass is the kernel's default scheduling class for normal tasks:
// "eevdf" from 6.6 on, "cfs" before (an unknown release reads as eevdf).
func (k Kernel) FairClass() string {
	release := k.Label
	if k.K != nil && k.K.Meta != nil && k.K.Meta.Version != "" {
		release = k.K.Meta.Version
	}
	var major, minor int
	if _, err := fmt.Sscanf(release, "%d.%d", &major, &minor); err == nil && (major < 6 || major == 6 && minor < 6) {
		return "cfs"
	}
	return "eevdf"
}

// SchedExt says whether the kernel runs sched_ext schedulers, and the
// reason when it does not. A kernel nothing is known about is assumed to
// (its run then says otherwise).
func (k Kernel) SchedExt() (bool, string) {
	if k.K == nil {
		return true, ""
	}
	ok, _, why := k.K.SchedExt()
	return ok, why
}

// KernelOptions says where the kernel dimension comes from and how it is
// resolved.
type KernelOptions struct {
	// Specs are the --kernel values, each a kernel.ID form, "LABEL=SPEC",
	// or a range A..B; empty reads KTSTR_KERNEL_LIST, then KTSTR_KERNEL,
	// then resolves the default kernel.
	Specs []string
	// Registry is a repository whose tags ranges also expand against.
	Registry string
	Insecure bool
	CacheDir string
	Log      *zap.Logger
	// Env looks variables up; nil means os.LookupEnv.
	Env func(string) (string, bool)
}

// EnvKernelLabel names the kernel given by KTSTR_KERNEL in case names
// (the Bazel launcher sets it: there the kernel is a runfiles path whose
// release the target name already carries).
const EnvKernelLabel = "KTSTR_KERNEL_LABEL"

// EnvKernelParallelism caps how many kernels are resolved (pulled) at
// once; default: the number of CPUs. 0 or garbage means the default.
const EnvKernelParallelism = "KTSTR_KERNEL_PARALLELISM"

// ResolveKernels returns the kernel dimension: every spec resolved once
// (ranges expanded against the cache and the registry), duplicates (the
// same image reached twice) dropped, labels made unique. It errors on the
// first spec that resolves to no kernel, naming it.
func ResolveKernels(ctx context.Context, o KernelOptions) ([]Kernel, error) {
	env := o.Env
	if env == nil {
		env = os.LookupEnv
	}
	entries, err := kernelEntries(ctx, o, env)
	if err != nil {
		return nil, err
	}
	out := make([]Kernel, len(entries))
	errs := make([]error, len(entries))
	sem := make(chan struct{}, kernelParallelism(env))
	var wg sync.WaitGroup
	for i, e := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			k, err := kernel.Resolve(ctx, kernel.ResolveOptions{Spec: e.Spec, CacheDir: o.CacheDir, Insecure: o.Insecure, Logger: o.Log})
			if err != nil {
				errs[i] = fmt.Errorf("kernel %s: %w", describeEntry(e), err)
				return
			}
			label := e.Label
			if label == "" {
				label = k.Label()
			}
			out[i] = Kernel{Label: label, Spec: k.Spec(), K: k}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return uniqueKernels(out), nil
}

func describeEntry(e kernel.ListEntry) string {
	if e.Spec == "" {
		return "(default)"
	}
	return e.Spec
}

// kernelEntries lists what to resolve: the specs (flags), else
// KTSTR_KERNEL_LIST, else KTSTR_KERNEL (with KTSTR_KERNEL_LABEL), else the
// default kernel; ranges become one entry per release.
func kernelEntries(ctx context.Context, o KernelOptions, env func(string) (string, bool)) ([]kernel.ListEntry, error) {
	get := func(k string) string { v, _ := env(k); return strings.TrimSpace(v) }
	var list []kernel.ListEntry
	switch {
	case len(o.Specs) > 0:
		for _, s := range o.Specs {
			list = append(list, kernel.SplitList(s)...)
		}
	case get(kernel.EnvKernelList) != "":
		list = kernel.SplitList(get(kernel.EnvKernelList))
	case get(kernel.EnvKernel) != "":
		list = []kernel.ListEntry{{Label: get(EnvKernelLabel), Spec: get(kernel.EnvKernel)}}
	default:
		// The default kernel: what kernel.Resolve finds with no spec.
		return []kernel.ListEntry{{}}, nil
	}
	var out []kernel.ListEntry
	for _, e := range list {
		id, err := kernel.ParseID(e.Spec)
		if err != nil {
			return nil, err
		}
		if id.Kind != kernel.IDRange {
			out = append(out, e)
			continue
		}
		specs, err := kernel.ExpandRange(ctx, id, kernel.ExpandOptions{CacheDir: o.CacheDir, Registry: o.Registry, Insecure: o.Insecure})
		if err != nil {
			return nil, err
		}
		for _, s := range specs {
			out = append(out, kernel.ListEntry{Spec: s})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty kernel list: give --kernel SPEC (a version, cache key, path, registry reference or range A..B)")
	}
	return out, nil
}

// uniqueKernels drops a kernel reached twice (same image) and suffixes
// clashing labels with the cache key's kconfig hash or a counter, so every
// case name is distinct.
func uniqueKernels(ks []Kernel) []Kernel {
	var out []Kernel
	seenImage := map[string]bool{}
	seenLabel := map[string]int{}
	for _, k := range ks {
		if k.K != nil && seenImage[k.K.Image] {
			continue
		}
		if k.K != nil {
			seenImage[k.K.Image] = true
		}
		if n := seenLabel[k.Label]; n > 0 {
			suffix := strconv.Itoa(n + 1)
			if k.K != nil && k.K.Meta != nil && k.K.Meta.KconfigHash != "" {
				suffix = "kc" + k.K.Meta.KconfigHash
			}
			seenLabel[k.Label]++
			k.Label += "-" + suffix
		} else {
			seenLabel[k.Label] = 1
		}
		out = append(out, k)
	}
	return out
}

func kernelParallelism(env func(string) (string, bool)) int {
	if v, ok := env(EnvKernelParallelism); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			return n
		}
	}
	return runtime.NumCPU()
}
