package kernel

import (
	"os"
	"runtime"
	"time"

	"github.com/ktstr-go/ktstr/internal/cachedir"
)

// SourceKind says where a kernel's source came from.
type SourceKind string

// Source kinds recorded in metadata and in cache keys.
const (
	SourceTarball SourceKind = "tarball"
	SourceGit     SourceKind = "git"
	SourceLocal   SourceKind = "local"
)

// Metadata describes a built kernel. It is stored as metadata.json in the
// cache entry and mirrored into the manifest's annotations.
type Metadata struct {
	Key     string     `json:"key"`
	Version string     `json:"version"`
	Source  SourceKind `json:"source"`
	// SourceDetail is the tarball path or URL, git URL#REF@commit, or
	// local tree path.
	SourceDetail string `json:"source_detail,omitempty"`
	Arch         string `json:"arch"`
	// KconfigHash is the KconfigHash of the fragment the kernel was built
	// with; empty means untracked (built by something that did not record
	// it), which resolution keeps using.
	KconfigHash string `json:"kconfig_hash,omitempty"`
	// KconfigOmitted names the options of the embedded fragment this
	// kernel was built without because it predates them (KconfigFor),
	// e.g. CONFIG_SCHED_CLASS_EXT on 6.1. Such a kernel is booted only
	// when asked for by version or key, never as the default.
	KconfigOmitted []string  `json:"kconfig_omitted,omitempty"`
	BuiltAt        time.Time `json:"built_at"`
	BuildSeconds   float64   `json:"build_seconds,omitempty"`
	// BuildSteps is how many steps make bzImage reported; the next build
	// estimates its progress from it.
	BuildSteps int               `json:"build_steps,omitempty"`
	Toolchain  map[string]string `json:"toolchain,omitempty"`
}

// KconfigStatus compares an entry's recorded kconfig hash with the current
// one.
type KconfigStatus string

// Kconfig statuses as printed by `ktstr kernel list`.
const (
	KconfigMatches   KconfigStatus = "matches"
	KconfigStale     KconfigStatus = "stale"
	KconfigUntracked KconfigStatus = "untracked"
)

// KconfigStatus reports whether m was built with the fragment whose hash is
// current: pass KconfigHashFor(m.Version), which is KconfigHash for every
// kernel that has all of the fragment's options.
func (m Metadata) KconfigStatus(current string) KconfigStatus {
	switch m.KconfigHash {
	case "":
		return KconfigUntracked
	case current:
		return KconfigMatches
	}
	return KconfigStale
}

// HasOption reports whether the kernel was built with the embedded
// fragment's option name (CONFIG_X); false when the option was omitted
// because the kernel predates it.
func (m Metadata) HasOption(name string) bool {
	for _, o := range m.KconfigOmitted {
		if o == name {
			return false
		}
	}
	return true
}

// HostArch is the kernel's name for the machine architecture (uname -m).
func HostArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return runtime.GOARCH
}

// imageRelPath is where kbuild leaves the bootable image, per arch.
func imageRelPath(arch string) string {
	if arch == "aarch64" {
		return "arch/arm64/boot/Image"
	}
	return "arch/x86/boot/bzImage"
}

// DefaultCacheDir is KTSTR_CACHE_DIR, else $XDG_CACHE_HOME/ktstr/kernels,
// else ~/.cache/ktstr/kernels.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("KTSTR_CACHE_DIR"); d != "" {
		return d, nil
	}
	return cachedir.Dir("kernels"), nil
}
