package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/kernel"
)

func TestKernelListJSONAndExport(t *testing.T) {
	c := scratchCache(t)
	key := "6.12.117-tarball-x86_64-kc" + kernel.KconfigHash()
	e := storeKernel(t, c, key, "6.12.117", time.Now())

	r := ktstrCLI(t, cliOpts{}, "kernel", "list", "--json")
	if r.code != 0 {
		t.Fatalf("list exit %d: %s", r.code, r.stderr)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("list --json output %q: %v", r.stdout, err)
	}
	if len(got) != 1 {
		t.Fatalf("list --json: %v", got)
	}
	for _, f := range []string{"key", "version", "source", "built_at", "size", "kconfig_status", "corrupt"} {
		if _, ok := got[0][f]; !ok {
			t.Errorf("list --json lacks %q: %v", f, got[0])
		}
	}
	if got[0]["key"] != key || got[0]["kconfig_status"] != "matches" || got[0]["corrupt"] != false {
		t.Fatalf("list --json entry %v", got[0])
	}
	if r := ktstrCLI(t, cliOpts{}, "kernel", "path", key); r.code != 0 || r.stdout != e.Image+"\n" {
		t.Fatalf("path: %q exit %d, want %s", r.stdout, r.code, e.Image)
	}

	dir := filepath.Join(t.TempDir(), "out")
	k := &kernel.Kernel{Image: e.Image, MetadataFile: e.MetadataFile}
	for i := 0; i < 2; i++ { // a Bazel rerun replaces the files
		if err := exportKernel(k, dir); err != nil {
			t.Fatalf("export %d: %v", i, err)
		}
	}
	for _, f := range []string{kernel.FileImage, kernel.FileMetadata} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("--out-dir lacks %s: %v", f, err)
		}
	}
}

// kernel clean never removes a kernel by accident: a stray word is an
// error, without --force and a terminal nothing goes, a dry run only
// lists; it removes exactly what it listed and says what it kept.
func TestKernelCleanIsSafe(t *testing.T) {
	now := time.Now()
	fill := func(t *testing.T) *kernel.Cache {
		c := scratchCache(t)
		storeKernel(t, c, "k-old", "6.12.100", now.Add(-60*24*time.Hour))
		storeKernel(t, c, "k-mid", "6.12.110", now.Add(-10*24*time.Hour))
		storeKernel(t, c, "k-new", "6.12.118", now.Add(-time.Hour))
		return c
	}
	all := []string{"k-new", "k-mid", "k-old"}
	tests := []struct {
		name  string
		opts  cliOpts
		args  []string
		code  int
		left  []string
		out   []string // stdout has each
		errs  []string // stderr has each
		noOut []string // stdout has none
	}{
		{name: "stray word (was: removed everything)", args: []string{"stale", "--keep", "1"}, code: 2, left: all, errs: []string{`unexpected argument "stale"`}},
		{name: "no terminal, no force", code: 2, left: all,
			out: []string{"remove k-new", "remove k-old"}, errs: []string{"nothing removed", "--force"}, noOut: []string{"removed"}},
		{name: "dry run", args: []string{"--dry-run", "--keep", "1"}, code: 0, left: all,
			out: []string{"remove k-mid", "remove k-old", "keep   k-new"}, errs: []string{"dry run: nothing removed"}},
		{name: "declined on a terminal", opts: cliOpts{interactive: true, stdin: "n\n"}, code: 0, left: all, errs: []string{"Remove 3 kernels", "[y/N]", "nothing removed"}},
		{name: "confirmed on a terminal", opts: cliOpts{interactive: true, stdin: "y\n"}, args: []string{"--keep", "2"}, code: 0, left: []string{"k-new", "k-mid"},
			out: []string{"removed k-old", "keep   k-new", "keep   k-mid"}},
		{name: "force, keep 1", args: []string{"--force", "--keep", "1"}, code: 0, left: []string{"k-new"},
			out: []string{"removed k-mid", "removed k-old"}, errs: []string{"removed 2 kernels", "kept 1"}},
		{name: "older than", args: []string{"--force", "--older-than", "30d"}, code: 0, left: []string{"k-new", "k-mid"}, out: []string{"removed k-old"}},
		{name: "corrupt only", args: []string{"--corrupt-only", "--force"}, code: 0, left: all, errs: []string{"nothing to remove (3 kept)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fill(t)
			r := ktstrCLI(t, tt.opts, append([]string{"kernel", "clean"}, tt.args...)...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if got := cacheKeys(t, c); !slices.Equal(got, tt.left) {
				t.Errorf("left %v, want %v", got, tt.left)
			}
			r.expect(t, tt.out, tt.errs)
			for _, w := range tt.noOut {
				if strings.Contains(r.stdout, w) {
					t.Errorf("stdout has %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}
