package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Positional-argument checks. Each names what it rejects: "unexpected
// argument "stale"" rather than cobra's "accepts 0 arg(s), received 1",
// because a dropped word is how a command silently does something else.

// noArgs accepts no positional words.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument%s %s: %s takes none", plural(len(args)), quoteAll(args), c.CommandPath())
	}
	return nil
}

// positional accepts the named arguments in order; optional ones (names
// in [brackets]) may be left out from the end.
func positional(names ...string) cobra.PositionalArgs {
	required := 0
	for _, n := range names {
		if !strings.HasPrefix(n, "[") {
			required++
		}
	}
	return func(c *cobra.Command, args []string) error {
		switch {
		case len(args) < required:
			return fmt.Errorf("missing %s", strings.Join(names[len(args):required], " "))
		case len(args) > len(names):
			extra := args[len(names):]
			return fmt.Errorf("unexpected argument%s %s after %s", plural(len(extra)), quoteAll(extra), strings.Join(names, " "))
		}
		return nil
	}
}

func quoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// oneOf returns the one value given either as a positional argument or
// by flag (e.g. `run NAME` and `run --test NAME`), def if neither.
func oneOf(args []string, flagName, flagValue, def string) (string, error) {
	switch {
	case len(args) == 0 && flagValue == "":
		return def, nil
	case len(args) == 0:
		return flagValue, nil
	case flagValue != "" && flagValue != args[0]:
		return "", usagef("--%s %s and the argument %s disagree: give one", flagName, flagValue, args[0])
	}
	return args[0], nil
}
