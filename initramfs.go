package ktstr

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sort"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/internal/cachedir"
)

// BusyboxPath is where Debian's busybox-static installs its binary.
const BusyboxPath = "/bin/busybox"

// keepInitramfs is how many built archives the cache keeps.
const keepInitramfs = 16

// initramfsFor returns the path of an archive holding /init (this very
// binary), its shared libraries if it is dynamic, the scheduler's files
// (schedFiles: guest path → host path; a dynamic one with its libraries),
// the test's include files, the spec's data files (the run plan) and,
// for shells and kernel-builtin schedulers (whose commands need a shell),
// busybox. Archives are cached by content hash. KTSTR_INITRAMFS (set by
// the Bazel rule) names a prebuilt archive with /init; per-run files are
// appended to a copy, as the kernel accepts concatenated cpio archives.
func initramfsFor(spec bootSpec, schedFiles map[string]string, needShell bool) (string, error) {
	files := map[string]string{}
	prebuilt := os.Getenv("KTSTR_INITRAMFS")
	if prebuilt == "" {
		self, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("finding the test binary: %w", err)
		}
		if err := addBinary(files, "/init", self); err != nil {
			return "", err
		}
	}
	for gp, hp := range schedFiles {
		if err := addBinary(files, gp, hp); err != nil {
			return "", err
		}
	}
	includes, err := guest.ResolveIncludes(spec.opts.Includes, "")
	if err != nil {
		return "", err
	}
	for _, inc := range includes {
		gp := guest.IncludePath(inc)
		if prev, dup := files[gp]; dup {
			return "", fmt.Errorf("include files %s and %s share the basename %s: rename one", prev, inc, filepath.Base(inc))
		}
		// A program comes with its shared libraries (payloads).
		withLibs, err := guest.IncludeFiles(inc)
		if err != nil {
			return "", err
		}
		maps.Copy(files, withLibs)
	}
	for gp, hp := range spec.files {
		files[gp] = hp
	}
	ir := &guest.Initramfs{Files: files, Data: spec.data}
	if prebuilt == "" {
		linkToInit(ir)
	}
	if spec.shell || needShell {
		if _, err := os.Stat(BusyboxPath); err != nil {
			return "", fmt.Errorf("shell needs %s: install busybox-static (tools/setup/install-deps.sh)", BusyboxPath)
		}
		files["/bin/busybox"] = BusyboxPath
		if ir.Symlinks == nil {
			ir.Symlinks = map[string]string{}
		}
		ir.Symlinks["/bin/sh"] = "busybox"
	}
	dir := initramfsCacheDir()
	out, err := ir.Build(dir)
	if err != nil {
		return "", err
	}
	pruneInitramfs(dir, keepInitramfs)
	if prebuilt == "" {
		return out, nil
	}
	return concatInitramfs(dir, prebuilt, out)
}

// linkToInit packs a file that is /init's binary again (the ktstr
// command is its own scheduler loader, /sched/scxload) as a symlink to
// /init: a multi-call binary keys on the name it is run under, and the
// archive stays one binary smaller.
func linkToInit(ir *guest.Initramfs) {
	self, err := os.Stat(ir.Files["/init"])
	if err != nil {
		return
	}
	for gp, hp := range ir.Files {
		if st, err := os.Stat(hp); gp != "/init" && err == nil && os.SameFile(st, self) {
			delete(ir.Files, gp)
			if ir.Symlinks == nil {
				ir.Symlinks = map[string]string{}
			}
			ir.Symlinks[gp] = "/init"
		}
	}
}

// addBinary adds a program and, if it is dynamically linked, its loader
// and libraries at their host paths.
func addBinary(files map[string]string, guestPath, hostPath string) error {
	files[guestPath] = hostPath
	if !isELF(hostPath) {
		return nil // a config or data file
	}
	libs, err := guest.SharedLibs(hostPath)
	if err != nil {
		return err
	}
	for _, l := range libs {
		files[l] = l
	}
	return nil
}

func concatInitramfs(dir, base, overlay string) (string, error) {
	f, err := os.CreateTemp(dir, ".tmp-concat-*")
	if err != nil {
		return "", fmt.Errorf("combining initramfs: %w", err)
	}
	defer f.Close()
	for _, p := range []string{base, overlay} {
		src, err := os.Open(p)
		if err != nil {
			os.Remove(f.Name())
			return "", fmt.Errorf("combining initramfs: %w", err)
		}
		_, err = io.Copy(f, src)
		src.Close()
		if err != nil {
			os.Remove(f.Name())
			return "", fmt.Errorf("combining initramfs: %w", err)
		}
	}
	dst := overlay + ".combined"
	if err := os.Rename(f.Name(), dst); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("combining initramfs: %w", err)
	}
	return dst, nil
}

// pruneInitramfs removes all but the newest keep archives.
func pruneInitramfs(dir string, keep int) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type aged struct {
		name string
		mod  int64
	}
	var all []aged
	for _, e := range ents {
		if info, err := e.Info(); err == nil && !e.IsDir() {
			all = append(all, aged{e.Name(), info.ModTime().UnixNano()})
		}
	}
	if len(all) <= keep {
		return
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mod > all[j].mod })
	for _, a := range all[keep:] {
		os.Remove(filepath.Join(dir, a.name))
	}
}

// initramfsCacheDir keeps built archives, named by content hash.
func initramfsCacheDir() string {
	if d := os.Getenv("KTSTR_INITRAMFS_CACHE"); d != "" {
		return d
	}
	return cachedir.Dir("initramfs")
}

// isELF reports whether the file starts with the ELF magic.
func isELF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	return err == nil && string(magic) == "\x7fELF"
}
