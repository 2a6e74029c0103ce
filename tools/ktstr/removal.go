package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// removal is how a command that deletes the user's data gets their
// consent, after listing what it would delete: --dry-run only lists, on a
// terminal it asks, and elsewhere it needs --force.
type removal struct {
	dryRun, force bool
}

func (r *removal) addFlags(c *cobra.Command) {
	fl := c.Flags()
	fl.BoolVar(&r.dryRun, "dry-run", false, "list what would be removed and kept; remove nothing")
	fl.BoolVarP(&r.force, "force", "f", false, "remove without asking (needed when not on a terminal)")
}

// check rejects contradicting flags.
func (r removal) check() error {
	if r.dryRun && r.force {
		return usagef("--dry-run and --force contradict each other: give one")
	}
	return nil
}

// consent says whether to remove what (e.g. "3 kernels (1.2 GB)"),
// asking question on a terminal. No (a dry run, a "no") is said on
// stderr; off a terminal without --force it is a usage error.
func (r removal) consent(e *env, what, question string) (bool, error) {
	switch {
	case r.dryRun:
		fmt.Fprintf(e.stderr, "dry run: nothing removed; without --dry-run this removes %s\n", what)
		return false, nil
	case r.force:
		return true, nil
	case !e.interactive:
		return false, usagef("nothing removed: not on a terminal, so no one could confirm removing %s; pass --force to remove them or --dry-run to only list them", what)
	case !confirm(e, question):
		fmt.Fprintln(e.stderr, "nothing removed")
		return false, nil
	}
	return true, nil
}
