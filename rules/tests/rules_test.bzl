"""Analysis tests for the ktstr rules (bazel-skylib unittest/analysistest)."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts", "unittest")
load("//rules:kernel.bzl", "KERNEL_EXECUTION_REQUIREMENTS")
load("//rules:ktstr_test.bzl", "variant_name")
load("//rules:providers.bzl", "KtstrInitramfsInfo", "KtstrKernelInfo")

def _action(env, mnemonic):
    for a in analysistest.target_actions(env):
        if a.mnemonic == mnemonic:
            return a
    unittest.fail(env, "no %s action among %s" % (mnemonic, [a.mnemonic for a in analysistest.target_actions(env)]))
    return None

def _execution_info(action):
    # Action.execution_info exists from Bazel 5; Bazel 4 does not expose
    # it, so fall back to the table the rules pass to every kernel action.
    if hasattr(action, "execution_info"):
        return action.execution_info
    return KERNEL_EXECUTION_REQUIREMENTS

def _argv_tail(action):
    # argv[0] is the ktstr binary's exec path; compare the rest.
    return action.argv[1:]

def _kernel_build_test_impl(ctx):
    env = analysistest.begin(ctx)
    tut = analysistest.target_under_test(env)
    info = tut[KtstrKernelInfo]
    asserts.equals(env, "bzImage", info.image.basename)
    asserts.equals(env, "vmlinux", info.vmlinux.basename)
    asserts.equals(env, "metadata.json", info.metadata.basename)
    asserts.equals(env, 4, len(info.files.to_list()))
    a = _action(env, "KtstrKernel")
    if a:
        argv = _argv_tail(a)
        asserts.equals(env, ["kernel", "build", "--source"], argv[:3])
        asserts.true(env, argv[3].endswith("testdata/linux-0.0.tar"), "source path %s" % argv[3])
        asserts.equals(env, ["--out-dir", info.image.dirname, "--jobs", "2"], argv[4:])
        info = _execution_info(a)
        asserts.equals(env, "1", info.get("no-sandbox"), "kernel build must see the shared kernel cache")
        asserts.equals(env, "1", info.get("no-remote-exec"))
        asserts.false(env, "no-cache" in info, "kernel outputs must stay cacheable")
        asserts.false(env, "no-remote" in info or "local" in info, "kernel outputs must stay in the disk/remote cache")
    return analysistest.end(env)

kernel_build_test = analysistest.make(_kernel_build_test_impl)

def _kernel_image_test_impl(ctx):
    env = analysistest.begin(ctx)
    info = analysistest.target_under_test(env)[KtstrKernelInfo]
    asserts.equals(env, None, info.vmlinux)
    asserts.equals(env, 3, len(info.files.to_list()))
    a = _action(env, "KtstrKernelPull")
    if a:
        asserts.equals(
            env,
            ["kernel", "pull", "--out-dir", info.image.dirname, "localhost:5000/k@sha256:" + "0" * 64],
            _argv_tail(a),
        )
        if hasattr(a, "execution_info"):
            asserts.equals(env, "1", a.execution_info.get("requires-network"))
    return analysistest.end(env)

kernel_image_test = analysistest.make(_kernel_image_test_impl)

def _kernel_image_needs_digest_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, "must pin a digest")
    return analysistest.end(env)

kernel_image_needs_digest_test = analysistest.make(_kernel_image_needs_digest_test_impl, expect_failure = True)

def _initramfs_test_impl(ctx):
    env = analysistest.begin(ctx)
    info = analysistest.target_under_test(env)[KtstrInitramfsInfo]
    asserts.equals(env, "fake_initramfs.cpio", info.archive.basename)
    a = _action(env, "KtstrInitramfs")
    if a:
        argv = _argv_tail(a)
        asserts.equals(env, ["initramfs", "--out", info.archive.path, "--init", info.init.path], argv[:5])
        asserts.equals(env, "--sched", argv[5])
        asserts.true(env, argv[6].endswith("testdata/sched.bpf.o"))
        asserts.equals(env, "--include", argv[7])
        asserts.true(env, argv[8].endswith("testdata/include.txt"))
        asserts.equals(env, 9, len(argv))
    return analysistest.end(env)

initramfs_test = analysistest.make(_initramfs_test_impl)

def _vm_test_launcher_test_impl(ctx):
    env = analysistest.begin(ctx)
    a = _action(env, "FileWrite")
    if a:
        script = a.content
        for want in [
            "export KTSTR_KERNEL=\"$r/ktstr/rules/tests/fake_kernel/bzImage\"",
            "export KTSTR_VMLINUX=\"$r/ktstr/rules/tests/fake_kernel/vmlinux\"",
            "export KTSTR_INITRAMFS=\"$r/ktstr/rules/tests/fake_initramfs.cpio\"",
            "export KTSTR_TOPOLOGY='1n2l2c2t'",
            "export KTSTR_FLAGS='a,b'",
            "export KTSTR_DURATION='2s'",
            "export KTSTR_SCHED_FILES=\"$r/ktstr/rules/tests/testdata/sched.bpf.o\"",
            "run=${TESTBRIDGE_TEST_ONLY:-'^TestX$'}",
            "${run:+\"-test.run=$run\"} '-test.v' ",
            "cd \"$r/ktstr/rules/tests\"",
            # The executor contract is checked before the test runs.
            "for tool in 'qemu-system-x86_64' '/bin/busybox'; do",
            "this executor lacks$missing",
        ]:
            asserts.true(env, want in script, "launcher lacks %r:\n%s" % (want, script))
    return analysistest.end(env)

vm_test_launcher_test = analysistest.make(_vm_test_launcher_test_impl)

def _hardware_kvm_test_impl(ctx):
    env = analysistest.begin(ctx)
    a = _action(env, "FileWrite")
    if a:
        for want in [
            # The in-repo VMM, so the test fails rather than passes under QEMU.
            "export KTSTR_BACKEND='kvm'",
            # /dev/kvm instead of QEMU in the executor contract.
            "for tool in '/dev/kvm'; do",
        ]:
            asserts.true(env, want in a.content, "launcher lacks %r:\n%s" % (want, a.content))
    return analysistest.end(env)

# Only a platform with //rules/platforms:kvm_hw can run a hardware_kvm
# variant: without one registered, its analysis fails ("Unable to find an
# execution platform"), which is the routing this test relies on.
hardware_kvm_test = analysistest.make(
    _hardware_kvm_test_impl,
    config_settings = {
        "//command_line_option:extra_execution_platforms": ["//rules/platforms:remote_kvm_hw"],
    },
)

def _variant_name_test_impl(ctx):
    env = unittest.begin(ctx)
    asserts.equals(env, "t", variant_name("t", "", ""))
    asserts.equals(env, "t_1n2l2c2t", variant_name("t", "1n2l2c2t", ""))
    asserts.equals(env, "t_1_2_2_2_a_b", variant_name("t", "1,2,2,2", "a,b"))
    asserts.equals(env, "t_slice_us_5", variant_name("t", "", "slice-us=5"))
    return unittest.end(env)

variant_name_test = unittest.make(_variant_name_test_impl)

def _expansion_test_impl(ctx):
    env = analysistest.begin(ctx)

    # The macro's test_suite lists topologies x flags variants.
    asserts.equals(env, 4, len(ctx.attr.variants))
    return analysistest.end(env)

expansion_test = analysistest.make(
    _expansion_test_impl,
    attrs = {"variants": attr.label_list()},
)
