package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

func init() {
	register("shell", "open a busybox shell (or run one command) in a VM of a given topology", runShell)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runShell(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("shell", flag.ContinueOnError)
	topo := fs.String("topology", "1,1,2,1", "CPU topology as N,L,C,T (NUMA nodes, LLCs, cores per LLC, threads per core) or 1n1l2c1t")
	execCmd := fs.String("exec", "", "run this command with /bin/sh -c, print its output and exit with its exit code")
	mem := fs.Int("memory", 0, "guest memory in MiB (default 1024)")
	kernelFlag := fs.String("kernel", "", "kernel to boot (path, version or cache key; default: KTSTR_KERNEL, then the cache)")
	backend := fs.String("backend", "auto", "VMM backend: auto, kvm, qemu or qemu-tcg")
	var includes stringList
	fs.Var(&includes, "i", "copy a host file into the guest under /include/ (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	t, err := topology.Parse(*topo)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktstr shell: %v\n", err)
		return 2
	}
	res, err := ktstr.Shell(ctx, ktstr.ShellOptions{Topology: t, MemoryMB: *mem, Exec: *execCmd, Includes: includes},
		ktstr.RunOptions{Kernel: *kernelFlag, Backend: *backend, Log: newLogger()})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktstr shell: %v\n", err)
		return 1
	}
	if res.Verdict != verdict.Pass {
		fmt.Fprintf(os.Stderr, "ktstr shell: %s: %v\n", res.Verdict, res.Reasons)
		if res.ExitCode == 0 {
			return 1
		}
	}
	return res.ExitCode
}
