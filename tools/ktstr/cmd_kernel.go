package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ktstr-go/ktstr/kernel"
)

func init() {
	register("kernel", "build, list, clean, push and pull cached sched_ext kernels", runKernel)
}

var kernelSubcommands = []struct {
	name, summary string
	run           func(ctx context.Context, args []string) int
}{
	{"build", "build a kernel with the embedded kconfig into the cache (or reuse the cached one)", kernelBuild},
	{"path", "print the bzImage path a kernel identifier (default: KTSTR_KERNEL, then the cache) resolves to", kernelPath},
	{"list", "list cached kernels", kernelList},
	{"clean", "remove cached kernels", kernelClean},
	{"push", "push a cached kernel to an OCI registry: push KEY REF", kernelPush},
	{"pull", "pull a kernel from an OCI registry into the cache: pull REF", kernelPull},
}

func kernelUsage() {
	fmt.Fprintln(os.Stderr, "usage: ktstr kernel <subcommand> [flags]\n\nsubcommands:")
	for _, s := range kernelSubcommands {
		fmt.Fprintf(os.Stderr, "  %-6s %s\n", s.name, s.summary)
	}
	fmt.Fprintln(os.Stderr, "\nenvironment: KTSTR_KERNEL selects a kernel; KTSTR_CACHE_DIR moves the cache (default $XDG_CACHE_HOME/ktstr/kernels or ~/.cache/ktstr/kernels)")
}

func runKernel(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		kernelUsage()
		return 2
	}
	for _, s := range kernelSubcommands {
		if s.name == args[0] {
			return s.run(ctx, args[1:])
		}
	}
	fmt.Fprintf(os.Stderr, "ktstr kernel: unknown subcommand %q\n\n", args[0])
	kernelUsage()
	return 2
}

func kernelFail(sub string, err error) int {
	fmt.Fprintf(os.Stderr, "ktstr kernel %s: %v\n", sub, err)
	return 1
}

func kernelBuild(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("kernel build", flag.ContinueOnError)
	src := fs.String("source", "", "kernel tree DIR, TARBALL, https URL#sha256=HEX, or git+URL#REF (default "+kernel.DefaultSource+")")
	sum := fs.String("sha256", "", "SHA-256 of a tarball URL given without #sha256=")
	jobs := fs.Int("jobs", 0, "parallel make jobs (default: number of CPUs)")
	outDir := fs.String("out-dir", "", "also place bzImage, vmlinux, config and metadata.json in DIR (hard links when possible)")
	force := fs.Bool("force", false, "rebuild even if the cache has this kernel")
	workDir := fs.String("work-dir", "", "parent of the temporary build directory (default: the system temp dir; needs ~1.5 GB)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "ktstr kernel build: unexpected arguments %q\n", fs.Args())
		return 2
	}
	opts := kernel.BuildOptions{Source: *src, SHA256: *sum, Jobs: *jobs, Force: *force, WorkDir: *workDir, Logger: newLogger()}
	if kernel.IsTerminal(os.Stderr) {
		opts.Status = os.Stderr
	}
	k, err := kernel.Build(ctx, opts)
	if err != nil {
		return kernelFail("build", err)
	}
	if *outDir != "" {
		if err := exportKernel(k, *outDir); err != nil {
			return kernelFail("build", err)
		}
	}
	fmt.Printf("%s\n%s\n", k.Key, k.Image)
	return 0
}

