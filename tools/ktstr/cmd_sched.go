package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/scheds"
)

func init() { register("", newSchedCmd) }

func newSchedCmd(*env) *cobra.Command {
	return &cobra.Command{
		Use:     "sched",
		Short:   "Build the in-repo and kernel-tree sched_ext schedulers",
		GroupID: groupSupply,
		Args:    subcommandArgs,
		RunE:    missingSubcommand,
	}
}

// exportScheds places what the guest runs under the base names the
// scheduler definitions use in /sched/ (scheds.BPFObject and
// BuiltBinary Argv): scxload, NAME.bpf.o of each in-repo scheduler, and
// the kernel-tree binaries. The runner's KTSTR_SCHED_FILES packs each file
// as /sched/<basename>, so these names must not change.
func exportScheds(b *scheds.Built, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]string{scxloadName: b.Loader}
	for _, n := range scheds.RefNames() {
		files[n+".bpf.o"] = b.Objects[n]
	}
	for _, n := range scheds.KernelTreeScheds {
		if p, ok := b.Tools[n]; ok {
			files[n] = p
		}
	}
	for name, src := range files {
		if err := exportFile(src, filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("placing %s in %s: %w", name, dir, err)
		}
	}
	return nil
}
