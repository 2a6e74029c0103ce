package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SchedExt says whether the kernel can run sched_ext schedulers, and why
// not when it cannot. known is false when nothing tells (a bare image
// without a .config or cache metadata): callers then let the run decide.
func (k *Kernel) SchedExt() (ok, known bool, why string) {
	const opt = "CONFIG_SCHED_CLASS_EXT"
	if k.Meta != nil && !k.Meta.HasOption(opt) {
		return false, true, fmt.Sprintf("kernel %s has no sched_ext: built without %s, which it predates (sched_ext is in 6.12 and later)", k.Label(), opt)
	}
	if k.Config != "" {
		b, err := os.ReadFile(k.Config)
		if err == nil {
			if parseConfig(string(b))[opt] != "y" {
				return false, true, fmt.Sprintf("kernel %s has no sched_ext: its .config does not set %s=y", k.Label(), opt)
			}
			return true, true, ""
		}
	}
	if k.Meta != nil {
		return true, true, ""
	}
	return true, false, ""
}

// Label is how the kernel is named in test names and tables: its release
// (metadata version, else the version string in the image header), else
// the image's file name.
func (k *Kernel) Label() string {
	if k.Meta != nil && k.Meta.Version != "" {
		return k.Meta.Version
	}
	if v, err := ImageRelease(k.Image); err == nil {
		return v
	}
	return strings.TrimSuffix(baseName(k.Image), ".img")
}

// Spec is a kernel identifier that finds this kernel again without
// searching (for a run's RunOptions.Kernel): the cache key, else the
// image path.
func (k *Kernel) Spec() string {
	if k.Key != "" {
		return k.Key
	}
	return k.Image
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// ImageRelease reads the kernel release ("6.12.118") from an x86 bzImage's
// setup header (CheckImage). It errors for other images and for one
// without a version string.
func ImageRelease(image string) (string, error) {
	info, err := CheckImage(image)
	if err != nil {
		return "", fmt.Errorf("%s: %w", image, err)
	}
	if rel := info.Release(); strings.ContainsRune(rel, '.') {
		return rel, nil
	}
	return "", errors.New(image + ": no kernel version in the setup header")
}

// addSidecars fills in what an exported kernel directory (`ktstr kernel
// build --out-dir`, the Bazel kernel rules) keeps beside the image: its
// config and metadata.json, so such a kernel is labelled and checked for
// sched_ext like a cached one. Missing or unreadable files are left out.
func addSidecars(k *Kernel, dir string) {
	if c := filepath.Join(dir, FileConfig); k.Config == "" && isFile(c) {
		k.Config = c
	}
	mf := filepath.Join(dir, FileMetadata)
	b, err := os.ReadFile(mf)
	if err != nil || k.Meta != nil {
		return
	}
	var m Metadata
	if json.Unmarshal(b, &m) == nil && m.Version != "" {
		k.Meta, k.MetadataFile = &m, mf
	}
}
