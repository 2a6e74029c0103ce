package kernel

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// The boot-protocol facts an image check needs (Documentation/arch/x86/
// boot.rst, Documentation/arch/arm64/booting.rst). vmm/x86 holds the full
// bzImage parser the in-repo VMM boots with; kernel/ may not import the
// VMM layer (it supplies kernels to every backend, QEMU included), so it
// checks only the magic numbers, which are ABI and never change ("HdrS";
// the legacy 0xAA55 boot flag proves nothing more).
const (
	x86HeaderMagic   = 0x202      // u32 "HdrS"
	x86KernelVersion = 0x20e      // u16: offset of the version string, minus 0x200
	hdrS             = 0x53726448 // "HdrS"
	arm64Magic       = 0x38       // u32 "ARM\x64"
	arm64MagicValue  = 0x644d5241
	imageHeaderBytes = 0x8000 // room for the x86 setup sectors, where the version string lives
)

// ImageInfo is what a kernel image's header tells without booting it.
type ImageInfo struct {
	// Version is the image's version string (x86: setup header
	// kernel_version, e.g. "6.12.118 (ktstr@ktstr) #1 SMP PREEMPT_DYNAMIC
	// Thu Dec  3 09:20:01 UTC 2026"); empty when the image has none.
	Version string
}

// Release is the first word of Version ("6.12.118").
func (i ImageInfo) Release() string {
	f := strings.Fields(i.Version)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// CheckImage reports whether path is a bootable kernel image for this
// host's architecture (an x86 bzImage, an arm64 Image), with an error
// naming the likely mistake and what to pass instead.
func CheckImage(path string) (ImageInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return ImageInfo{}, err
	}
	defer f.Close()
	head := make([]byte, imageHeaderBytes)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return ImageInfo{}, fmt.Errorf("reading %s: %w", path, err)
	}
	return checkImageHeader(head[:n], HostArch())
}

func checkImageHeader(h []byte, arch string) (ImageInfo, error) {
	want := "a bzImage (arch/x86/boot/bzImage of a build tree)"
	if arch == "aarch64" {
		want = "an Image (arch/arm64/boot/Image of a build tree)"
	}
	if bytes.HasPrefix(h, []byte("\x7fELF")) {
		return ImageInfo{}, fmt.Errorf("an ELF file (a vmlinux?), not a bootable image: pass %s or the build tree", want)
	}
	le := binary.LittleEndian
	switch arch {
	case "aarch64":
		if len(h) < arm64Magic+4 || le.Uint32(h[arm64Magic:]) != arm64MagicValue {
			return ImageInfo{}, fmt.Errorf("not a kernel image (no arm64 Image magic): pass %s", want)
		}
		return ImageInfo{}, nil
	}
	if len(h) < x86HeaderMagic+4 || le.Uint32(h[x86HeaderMagic:]) != hdrS {
		return ImageInfo{}, fmt.Errorf("not a kernel image (no Linux boot-protocol \"HdrS\" header): pass %s", want)
	}
	var info ImageInfo
	if off := int(le.Uint16(h[x86KernelVersion:])); off != 0 && off+0x200 < len(h) {
		s := h[off+0x200:]
		if i := bytes.IndexByte(s, 0); i >= 0 {
			info.Version = string(s[:i])
		}
	}
	return info, nil
}

// CheckVmlinux reports whether vmlinux can go with the image described by
// img: an ELF for this architecture and, when both carry their build's
// version (a full vmlinux's linux_banner; a slimmed one drops it), the
// same build. A mismatch would name stalled functions from another kernel
// and build schedulers against the wrong BTF.
func CheckVmlinux(vmlinux string, img ImageInfo) error {
	f, err := elf.Open(vmlinux)
	if err != nil {
		return fmt.Errorf("vmlinux %s is not an ELF file: pass the vmlinux of the same build tree (or none)", vmlinux)
	}
	defer f.Close()
	if want := elfMachine(HostArch()); want != elf.EM_NONE && f.Machine != want {
		return fmt.Errorf("vmlinux %s is built for %s, not this host's %s", vmlinux, f.Machine, HostArch())
	}
	banner := linuxBanner(f)
	if banner == "" || img.Version == "" {
		return nil
	}
	// linux_banner is "Linux version RELEASE (USER@HOST) (COMPILER) UTS_VERSION\n",
	// the image's string "RELEASE (USER@HOST) UTS_VERSION": the release and
	// the build number + timestamp must both match.
	rel, rest, _ := strings.Cut(img.Version, " ")
	_, uts, _ := strings.Cut(rest, ") ")
	banner = strings.TrimSpace(banner)
	if !strings.HasPrefix(banner, "Linux version "+rel+" ") || !strings.HasSuffix(banner, uts) {
		return fmt.Errorf("vmlinux %s is from another build (%q) than the image (%q): use the vmlinux of the same build, or point at the build tree",
			vmlinux, strings.TrimPrefix(banner, "Linux version "), img.Version)
	}
	return nil
}

func elfMachine(arch string) elf.Machine {
	switch arch {
	case "x86_64":
		return elf.EM_X86_64
	case "aarch64":
		return elf.EM_AARCH64
	}
	return elf.EM_NONE
}

// linuxBanner reads the linux_banner string of a vmlinux whose data
// section still has its contents; "" otherwise.
func linuxBanner(f *elf.File) string {
	syms, err := f.Symbols()
	if err != nil {
		return ""
	}
	for _, s := range syms {
		if s.Name != "linux_banner" || int(s.Section) >= len(f.Sections) || s.Size == 0 || s.Size > 1024 {
			continue
		}
		sec := f.Sections[s.Section]
		if sec.Type != elf.SHT_PROGBITS || s.Value < sec.Addr {
			return ""
		}
		b := make([]byte, s.Size)
		if _, err := sec.ReadAt(b, int64(s.Value-sec.Addr)); err != nil {
			return ""
		}
		return string(bytes.TrimRight(b, "\x00"))
	}
	return ""
}
