package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/scheds/matrix"
)

// Shell completion of the values commands take: `ktstr completion bash`
// (zsh, fish, powershell) prints the script that calls these.

// completeTests completes one registered test name.
func completeTests(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return testNames(toComplete), cobra.ShellCompDirectiveNoFileComp
}

func completeTestFlag(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return testNames(toComplete), cobra.ShellCompDirectiveNoFileComp
}

func testNames(prefix string) []string {
	var out []string
	for _, t := range ktstr.Registered() {
		if strings.HasPrefix(t.Name, prefix) {
			out = append(out, t.Name)
		}
	}
	return out
}

// completeKernels offers the cached kernels' keys and versions; a path
// is completed by the shell.
func completeKernels(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	c, err := kernel.OpenCache("", nil)
	if err != nil {
		return nil, cobra.ShellCompDirectiveDefault
	}
	entries, err := c.List()
	if err != nil {
		return nil, cobra.ShellCompDirectiveDefault
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range entries {
		for _, s := range []string{e.Meta.Version, e.Key} {
			if s != "" && !seen[s] && strings.HasPrefix(s, toComplete) {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out, cobra.ShellCompDirectiveDefault
}

// completeCacheKeys offers the cached kernels' keys only.
func completeCacheKeys(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, err := kernel.OpenCache("", nil)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	entries, _ := c.List()
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Key, toComplete) {
			out = append(out, e.Key)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// matrixRowNames are the names --only takes.
func matrixRowNames() []string {
	out := make([]string, len(matrix.Rows))
	for i, r := range matrix.Rows {
		out[i] = r.Name
	}
	return out
}
