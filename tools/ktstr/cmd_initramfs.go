package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/guest"
)

func init() { register("", newInitramfsCmd) }

// initramfsFlags are `ktstr initramfs`'s flags.
type initramfsFlags struct {
	out, init               string
	gzip                    bool
	scheds, includes, files []string
}

func newInitramfsCmd(*env) *cobra.Command {
	var f initramfsFlags
	c := &cobra.Command{
		Use:   "initramfs --out FILE --init BINARY",
		Short: "Pack a guest initramfs (used by the Bazel ktstr_initramfs rule)",
		Args:  noArgs,
		RunE:  func(*cobra.Command, []string) error { return packInitramfs(&f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.out, "out", "", "output `FILE` (required)")
	fl.StringVar(&f.init, "init", "", "`BINARY` to run as /init: a test binary built with ktstr.Main (required)")
	fl.BoolVar(&f.gzip, "gzip", false, "gzip the archive")
	fl.StringArrayVar(&f.scheds, "sched", nil, "file placed under /sched/ (repeatable)")
	fl.StringArrayVar(&f.includes, "include", nil, "file placed under /include/ (repeatable)")
	fl.StringArrayVar(&f.files, "file", nil, "`GUEST_PATH=HOST_PATH`, any extra file (repeatable)")
	_ = c.MarkFlagRequired("out")
	_ = c.MarkFlagRequired("init")
	return c
}

func packInitramfs(f *initramfsFlags) error {
	ir := &guest.Initramfs{Files: map[string]string{}, Gzip: f.gzip}
	add := func(gp, hp string) error {
		if prev, dup := ir.Files[gp]; dup {
			return usagef("%s and %s would both be %s in the guest", prev, hp, gp)
		}
		ir.Files[gp] = hp
		libs, err := guest.SharedLibs(hp)
		if err != nil {
			return err
		}
		for _, l := range libs {
			ir.Files[l] = l
		}
		return nil
	}
	err := add("/init", f.init)
	for _, s := range f.scheds {
		if err == nil {
			err = add(guest.SchedPath(filepath.Base(s)), s)
		}
	}
	for _, s := range f.includes {
		if err == nil {
			err = add(guest.IncludePath(s), s)
		}
	}
	for _, fl := range f.files {
		gp, hp, ok := strings.Cut(fl, "=")
		if !ok && err == nil {
			err = usagef("--file %q: want GUEST_PATH=HOST_PATH", fl)
		}
		if err == nil {
			err = add(gp, hp)
		}
	}
	if err != nil {
		return err
	}
	return writeInitramfs(f.out, ir)
}

// writeInitramfs writes the archive through a temp file and a rename.
func writeInitramfs(dst string, ir *guest.Initramfs) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-initramfs-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := ir.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
