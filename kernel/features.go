package kernel

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
// setup header: kernel_version at 0x20e is the offset, less 0x200, of the
// "6.12.118 (user@host) #1 ..." string. It errors for other images.
func ImageRelease(image string) (string, error) {
	f, err := os.Open(image)
	if err != nil {
		return "", err
	}
	defer f.Close()
	hdr := make([]byte, 0x210)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return "", fmt.Errorf("%s: too short for a bzImage: %w", image, err)
	}
	if string(hdr[0x202:0x206]) != "HdrS" {
		return "", fmt.Errorf("%s: not a bzImage (no HdrS setup header)", image)
	}
	off := int64(binary.LittleEndian.Uint16(hdr[0x20e:])) + 0x200
	buf := make([]byte, 128)
	n, err := f.ReadAt(buf, off)
	if n == 0 && err != nil {
		return "", fmt.Errorf("%s: reading the version string: %w", image, err)
	}
	s := string(buf[:n])
	if i := strings.IndexAny(s, " \x00"); i > 0 {
		s = s[:i]
	}
	if s == "" || !strings.ContainsRune(s, '.') {
		return "", errors.New(image + ": no kernel version in the setup header")
	}
	return s, nil
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
