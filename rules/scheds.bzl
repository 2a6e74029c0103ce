"""ktstr_scheds: prebuilt sched_ext scheduler files for ktstr test VMs.

    ktstr_scheds(
        name = "files",
        srcs = glob(["bpf/*.bpf.c"]),   # one NAME.bpf.o per NAME.bpf.c
        kernel = "//:kernel",           # its vmlinux BTF -> vmlinux.h
    )

runs `ktstr sched build --out-dir DIR --vmlinux VMLINUX [--no-tree]` and
declares DIR/scxload, DIR/NAME.bpf.o and (kernel_tree = True) the
kernel-tree binaries scx_simple, scx_qmap, scx_central, scx_flatcg. The
names are the /sched/ base names of the definitions in //scheds, so
the target can be a ktstr_test's `scheduler`: the runner packs each file
of KTSTR_SCHED_FILES as /sched/<basename>.

Like ktstr_kernel the action is local and unsandboxed: it reuses the
per-user scheduler cache (~/.cache/ktstr/scheds, keyed by the kernel's
BTF and the sources), and it needs host tools a sandbox does not offer:
clang-19, bpftool (/usr/sbin) and, for the kernel-tree schedulers, make,
cc and a kernel source tree. The loader DIR/scxload is the ktstr binary
itself (it runs as the loader when invoked under that name), so no Go
SDK or source tree is needed.
"""

load("//rules:kernel.bzl", "KERNEL_EXECUTION_REQUIREMENTS")
load("//rules:providers.bzl", "KtstrKernelInfo")

# scheds.KernelTreeScheds (scheds/build.go).
KERNEL_TREE_SCHEDS = ["scx_simple", "scx_qmap", "scx_central", "scx_flatcg"]

def sched_outputs(srcs, kernel_tree):
    """The base names `ktstr sched build --out-dir` writes.

    Args:
      srcs: the in-repo BPF sources (NAME.bpf.c) or their base names.
      kernel_tree: whether the kernel-tree schedulers are built too.

    Returns:
      scxload, NAME.bpf.o per source, then the kernel-tree binaries.
    """
    names = ["scxload"]
    for s in srcs:
        base = s.rpartition("/")[2]
        if not base.endswith(".bpf.c"):
            fail("ktstr_scheds: %r is not a NAME.bpf.c source" % s)
        names.append(base[:-len(".bpf.c")] + ".bpf.o")
    if kernel_tree:
        names.extend(KERNEL_TREE_SCHEDS)
    return names

# The strict action env's PATH (/bin:/usr/bin:/usr/local/bin) lacks
# Debian's bpftool (/usr/sbin).
_COMMAND = """set -eu
export PATH="$PATH:/usr/sbin:/sbin"
exec "$@"
"""

def _ktstr_scheds_impl(ctx):
    kernel = ctx.attr.kernel[KtstrKernelInfo]
    if not kernel.vmlinux:
        fail("ktstr_scheds %s: kernel %s has no vmlinux; the schedulers are compiled against its BTF" % (ctx.label, ctx.attr.kernel.label))
    outs = [
        ctx.actions.declare_file(ctx.label.name + "/" + n)
        for n in sched_outputs([f.basename for f in ctx.files.srcs], ctx.attr.kernel_tree)
    ]
    args = ctx.actions.args()
    args.add(ctx.executable._ktstr)
    args.add_all(["sched", "build"])
    args.add("--vmlinux", kernel.vmlinux)
    args.add("--out-dir", outs[0].dirname)
    if not ctx.attr.kernel_tree:
        args.add("--no-tree")
    ctx.actions.run_shell(
        command = _COMMAND,
        arguments = [args],
        inputs = [kernel.vmlinux] + ctx.files.srcs + ctx.files.deps,
        tools = [ctx.attr._ktstr[DefaultInfo].files_to_run],
        outputs = outs,
        execution_requirements = KERNEL_EXECUTION_REQUIREMENTS,
        use_default_shell_env = True,
        mnemonic = "KtstrScheds",
        progress_message = "Building sched_ext schedulers %s (reuses the ktstr scheduler cache)" % ctx.label,
    )
    return [DefaultInfo(files = depset(outs))]

ktstr_scheds = rule(
    implementation = _ktstr_scheds_impl,
    doc = """Scheduler files for ktstr VMs: the scxload loader, in-repo BPF objects, kernel-tree binaries.

Runs `ktstr sched build --out-dir DIR --vmlinux V [--no-tree]`; use the
target as a ktstr_test's `scheduler`.""",
    attrs = {
        "srcs": attr.label_list(
            allow_files = [".bpf.c"],
            doc = "The in-repo BPF sources ktstr embeds (NAME.bpf.c -> NAME.bpf.o). They must match what //tools/ktstr was built with.",
        ),
        "deps": attr.label_list(
            allow_files = True,
            doc = "Other sources the build reads (headers): listed so a change reruns the action.",
        ),
        "kernel": attr.label(
            mandatory = True,
            providers = [KtstrKernelInfo],
            doc = "A ktstr_kernel or ktstr_kernel_image with a vmlinux (BTF).",
        ),
        "kernel_tree": attr.bool(
            default = False,
            doc = "Also build the kernel tree's scx_simple, scx_qmap, scx_central and scx_flatcg (needs a kernel source tree, see `ktstr sched build`).",
        ),
        "_ktstr": attr.label(
            default = "//tools/ktstr",
            executable = True,
            cfg = "exec",
        ),
    },
)
