"""Public API of the ktstr Bazel rules."""

load("//rules:initramfs.bzl", _ktstr_initramfs = "ktstr_initramfs")
load(
    "//rules:kernel.bzl",
    _ktstr_kernel = "ktstr_kernel",
    _ktstr_kernel_image = "ktstr_kernel_image",
    _ktstr_kernel_source = "ktstr_kernel_source",
)
load("//rules:ktstr_test.bzl", _ktstr_test = "ktstr_test", _ktstr_vm_test = "ktstr_vm_test")
load("//rules:providers.bzl", _KtstrInitramfsInfo = "KtstrInitramfsInfo", _KtstrKernelInfo = "KtstrKernelInfo")
load("//rules:scheds.bzl", _ktstr_scheds = "ktstr_scheds")

ktstr_kernel = _ktstr_kernel
ktstr_kernel_image = _ktstr_kernel_image
ktstr_kernel_source = _ktstr_kernel_source
ktstr_initramfs = _ktstr_initramfs
ktstr_scheds = _ktstr_scheds
ktstr_test = _ktstr_test
ktstr_vm_test = _ktstr_vm_test
KtstrKernelInfo = _KtstrKernelInfo
KtstrInitramfsInfo = _KtstrInitramfsInfo
