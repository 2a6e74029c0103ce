package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Command groups, in the order `ktstr help` lists them.
const (
	groupTest   = "test"
	groupSupply = "supply"
	groupOther  = "other"
)

// constructor builds one command; parent is the path of the command it
// belongs under ("" for the top level, "kernel" for `ktstr kernel X`).
type constructor struct {
	parent string
	build  func(*env) *cobra.Command
}

var constructors []constructor

// register adds a command. Each cmd_<name>.go calls it from init, so a
// new command is one new file; constructors (not shared command values)
// let every execute, and every test, start from fresh flags.
func register(parent string, build func(*env) *cobra.Command) {
	constructors = append(constructors, constructor{parent, build})
}

// newRoot builds the command tree for one execution.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "ktstr",
		Short: "Test Linux schedulers in VMs of any CPU topology",
		Long: `ktstr boots small VMs with the CPU topology you ask for, runs scheduler
scenarios in them (sched_ext BPF schedulers or the kernel's EEVDF) and judges
the result from the host.`,
		Version:       version(),
		Args:          subcommandArgs,
		RunE:          missingSubcommand,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetVersionTemplate("ktstr {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	root.AddGroup(
		&cobra.Group{ID: groupTest, Title: "Testing:"},
		&cobra.Group{ID: groupSupply, Title: "Kernels and schedulers:"},
		&cobra.Group{ID: groupOther, Title: "Other:"},
	)
	// A command that only groups others is runnable (to say "missing a
	// command" with exit 2) but its usage line is the [command] one; the
	// top level also explains exit codes and the environment.
	usage := strings.Replace(root.UsageTemplate(), "Usage:{{if .Runnable}}", "Usage:{{if and .Runnable (not .HasAvailableSubCommands)}}", 1)
	root.SetUsageTemplate(usage + "{{if not .HasParent}}\n" + exitCodesHelp + "\n\n" + envHelp + "\n{{end}}")
	// A child may register before its parent (init runs files in name
	// order): attach in rounds until every parent exists.
	byPath := map[string]*cobra.Command{"": root}
	pending := constructors
	for len(pending) > 0 {
		var next []constructor
		for _, c := range pending {
			p, ok := byPath[c.parent]
			if !ok {
				next = append(next, c)
				continue
			}
			cmd := c.build(e)
			if cmd.GroupID == "" && p == root {
				cmd.GroupID = groupOther
			}
			p.AddCommand(cmd)
			byPath[strings.TrimSpace(c.parent+" "+cmd.Name())] = cmd
		}
		if len(next) == len(pending) {
			panic(fmt.Sprintf("ktstr: no parent command %q", next[0].parent))
		}
		pending = next
	}
	root.SetHelpCommand(newHelpCmd())
	root.SetHelpCommandGroupID(groupOther)
	root.SetCompletionCommandGroupID(groupOther)
	root.InitDefaultCompletionCmd()
	root.InitDefaultVersionFlag()
	classifyRunErrors(root)
	return root
}

// classifyRunErrors wraps every command's RunE so that what its work
// returns gets an exit code (ranError). An error cobra returns before
// RunE (an unknown flag, a bad argument) stays unclassified: usage.
func classifyRunErrors(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(c *cobra.Command, args []string) error { return ranError(run(c, args)) }
	}
	for _, sub := range c.Commands() {
		classifyRunErrors(sub)
	}
}

// execute runs the command line args and returns the exit code, having
// printed any error as "ktstr <command>: <message>".
func execute(ctx context.Context, e *env, args []string) int {
	root := newRoot(e)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if cmd == nil {
		cmd = root
	}
	code, msg := exitPass, ""
	if err != nil {
		code, msg = exitUsage, err.Error()
		var xe *exitError
		if errors.As(err, &xe) {
			code = xe.code
			if xe.err == nil {
				msg = ""
			}
		}
	}
	if ctx.Err() != nil && code != exitPass {
		code = exitInterrupted
	}
	if msg != "" {
		fmt.Fprintf(e.stderr, "%s: %s\n", cmd.CommandPath(), msg)
	}
	if code == exitUsage {
		fmt.Fprintf(e.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// subcommandArgs is the Args of a command that only groups others: an
// unknown word is an error naming it (with close matches).
func subcommandArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if c.SuggestionsMinimumDistance == 0 {
		c.SuggestionsMinimumDistance = 2
	}
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return errors.New(msg)
}

// missingSubcommand is the RunE of a command that only groups others.
func missingSubcommand(c *cobra.Command, _ []string) error {
	fmt.Fprint(c.ErrOrStderr(), c.UsageString())
	return usagef("missing a command")
}

// newHelpCmd is `ktstr help [COMMAND]`: cobra's, except that an unknown
// topic is a usage error instead of a success.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]...",
		Short: "Help about any command",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			cmd, _, _ := c.Root().Find(args)
			var names []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					names = append(names, sub.Name())
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err == nil && len(rest) > 0 {
				err = subcommandArgs(cmd, rest)
			}
			if err != nil {
				return usageErr(err)
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}

// envHelp lists the environment the commands read.
const envHelp = `Environment:
  KTSTR_KERNEL     kernel to boot when --kernel is not given
  KTSTR_BACKEND    VMM when --backend is not given
  KTSTR_CACHE_DIR  kernel cache (default $XDG_CACHE_HOME/ktstr/kernels or ~/.cache/ktstr/kernels)
  KTSTR_LOG        log level: debug, info (default), warn, error
  NO_COLOR         no colours even on a terminal`
