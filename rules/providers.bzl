"""Providers shared by the ktstr rules."""

KtstrKernelInfo = provider(
    doc = "A kernel a ktstr test VM can boot.",
    fields = {
        "image": "File: the bootable image (bzImage).",
        "vmlinux": "File or None: vmlinux stripped to symbols + BTF.",
        "config": "File: the kernel .config.",
        "metadata": "File: metadata.json (version, source, kconfig hash).",
        "files": "depset of every file above, for runfiles.",
    },
)

KtstrInitramfsInfo = provider(
    doc = "A guest initramfs whose /init is a ktstr test binary.",
    fields = {
        "archive": "File: the cpio archive.",
        "init": "File: the binary packed as /init.",
    },
)