// exportKernel places a kernel's files in dir under their artifact names,
// hard-linked from the cache when on the same file system (exportFile:
// never a partial file).
func exportKernel(k *kernel.Kernel, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []struct{ src, name string }{
		{k.Image, kernel.FileImage}, {k.Vmlinux, kernel.FileVmlinux}, {k.Config, kernel.FileConfig}, {k.MetadataFile, kernel.FileMetadata},
	} {
		if f.src == "" {
			continue
		}
		if err := exportFile(f.src, filepath.Join(dir, f.name)); err != nil {
			return fmt.Errorf("placing %s in %s: %w", f.name, dir, err)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

func kernelPath(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("kernel path", flag.ContinueOnError)
	insecure := fs.Bool("insecure", false, "allow plain HTTP when the identifier is a registry reference to pull")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(os.Stderr, "usage: ktstr kernel path [ID]")
		return 2
	}
	k, err := kernel.Resolve(ctx, kernel.ResolveOptions{Spec: fs.Arg(0), Insecure: *insecure, Logger: newLogger()})
	if err != nil {
		return kernelFail("path", err)
	}
	fmt.Println(k.Image)
	return 0
}

// listedKernel is one element of `ktstr kernel list --json`.
type listedKernel struct {
	Key            string               `json:"key"`
	Digest         string               `json:"digest"`
	Version        string               `json:"version"`
	Source         string               `json:"source"`
	SourceDetail   string               `json:"source_detail,omitempty"`
	Arch           string               `json:"arch"`
	BuiltAt        time.Time            `json:"built_at"`
	Size           int64                `json:"size"`
	KconfigStatus  kernel.KconfigStatus `json:"kconfig_status"`
	KconfigOmitted []string             `json:"kconfig_omitted,omitempty"`
	Corrupt        bool                 `json:"corrupt"`
	CorruptReason  string               `json:"corrupt_reason,omitempty"`
	Image          string               `json:"image,omitempty"`
	Vmlinux        string               `json:"vmlinux,omitempty"`
	PulledFrom     string               `json:"pulled_from,omitempty"`
}

func kernelList(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("kernel list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, err := kernel.OpenCache("", nil)
	if err != nil {
		return kernelFail("list", err)
	}
	entries, err := c.List()
	if err != nil {
		return kernelFail("list", err)
	}
	hash := kernel.KconfigHash()
	out := make([]listedKernel, 0, len(entries))
	for _, e := range entries {
		out = append(out, listedKernel{
			Key: e.Key, Digest: e.Digest, Version: e.Meta.Version, Source: string(e.Meta.Source), SourceDetail: e.Meta.SourceDetail,
			Arch: e.Meta.Arch, BuiltAt: e.Meta.BuiltAt, Size: e.Size, KconfigStatus: e.Meta.KconfigStatus(kernel.KconfigHashFor(e.Meta.Version)),
			KconfigOmitted: e.Meta.KconfigOmitted, Corrupt: e.Corrupt != "", CorruptReason: e.Corrupt, Image: e.Image, Vmlinux: e.Vmlinux, PulledFrom: e.PulledFrom,
		})
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return kernelFail("list", err)
		}
		return 0
	}
	if len(out) == 0 {
		fmt.Fprintf(os.Stderr, "no kernels in %s: run `ktstr kernel build`\n", c.Root())
		return 0
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
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
	tw.Flush()
	fmt.Fprintf(os.Stderr, "cache: %s (kconfig hash %s)\n", c.Root(), hash)
	return 0
}

func kernelClean(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("kernel clean", flag.ContinueOnError)
	keep := fs.Int("keep", 0, "keep the N newest sound kernels")
	corruptOnly := fs.Bool("corrupt-only", false, "remove only corrupt entries")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *keep < 0 {
		fmt.Fprintln(os.Stderr, "ktstr kernel clean: --keep must be >= 0")
		return 2
	}
	c, err := kernel.OpenCache("", newLogger())
	if err != nil {
		return kernelFail("clean", err)
	}
	gone, err := c.Clean(ctx, *keep, *corruptOnly)
	if err != nil {
		return kernelFail("clean", err)
	}
	for _, e := range gone {
		fmt.Printf("removed %s\n", e.Key)
	}
	if len(gone) == 0 {
		fmt.Fprintln(os.Stderr, "nothing to remove")
	}
	return 0
}

func kernelPush(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("kernel push", flag.ContinueOnError)
	insecure := fs.Bool("insecure", false, "allow a plain-HTTP registry")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: ktstr kernel push [--insecure] KEY REF")
		return 2
	}
	c, err := kernel.OpenCache("", newLogger())
	if err != nil {
		return kernelFail("push", err)
	}
	d, err := c.Push(ctx, fs.Arg(0), fs.Arg(1), *insecure)
	if err != nil {
		return kernelFail("push", err)
	}
	fmt.Println(d)
	return 0
}

func kernelPull(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("kernel pull", flag.ContinueOnError)
	insecure := fs.Bool("insecure", false, "allow a plain-HTTP registry")
	outDir := fs.String("out-dir", "", "also place bzImage, vmlinux, config and metadata.json in DIR (hard links when possible)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: ktstr kernel pull [--insecure] [--out-dir DIR] REF")
		return 2
	}
	c, err := kernel.OpenCache("", newLogger())
	if err != nil {
		return kernelFail("pull", err)
	}
	e, err := c.Pull(ctx, fs.Arg(0), *insecure)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return 130
		}
		return kernelFail("pull", err)
	}
	if *outDir != "" {
		k := &kernel.Kernel{Image: e.Image, Vmlinux: e.Vmlinux, Config: e.Config, MetadataFile: e.MetadataFile}
		if err := exportKernel(k, *outDir); err != nil {
			return kernelFail("pull", err)
		}
	}
	fmt.Printf("%s\n%s\n", e.Key, strings.TrimSpace(e.Image))
	return 0
}
