package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/kernel"
)

func init() { register("kernel", newKernelListCmd) }

// listedKernel is one element of `ktstr kernel list --json`.
type listedKernel struct {
	Key           string               `json:"key"`
	Digest        string               `json:"digest"`
	Version       string               `json:"version"`
	Source        string               `json:"source"`
	SourceDetail  string               `json:"source_detail,omitempty"`
	Arch          string               `json:"arch"`
	BuiltAt       time.Time            `json:"built_at"`
	Size          int64                `json:"size"`
	KconfigStatus kernel.KconfigStatus `json:"kconfig_status"`
	// KconfigOmitted are the fragment's options the kernel predates.
	KconfigOmitted []string `json:"kconfig_omitted,omitempty"`
	Corrupt        bool     `json:"corrupt"`
	CorruptReason  string   `json:"corrupt_reason,omitempty"`
	Image          string   `json:"image,omitempty"`
	Vmlinux        string   `json:"vmlinux,omitempty"`
	PulledFrom     string   `json:"pulled_from,omitempty"`
}

func listKernel(e kernel.Entry) listedKernel {
	return listedKernel{
		Key: e.Key, Digest: e.Digest, Version: e.Meta.Version, Source: string(e.Meta.Source), SourceDetail: e.Meta.SourceDetail,
		Arch: e.Meta.Arch, BuiltAt: e.Meta.BuiltAt, Size: e.Size, KconfigStatus: e.Meta.KconfigStatus(kernel.KconfigHashFor(e.Meta.Version)),
		KconfigOmitted: e.Meta.KconfigOmitted, Corrupt: e.Corrupt != "", CorruptReason: e.Corrupt, Image: e.Image, Vmlinux: e.Vmlinux, PulledFrom: e.PulledFrom,
	}
}

func newKernelListCmd(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List the cached kernels, newest first",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			c, err := openCache(e)
			if err != nil {
				return err
			}
			entries, err := c.List()
			if err != nil {
				return err
			}
			out := make([]listedKernel, 0, len(entries))
			for _, en := range entries {
				out = append(out, listKernel(en))
			}
			if asJSON {
				return writeJSON(e.stdout, out)
			}
			if len(out) == 0 {
				fmt.Fprintf(e.stderr, "no kernels in %s: run `ktstr kernel build`\n", c.Root())
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tVERSION\tSOURCE\tBUILT\tSIZE\tKCONFIG\tSTATE")
			for _, k := range out {
				state := "ok"
				if k.Corrupt {
					state = "CORRUPT: " + k.CorruptReason
				} else if len(k.KconfigOmitted) > 0 {
					state = "ok, predates " + strings.Join(k.KconfigOmitted, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f MB\t%s\t%s\n", k.Key, k.Version, k.Source, k.BuiltAt.Local().Format("2006-01-02 15:04"),
					float64(k.Size)/1e6, k.KconfigStatus, state)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "cache: %s (kconfig hash %s)\n", c.Root(), kernel.KconfigHash())
			return nil
		},
	}
	addJSONFlag(c, &asJSON, "the kernels")
	return c
}
