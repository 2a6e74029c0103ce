package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

func init() { register("", newShellCmd) }

func newShellCmd(e *env) *cobra.Command {
	var (
		topo          = topology.Must("1n1l2c1t")
		execCmd, kern string
		memory        int
		includes      []string
		backend       backendValue
	)
	c := &cobra.Command{
		Use:   "shell [flags] [COMMAND [ARG]...]",
		Short: "Open a busybox shell in a VM of a given topology, or run one command in it",
		Long: `Boots a VM of the given shape with busybox. Without a command the console is
attached to your terminal; with one (words after the flags, or --exec for a
shell snippet) its output is printed and ktstr exits with its exit status.
Flags go before the command: everything from the first word on is the command.`,
		Example: `  ktstr shell --topology 2n4l2c1t
  ktstr shell --topology 1n1l4c2t lscpu -e
  ktstr shell -i ./probe.sh --exec 'sh /include/probe.sh | head'`,
		GroupID:           groupTest,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 && execCmd != "" {
				return usagef("give the command as words or as --exec, not both (got --exec %q and %s)", execCmd, quoteAll(args))
			}
			if len(args) > 0 {
				execCmd = shellJoin(args)
			}
			if memory < 0 {
				return usagef("--memory %d: want a size in MiB, or 0 for the default (%d)", memory, ktstr.DefaultMemoryMB)
			}
			if _, err := guest.ResolveIncludes(includes, ""); err != nil {
				return usageErr(err)
			}
			if err := checkVM(kern, backend); err != nil {
				return err
			}
			res, err := ktstr.Shell(c.Context(), ktstr.ShellOptions{Topology: topo, MemoryMB: memory, Exec: execCmd, Includes: includes,
				Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr},
				ktstr.RunOptions{Kernel: kern, Backend: string(backend), Log: e.logger()})
			if err != nil {
				return err
			}
			if res.Verdict != verdict.Pass && res.ExitCode == 0 {
				return fmt.Errorf("VM %s: %s", res.Verdict, strings.Join(res.Reasons, "; "))
			}
			return exitCode(res.ExitCode)
		},
	}
	// Everything after the first word is the command's, flags included.
	c.Flags().SetInterspersed(false)
	fl := c.Flags()
	addTopologyFlag(c, &topo, "VM shape (default 1n1l2c1t)")
	fl.StringVar(&execCmd, "exec", "", "run this with /bin/sh -c, print its output and exit with its status")
	fl.IntVar(&memory, "memory", 0, "guest memory in MiB (default "+strconv.Itoa(ktstr.DefaultMemoryMB)+")")
	fl.StringArrayVarP(&includes, "include", "i", nil, "copy a host file (or a program from $PATH) into the guest under /include/; repeatable")
	addKernelFlag(c, &kern)
	addBackendFlag(c, &backend)
	return c
}

// shellJoin quotes words for /bin/sh -c so they reach the command as
// given.
func shellJoin(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
			q[i] = w
			continue
		}
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
