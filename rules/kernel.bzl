"""ktstr_kernel and ktstr_kernel_image: kernels for ktstr test VMs.

Both run our own CLI (//tools/ktstr), so Bazel and `go test` share one
kernel cache: `ktstr kernel build` keys a build by source version, arch and
the hash of the embedded kconfig fragment, and reuses the cache entry
another path already built. That is why these actions are unsandboxed and
local ("no-sandbox", "no-remote-exec"): they must read and write the
per-user cache (KTSTR_CACHE_DIR, else $XDG_CACHE_HOME/ktstr or
~/.cache/ktstr, passed in by .bazelrc's --action_env) instead of building
a 5-30 minute kernel inside a throwaway sandbox. Their outputs still go to
Bazel's disk/remote cache, so other machines and `bazel clean` reuse them.
"""

load("//rules:providers.bzl", "KtstrKernelInfo")

# Local, unsandboxed, cacheable: see the module docstring.
KERNEL_EXECUTION_REQUIREMENTS = {
    "no-remote-exec": "1",
    "no-sandbox": "1",
}

def _kernel_outputs(ctx, vmlinux = True):
    prefix = ctx.label.name + "/"
    image = ctx.actions.declare_file(prefix + "bzImage")
    config = ctx.actions.declare_file(prefix + "config")
    metadata = ctx.actions.declare_file(prefix + "metadata.json")
    vml = ctx.actions.declare_file(prefix + "vmlinux") if vmlinux else None
    return image, vml, config, metadata

def _kernel_providers(image, vmlinux, config, metadata):
    files = [f for f in [image, vmlinux, config, metadata] if f]
    return [
        DefaultInfo(files = depset(files), runfiles = None),
        KtstrKernelInfo(
            image = image,
            vmlinux = vmlinux,
            config = config,
            metadata = metadata,
            files = depset(files),
        ),
    ]

def _ktstr_kernel_impl(ctx):
    image, vmlinux, config, metadata = _kernel_outputs(ctx)
    args = ctx.actions.args()
    args.add_all(["kernel", "build"])
    args.add("--source", ctx.file.source)
    args.add("--out-dir", image.dirname)
    if ctx.attr.jobs:
        args.add("--jobs", str(ctx.attr.jobs))
    ctx.actions.run(
        executable = ctx.executable._ktstr,
        arguments = [args],
        inputs = [ctx.file.source],
        outputs = [image, vmlinux, config, metadata],
        execution_requirements = KERNEL_EXECUTION_REQUIREMENTS,
        use_default_shell_env = True,
        mnemonic = "KtstrKernel",
        progress_message = "Building kernel %s with the ktstr kconfig (reuses the ktstr kernel cache)" % ctx.label,
    )
    return _kernel_providers(image, vmlinux, config, metadata)

ktstr_kernel = rule(
    implementation = _ktstr_kernel_impl,
    doc = """Builds a kernel from a source tarball or tree with the embedded kconfig.

Runs `ktstr kernel build --source SRC --out-dir DIR`. Outputs NAME/bzImage,
NAME/vmlinux (symbols + BTF), NAME/config and NAME/metadata.json.""",
    attrs = {
        "source": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "Kernel source: a tarball (e.g. @linux_source//:linux.tar.xz from ktstr_kernel_source).",
        ),
        "jobs": attr.int(default = 0, doc = "make -j; 0 means the number of CPUs."),
        "_ktstr": attr.label(
            default = "//tools/ktstr",
            executable = True,
            cfg = "exec",
        ),
    },
)

def _ktstr_kernel_image_impl(ctx):
    if "@sha256:" not in ctx.attr.ref:
        fail("ktstr_kernel_image %s: ref %r must pin a digest (REPO@sha256:HEX) so the build is reproducible" % (ctx.label, ctx.attr.ref))
    image, vmlinux, config, metadata = _kernel_outputs(ctx, ctx.attr.vmlinux)
    outs = [f for f in [image, vmlinux, config, metadata] if f]
    args = ctx.actions.args()
    args.add_all(["kernel", "pull"])
    if ctx.attr.insecure:
        args.add("--insecure")
    args.add("--out-dir", image.dirname)
    args.add(ctx.attr.ref)
    ctx.actions.run(
        executable = ctx.executable._ktstr,
        arguments = [args],
        outputs = outs,
        execution_requirements = dict(KERNEL_EXECUTION_REQUIREMENTS, **{"requires-network": "1"}),
        use_default_shell_env = True,
        mnemonic = "KtstrKernelPull",
        progress_message = "Pulling kernel %s" % ctx.attr.ref,
    )
    return _kernel_providers(image, vmlinux, config, metadata)

ktstr_kernel_image = rule(
    implementation = _ktstr_kernel_image_impl,
    doc = """A kernel pulled by digest from an OCI registry (or a local OCI layout).

Runs `ktstr kernel pull --out-dir DIR REF`; the pulled artifact also lands
in the local kernel cache, where `go test` finds it.""",
    attrs = {
        "ref": attr.string(mandatory = True, doc = "REGISTRY/REPO@sha256:HEX"),
        "insecure": attr.bool(default = False, doc = "Allow a plain-HTTP registry."),
        "vmlinux": attr.bool(default = True, doc = "The artifact carries a vmlinux layer."),
        "_ktstr": attr.label(
            default = "//tools/ktstr",
            executable = True,
            cfg = "exec",
        ),
    },
)

def _ktstr_kernel_source_impl(ctx):
    name = ctx.attr.path.rpartition("/")[2] if ctx.attr.path else ctx.attr.url.rpartition("/")[2]
    if ctx.attr.path:
        src = ctx.path(ctx.attr.path)
        if not src.exists:
            fail("kernel source %s not found: install the Debian linux-source package that provides it (tools/setup/install-deps.sh), or give ktstr_kernel_source a url and sha256" % ctx.attr.path)
        ctx.symlink(src, name)
    else:
        if not ctx.attr.sha256:
            fail("ktstr_kernel_source %s: a url needs a sha256" % ctx.name)
        ctx.download(ctx.attr.url, name, sha256 = ctx.attr.sha256)
    ctx.file("BUILD.bazel", """exports_files(["{0}"])

alias(
    name = "tarball",
    actual = "{0}",
    visibility = ["//visibility:public"],
)
""".format(name))
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)

ktstr_kernel_source = repository_rule(
    implementation = _ktstr_kernel_source_impl,
    doc = "A kernel source tarball from a local path (Debian's linux-source) or a URL with sha256; @NAME//:tarball.",
    attrs = {
        "path": attr.string(doc = "Absolute path of a local tarball."),
        "url": attr.string(),
        "sha256": attr.string(),
    },
)
