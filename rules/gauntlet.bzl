"""Gauntlet expansion for ktstr_test(gauntlet = ...): one target per
test x preset x flag combination x kernel.

The variants come from Go (`ktstr gauntlet --bzl`, checked in as
tests/gauntlet_variants.bzl): only Go knows a test's scheduler flags and
topology constraints. Kernels come from the BUILD file as a dict of label
(as it appears in case names, e.g. "6.12.118") to kernel target.

Each target runs one go subtest, RUN/TEST/PRESET/FLAGS/KERNEL, of a test
function that calls gauntlet.RunRegistered, and is tagged per dimension:
gauntlet, test:T, preset:P, topology:NnLlCcTt, flags:F, kernel:K,
sched:S ("fair" for the kernel's own fair class, EEVDF or CFS). Select with
--test_tag_filters=kernel:6.1.192 or bazel query 'attr(tags, "preset:numa2", //tests:all)'.
"""

_REGEX_SPECIALS = "\\.+*?()|[]{}^$"

def _quote_regex(s):
    for c in _REGEX_SPECIALS.elems():
        s = s.replace(c, "\\" + c)
    return s

def _exact(parts):
    return "/".join(["^" + _quote_regex(p) + "$" for p in parts])

def _safe(s):
    return s.replace("+", "_").replace(",", "_").replace("/", "_").replace("=", "_")

def gauntlet_targets(
        vm_test,
        name,
        test,
        initramfs,
        variants,
        tests,
        kernels,
        run,
        presets = [],
        scheduler = [],
        env = {},
        tags = [],
        **kwargs):
    """Declares one vm_test per test x variant x kernel.

    Args:
      vm_test: the ktstr_vm_test rule.
      name: prefix of every target name.
      test: the go_test label.
      initramfs: the ktstr_initramfs label.
      variants: GAUNTLET_VARIANTS from the generated file.
      tests: which of its tests to expand.
      kernels: dict of kernel label (as in case names) -> kernel target.
      run: the Go test function calling gauntlet.RunRegistered.
      presets: keep only these presets (empty: all of the list).
      scheduler: files placed under /sched/.
      env: extra environment.
      tags: extra tags.
      **kwargs: passed to every target.

    Returns:
      The target names.
    """
    if not tests or not kernels:
        fail("ktstr_test %s: a gauntlet needs gauntlet_tests and kernels" % name)
    out = []
    for t in tests:
        if t not in variants:
            fail("ktstr_test %s: test %r is not in the gauntlet variants (regenerate with `ktstr gauntlet --bzl`)" % (name, t))
        sched = variants[t]["sched"] or "fair"
        for preset, topology, flags in variants[t]["variants"]:
            if presets and preset not in presets:
                continue
            flags_name = flags.replace(",", "+") if flags else "base"
            for label, kernel in kernels.items():
                case = [t, preset, flags_name, label]
                target = _safe("_".join([name] + case))
                vm_test(
                    name = target,
                    binary = test,
                    kernel = kernel,
                    initramfs = initramfs,
                    scheds = scheduler,
                    run = _exact([run] + case),
                    env = dict(env, **{
                        "KTSTR_GAUNTLET_EXPECT": "/".join(case),
                        "KTSTR_KERNEL_LABEL": label,
                        "KTSTR_PARALLELISM": "1",
                        "KTSTR_PRESETS": preset,
                    }),
                    # cpu:1: a single-threaded TCG guest keeps one host CPU
                    # busy, so --local_test_jobs=N runs N at once.
                    tags = tags + [
                        "ktstr",
                        "vm",
                        "cpu:1",
                        "gauntlet",
                        "test:" + t,
                        "preset:" + preset,
                        "topology:" + topology,
                        "flags:" + flags_name,
                        "kernel:" + label,
                        "sched:" + sched,
                    ],
                    **kwargs
                )
                out.append(target)
    return out
