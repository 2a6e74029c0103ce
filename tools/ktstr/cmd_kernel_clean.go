package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/kernel"
)

func init() { register("kernel", newKernelCleanCmd) }

// cleanFlags are `ktstr kernel clean`'s flags.
type cleanFlags struct {
	opts kernel.CleanOptions
	removal
}

func newKernelCleanCmd(e *env) *cobra.Command {
	var f cleanFlags
	c := &cobra.Command{
		Use:   "clean",
		Short: "Remove cached kernels: lists them first, removes with --force or your confirmation",
		Long: `Removes cached kernels: every corrupt entry and, unless --corrupt-only, every
sound one except the --keep newest (and those younger than --older-than).

Rebuilding a kernel costs 12-40 minutes, so clean first lists what it would
remove and keep. On a terminal it then asks; elsewhere it removes only with
--force (without it, it exits 2 having removed nothing). --dry-run only lists.`,
		Example: `  ktstr kernel clean --keep 2            # asks, on a terminal
  ktstr kernel clean --corrupt-only --force
  ktstr kernel clean --older-than 30d --dry-run`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if f.opts.Keep < 0 {
				return usagef("--keep %d: want 0 or more kernels to keep", f.opts.Keep)
			}
			if err := f.check(); err != nil {
				return err
			}
			return cleanKernels(c, e, &f)
		},
	}
	fl := c.Flags()
	fl.IntVar(&f.opts.Keep, "keep", 0, "keep the `N` newest sound kernels")
	fl.BoolVar(&f.opts.CorruptOnly, "corrupt-only", false, "remove only corrupt entries")
	fl.Var(ageValue{&f.opts.OlderThan}, "older-than", "remove only kernels built longer ago than `AGE` (30d, 2w, 12h)")
	f.addFlags(c)
	return c
}

func cleanKernels(c *cobra.Command, e *env, f *cleanFlags) error {
	cache, err := openCache(e)
	if err != nil {
		return err
	}
	remove, keep, err := cache.PlanClean(f.opts)
	if err != nil {
		return err
	}
	if len(remove) == 0 {
		printEntries(e.stdout, "keep  ", keep)
		fmt.Fprintf(e.stderr, "nothing to remove (%d kept) in %s\n", len(keep), cache.Root())
		return nil
	}
	printEntries(e.stdout, "remove", remove)
	printEntries(e.stdout, "keep  ", keep)
	what := fmt.Sprintf("%d kernel%s (%.1f MB)", len(remove), plural(len(remove)), float64(totalSize(remove))/1e6)
	if ok, err := f.consent(e, what, fmt.Sprintf("Remove %s? Each takes 12-40 minutes to rebuild. [y/N] ", what)); !ok {
		return err
	}
	// Exactly what was listed, even if the cache changed meanwhile.
	digests := make([]string, len(remove))
	for i, en := range remove {
		digests[i] = en.Digest
	}
	if err := cache.Remove(c.Context(), digests...); err != nil {
		return err
	}
	for _, en := range remove {
		fmt.Fprintf(e.stdout, "removed %s\n", en.Key)
	}
	fmt.Fprintf(e.stderr, "removed %s, kept %d\n", what, len(keep))
	return nil
}

// printEntries lists cache entries, one per line after verb.
func printEntries(w io.Writer, verb string, entries []kernel.Entry) {
	for _, en := range entries {
		state := ""
		if en.Corrupt != "" {
			state = ", corrupt: " + en.Corrupt
		}
		fmt.Fprintf(w, "%s %s (%s, built %s, %.1f MB%s)\n", verb, en.Key, en.Meta.Version,
			en.Meta.BuiltAt.Local().Format("2006-01-02 15:04"), float64(en.Size)/1e6, state)
	}
}

func totalSize(entries []kernel.Entry) int64 {
	var n int64
	for _, en := range entries {
		n += en.Size
	}
	return n
}

// confirm asks a yes/no question on stderr and reads the answer from
// stdin; anything but y or yes is no.
func confirm(e *env, question string) bool {
	fmt.Fprint(e.stderr, question)
	line, _ := bufio.NewReader(e.stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

// ageValue is an age such as 30d, 2w or 12h (any Go duration, plus days
// and weeks).
type ageValue struct{ d *time.Duration }

func (v ageValue) String() string {
	if *v.d == 0 {
		return ""
	}
	return v.d.String()
}
func (v ageValue) Type() string { return "age" }
func (v ageValue) Set(s string) error {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			if f, err := strconv.ParseFloat(n, 64); err == nil && f > 0 {
				*v.d = time.Duration(f * float64(unit))
				return nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fmt.Errorf("want a positive age with a unit: 30d, 2w, 12h")
	}
	*v.d = d
	return nil
}
