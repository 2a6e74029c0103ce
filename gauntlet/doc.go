// Package gauntlet fans a ktstr test out over topology presets × scheduler
// flag variants × kernels, runs the variants (in parallel VMs, within a
// time budget if asked), and reports them as one table with a summary per
// dimension.
//
// The same expansion serves three runners, with the same case names
// (TEST/PRESET/FLAGS/KERNEL, e.g. demo/smt-pair/base/6.12.118):
//
//   - go test: Run and RunRegistered make one subtest per variant;
//   - `ktstr gauntlet`: Expand, Select and Runner over registered tests;
//   - Bazel: the ktstr_test macro's gauntlet targets, from the variants
//     WriteBzl lists (tests/gauntlet_variants.bzl).
//
// The files, by role:
//
//	variant.go    Variant: one case and its name
//	kernels.go    the kernel dimension: --kernel, KTSTR_KERNEL_LIST, ranges, resolved once
//	expand.go     Expand: tests × presets (constraints) × flag variants × kernels, with skips
//	budget.go     Select: the subset within a time budget that covers every value, then pairs
//	durations.go  Durations: measured wall times kept in the cache for the budget
//	parallel.go   Parallelism: the VM parallelism knob and its default
//	hostload.go   judging a run whose host was overloaded as inconclusive
//	runner.go     Runner: runs variants in parallel VMs
//	report.go     the table, the per-dimension summary, JSON and JUnit
//	gotest.go     Run and RunRegistered: variants as go subtests
//	bzl.go        WriteBzl: the variant list for Bazel
package gauntlet
