package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ktstr-go/ktstr/guest"
)

func init() {
	register("initramfs", "pack a guest initramfs (used by the Bazel ktstr_initramfs rule)", runInitramfs)
}

func runInitramfs(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("initramfs", flag.ContinueOnError)
	out := fs.String("out", "", "output file (required)")
	initBin := fs.String("init", "", "binary to run as /init: a test binary built with ktstr.Main (required)")
	gz := fs.Bool("gzip", false, "gzip the archive")
	var scheds, includes, files stringList
	fs.Var(&scheds, "sched", "file placed under /sched/ (repeatable)")
	fs.Var(&includes, "include", "file placed under /include/ (repeatable)")
	fs.Var(&files, "file", "GUEST_PATH=HOST_PATH, any extra file (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || *initBin == "" {
		fmt.Fprintln(os.Stderr, "ktstr initramfs: --out and --init are required")
		return 2
	}
	ir := &guest.Initramfs{Files: map[string]string{}, Gzip: *gz}
	add := func(gp, hp string) error {
		if prev, dup := ir.Files[gp]; dup {
			return fmt.Errorf("%s and %s would both be %s in the guest", prev, hp, gp)
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
	err := add("/init", *initBin)
	for _, s := range scheds {
		if err == nil {
			err = add(guest.SchedPath(filepath.Base(s)), s)
		}
	}
	for _, s := range includes {
		if err == nil {
			err = add(guest.IncludePath(s), s)
		}
	}
	for _, f := range files {
		gp, hp, ok := strings.Cut(f, "=")
		if !ok && err == nil {
			err = fmt.Errorf("--file %q: want GUEST_PATH=HOST_PATH", f)
		}
		if err == nil {
			err = add(gp, hp)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktstr initramfs: %v\n", err)
		return 1
	}
	if err := writeAtomic(*out, ir); err != nil {
		fmt.Fprintf(os.Stderr, "ktstr initramfs: %v\n", err)
		return 1
	}
	return 0
}

func writeAtomic(dst string, ir *guest.Initramfs) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-initramfs-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := ir.WriteTo(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
