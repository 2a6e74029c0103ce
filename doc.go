// Package ktstr is the Go test API and host runner of ktstr-go: declare a
// scheduler test (topology, scheduler, scenario body) and run it in a VM
// from go test, from the ktstr command, or exported to bare metal.
//
// On the host, Run boots a VM whose init is the same test binary told to
// run only that test; inside the guest the same call runs the body.
// TestMain must call Main so the binary can act as the guest's PID 1, as a
// worker process, and as a multi-call tool.
//
// The files, by role:
//
//	opts.go        Opts and Test: what a test declares; the defaults
//	registry.go    Register, Lookup, Registered: tests by name
//	gotest.go      Run, RunResult, RunRegistered, RunTest, Boot: go test and program entry points
//	               (t.Context, a VM timeout fitted inside t.Deadline, logs to the test's output,
//	               KTSTR_REQUIRE_KERNEL)
//	main.go        Main and MainProgram: one binary as test runner, guest init, worker, tool
//	runoptions.go  RunOptions: the caller's choices for one run; fitting its VM inside a deadline
//	overrides.go   settle: flag > env > test > scheduler default > ktstr default, for every value
//	overrides_sched.go  settleScheduler: which scheduler (--scheduler > KTSTR_SCHEDULER > test's), its arguments, map writes, constraints
//	runplan.go     the guest's run plan, scheduler files, constraint skips, checks before boot
//	setup.go       sysctls, map writes and the test's cgroup path, in the guest and on bare metal
//	expect.go      Opts.ExpectFail: a test that must fail for a stated reason
//	hostonly.go    HostOnly tests: the body on this host, without a VM
//	vm.go          boot: one VM run, plan → start → collect → judge
//	plan.go        plan: settle, validate, resolve the kernel, pack the initramfs, pick the VMM
//	initramfs.go   packing the guest's files (this binary, scheduler, includes)
//	backend.go     SelectBackend: the in-repo KVM VMM or QEMU
//	start.go       start: boot the VM and the host monitor
//	watch.go       the host monitor's wiring: JIT symbols, stall captures, thresholds
//	collect.go     collect: the guest's records and how the VM ended
//	judge.go       judge: one Result from the exit, the final record and the monitor
//	result.go      Result: the host's verdict on a run
//	results_write.go  the run's results directory (results package): whole console, record times
//	introspect.go  snapshot requests to the monitor, probe reports and the timeline; Result.Explain
//	introspect_guest.go  the test body's probes in the guest (Opts.Probes, ProbeCalls)
//	introspect_files.go  snapshots, probes, timeline and repro as files of the results directory
//	repro.go       autoRepro: a scheduler death or stall run again with probes on its path
//	guest.go       the guest's work process: boot parameters in, records out
//	body.go        runBody: one test body, in a VM or on bare metal, judged the same
//	baremetal.go   a registered test on a real host (what an exported .run runs)
//	tool.go        the in-binary tool: <testbin> ktstr list|manifest|run
//	export.go      ExportManifest: what an exporter needs to package a test
//	shell.go       Shell: a busybox shell in a VM
package ktstr
