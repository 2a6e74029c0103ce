"""ktstr_initramfs: a hermetic guest initramfs built by our Go tool."""

load("//rules:providers.bzl", "KtstrInitramfsInfo")

def _pure_transition_impl(_settings, _attr):
    # The binary is /init in a bare guest: it must be a static, pure-Go
    # executable (no libc, no dynamic loader in the initramfs).
    return {"@io_bazel_rules_go//go/config:pure": True}

# Applied to the test binary wherever ktstr rules depend on it. .bazelrc
# sets the same value globally, so this normally changes nothing and the
# binary is built once.
pure_transition = transition(
    implementation = _pure_transition_impl,
    inputs = [],
    outputs = ["@io_bazel_rules_go//go/config:pure"],
)

def single(target):
    """Unwraps an attribute behind a 1:1 transition (a list on Bazel 4)."""
    if type(target) == "list":
        return target[0]
    return target

def _ktstr_initramfs_impl(ctx):
    init = single(ctx.attr.init)[DefaultInfo].files_to_run.executable
    out = ctx.actions.declare_file(ctx.label.name + (".cpio.gz" if ctx.attr.gzip else ".cpio"))
    args = ctx.actions.args()
    args.add("initramfs")
    args.add("--out", out)
    args.add("--init", init)
    args.add_all(ctx.files.scheds, before_each = "--sched")
    args.add_all(ctx.files.includes, before_each = "--include")
    if ctx.attr.gzip:
        args.add("--gzip")
    ctx.actions.run(
        executable = ctx.executable._ktstr,
        arguments = [args],
        inputs = [init] + ctx.files.scheds + ctx.files.includes,
        outputs = [out],
        mnemonic = "KtstrInitramfs",
        progress_message = "Packing initramfs %s" % ctx.label,
    )
    return [
        DefaultInfo(files = depset([out])),
        KtstrInitramfsInfo(archive = out, init = init),
    ]

ktstr_initramfs = rule(
    implementation = _ktstr_initramfs_impl,
    doc = """A cpio archive with /init = a static test binary, /sched/* and /include/*.

Runs `ktstr initramfs --out FILE --init BIN [--sched FILE]... [--include FILE]...`.""",
    attrs = {
        "init": attr.label(
            mandatory = True,
            executable = True,
            cfg = pure_transition,
            doc = "The binary run as /init, normally a go_test whose TestMain calls ktstr.Main.",
        ),
        "scheds": attr.label_list(allow_files = True, doc = "Files placed under /sched/ (scheduler binaries, BPF objects)."),
        "includes": attr.label_list(allow_files = True, doc = "Files placed under /include/."),
        "gzip": attr.bool(default = False),
        "_ktstr": attr.label(
            default = "//tools/ktstr",
            executable = True,
            cfg = "exec",
        ),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
)
