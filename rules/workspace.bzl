"""External repositories for the WORKSPACE (Bazel 4.2.3) build, all offline.

Sources, in order of preference on these machines:
  - Debian packages: bazel-skylib and bazel-platforms install plain Bazel
    repositories under /usr/share/bazel/tools.
  - The Go module proxy: rules_go, gazelle and every Go dependency.
Nothing is fetched from GitHub or the Bazel mirror.
"""

load("//rules:go_module.bzl", "gazelle_binary", "go_module", "go_repository_config")

# Pinned versions. rules_go v0.34.0 is the newest release that runs on
# Bazel 4.2.3 with two small patches (see rules/patches); newer releases
# need many more (docs/bazel.md). Sums are the go.sum h1: hashes.
RULES_GO_VERSION = "v0.34.0"
RULES_GO_SUM = "h1:cmObMtgIOaEU944SqXtJ9DnlS8IPGGa7pdRnsrpQzXM="
GAZELLE_VERSION = "v0.53.0"
GAZELLE_SUM = "h1:qNh2WraxM8cjIeHZQ7QPTTSPbkrX9Z0GkhtGbiz1ToE="

def _system_repository_impl(ctx):
    src = ctx.path(ctx.attr.path)
    if not src.exists:
        fail("%s not found at %s: install the Debian package `%s` (tools/setup/install-deps.sh does), or use MODULE.bazel with Bazel >= 7.2.1." % (
            ctx.name,
            ctx.attr.path,
            ctx.attr.package,
        ))
    for child in src.readdir():
        ctx.symlink(child, child.basename)

_system_repository = repository_rule(
    implementation = _system_repository_impl,
    doc = "A Bazel repository installed by a system package, symlinked in.",
    attrs = {
        "path": attr.string(mandatory = True),
        "package": attr.string(mandatory = True),
    },
    local = True,
)

def _native_rules_stub_impl(ctx):
    lines = ["# Generated: re-exports of Bazel's native rules.\n"]
    for sym in ctx.attr.symbols:
        lines.append("def {0}(**kwargs):\n    native.{0}(**kwargs)\n".format(sym))
    ctx.file(ctx.attr.bzl_path, "\n".join(lines))
    ctx.file(ctx.attr.bzl_path.rpartition("/")[0] + "/BUILD.bazel", "")
    ctx.file("BUILD.bazel", "")
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)

_native_rules_stub = repository_rule(
    implementation = _native_rules_stub_impl,
    doc = "A repository whose .bzl file re-exports native rules (rules_cc/rules_java for Bazel 4).",
    attrs = {
        "bzl_path": attr.string(mandatory = True),
        "symbols": attr.string_list(mandatory = True),
    },
)

_LCOV_MERGER = """#!/bin/sh
# Offline stand-in for Bazel's Java lcov merger: concatenates the per-test
# lcov files (enough for Go's coverage output).
set -eu
out=""; dir=""
for a in "$@"; do
  case "$a" in
    --output_file=*) out="${a#--output_file=}" ;;
    --coverage_dir=*) dir="${a#--coverage_dir=}" ;;
  esac
done
[ -n "$out" ] || exit 0
: >"$out"
[ -n "$dir" ] && find "$dir" -name '*.dat' -exec cat {} + >>"$out" || true
"""

_REPORT_GENERATOR = """#!/bin/sh
echo "coverage_report_generator: not available offline with Bazel 4; use the per-test coverage.dat files" >&2
exit 0
"""

def _coverage_tools_stub_impl(ctx):
    ctx.file("lcov_merger.sh", _LCOV_MERGER, executable = True)
    ctx.file("coverage_report_generator.sh", _REPORT_GENERATOR, executable = True)
    ctx.file("BUILD.bazel", """package(default_visibility = ["//visibility:public"])

sh_binary(
    name = "lcov_merger",
    srcs = ["lcov_merger.sh"],
)

sh_binary(
    name = "coverage_report_generator",
    srcs = ["coverage_report_generator.sh"],
)
""")
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)

_coverage_tools_stub = repository_rule(
    implementation = _coverage_tools_stub_impl,
    doc = "Offline replacement for @remote_coverage_tools (a Java download on Bazel 4).",
)

def ktstr_bazel_dependencies():
    """Declares rules_go, gazelle and their base repositories.

    Call before go_rules_dependencies() so that these win over its
    http_archive defaults.
    """
    _system_repository(
        name = "bazel_skylib",
        path = "/usr/share/bazel/tools/skylib",
        package = "bazel-skylib",
    )
    _system_repository(
        name = "platforms",
        path = "/usr/share/bazel/tools/platforms",
        package = "bazel-platforms",
    )

    # Bazel 4's own @bazel_tools//tools/jdk and tools/cpp packages load
    # these during toolchain resolution even for a pure Go build; its
    # default WORKSPACE suffix would fetch them from GitHub, and Debian's
    # bazel-rules-cc is too new for Bazel 4. Thin wrappers of the native
    # rules are all Bazel 4 needs.
    _native_rules_stub(
        name = "rules_cc",
        bzl_path = "cc/defs.bzl",
        symbols = [
            "cc_binary",
            "cc_import",
            "cc_library",
            "cc_proto_library",
            "cc_shared_library",
            "cc_test",
            "cc_toolchain",
            "cc_toolchain_suite",
            "fdo_prefetch_hints",
            "fdo_profile",
            "objc_import",
            "objc_library",
        ],
    )
    _native_rules_stub(
        name = "rules_java",
        bzl_path = "java/defs.bzl",
        symbols = [
            "java_binary",
            "java_import",
            "java_library",
            "java_lite_proto_library",
            "java_package_configuration",
            "java_plugin",
            "java_proto_library",
            "java_runtime",
            "java_test",
            "java_toolchain",
        ],
    )

    # @bazel_tools//tools/test references it during test analysis.
    _coverage_tools_stub(name = "remote_coverage_tools")
    go_module(
        name = "io_bazel_rules_go",
        importpath = "github.com/bazelbuild/rules_go",
        version = RULES_GO_VERSION,
        sum = RULES_GO_SUM,
        build_file_generation = "off",
        patches = ["//rules:patches/rules_go-v0.34.0-go1.20.patch"],
        # Module zips carry no file modes.
        patch_cmds = ["find . -name '*.sh' -exec chmod +x {} +"],
    )
    gazelle_binary(
        name = "ktstr_gazelle",
        version = GAZELLE_VERSION,
        sum = GAZELLE_SUM,
    )
    go_repository_config(
        name = "ktstr_go_repository_config",
        macro = "//rules:go_deps.bzl",
    )
