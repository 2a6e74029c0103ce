package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// TestBadInput runs every command with bad input, without a VM: each must
// stop before any slow work with its exit code and a message that names
// the problem and the fix, and say each thing once.
func TestBadInput(t *testing.T) {
	cache := scratchCache(t)
	storeKernel(t, cache, "k-6.12.118", "6.12.118", time.Now())
	notKernel := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(notKernel, []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		errs []string // stderr must contain each
		out  []string // stdout must contain each
		once string   // must appear in stderr exactly once
	}{
		// Words the flag package used to drop silently.
		{name: "run NAME --list lists", args: []string{"run", "fifo_two_llcs", "--list"}, code: 0, out: []string{"fifo_two_llcs"}},
		{name: "run unknown test", args: []string{"run", "fifo_two_llc"}, code: 2, errs: []string{`no registered test named "fifo_two_llc"`, "did you mean: fifo_two_llcs"}},
		{name: "run extra word", args: []string{"run", "demo", "extra"}, code: 2, errs: []string{`unexpected argument "extra"`}},
		{name: "run name and --test disagree", args: []string{"run", "demo", "--test", "fifo_two_llcs"}, code: 2, errs: []string{"disagree"}},
		{name: "run topology after the name", args: []string{"run", "demo", "--topology", "1x2"}, code: 2, errs: []string{`topology "1x2"`, "1n2l4c2t"}},
		{name: "run uneven topology", args: []string{"run", "--topology", "2n3l1c1t"}, code: 2, errs: []string{"cannot be spread evenly"}},
		{name: "run duration without unit is seconds, bad kernel", args: []string{"run", "--duration", "5", "--kernel", notKernel}, code: 2, errs: []string{"not a kernel image"}},
		{name: "run duration garbage", args: []string{"run", "--duration", "5x"}, code: 2, errs: []string{"want seconds (30) or a positive duration with a unit (1m30s, 500ms)"}},
		{name: "run duration zero", args: []string{"run", "--duration", "0"}, code: 2, errs: []string{"must be positive"}},
		{name: "run unknown backend", args: []string{"run", "--backend", "foo"}, code: 2, errs: []string{"unknown backend: use auto, kvm, qemu, qemu-tcg"}},
		{name: "run unknown KTSTR_BACKEND", env: map[string]string{"KTSTR_BACKEND": "kvmm"}, args: []string{"run"}, code: 2, errs: []string{"KTSTR_BACKEND=kvmm: unknown backend"}},
		{name: "run kernel not a bzImage", args: []string{"run", "--kernel", notKernel}, code: 2, errs: []string{"--kernel " + notKernel + ": not a kernel image", "bzImage"}, once: notKernel},
		{name: "run KTSTR_KERNEL not a bzImage", env: map[string]string{"KTSTR_KERNEL": notKernel}, args: []string{"run"}, code: 2,
			errs: []string{"KTSTR_KERNEL=" + notKernel + ": not a kernel image"}, once: notKernel},
		{name: "run kernel range", args: []string{"run", "--kernel", "6.12..6.14"}, code: 2, errs: []string{"a range names several kernels"}},
		{name: "run kernel missing file", args: []string{"run", "--kernel", "./no/such/bzImage"}, code: 2, errs: []string{"no such file or directory: pass a bzImage"}},
		{name: "run kernel not cached", args: []string{"run", "--kernel", "6.1.1"}, code: 125, errs: []string{"no kernel found", "6.1.1", "ktstr kernel list"}},
		{name: "run junit dir missing", args: []string{"run", "--junit", "/no/such/dir/x.xml"}, code: 2, errs: []string{"--junit /no/such/dir/x.xml: directory /no/such/dir does not exist"}},
		{name: "run unknown flag", args: []string{"run", "--bogus"}, code: 2, errs: []string{"unknown flag: --bogus", "ktstr run --help"}},
		{name: "unknown command", args: []string{"bogus"}, code: 2, errs: []string{`unknown command "bogus" for "ktstr"`}},
		{name: "misspelt command", args: []string{"rnu"}, code: 2, errs: []string{"did you mean run?"}},
		{name: "help on an unknown command", args: []string{"help", "bogus"}, code: 2, errs: []string{`unknown command "bogus"`}},
		{name: "group without a command", args: []string{"kernel"}, code: 2, errs: []string{"missing a command"}},
		{name: "group with an unknown command", args: []string{"kernel", "bogus"}, code: 2, errs: []string{`unknown command "bogus" for "ktstr kernel"`}},
		// kernel
		{name: "kernel path not a bzImage", env: map[string]string{"KTSTR_KERNEL": notKernel}, args: []string{"kernel", "path"}, code: 2,
			errs: []string{"KTSTR_KERNEL=" + notKernel + ": not a kernel image"}, once: notKernel},
		{name: "kernel path version prefix", args: []string{"kernel", "path", "6.12"}, code: 0, out: []string{"blobs/sha256/"}},
		{name: "kernel path version not cached", args: []string{"kernel", "path", "6.13"}, code: 125, errs: []string{"no kernel found", "no such version in the cache"}},
		{name: "kernel path two ids", args: []string{"kernel", "path", "6.12", "6.13"}, code: 2, errs: []string{`unexpected argument "6.13"`}},
		{name: "kernel clean keep negative", args: []string{"kernel", "clean", "--keep", "-1"}, code: 2, errs: []string{"--keep -1"}},
		{name: "kernel clean age without unit", args: []string{"kernel", "clean", "--older-than", "30"}, code: 2, errs: []string{"30d, 2w, 12h"}},
		{name: "kernel clean dry-run and force", args: []string{"kernel", "clean", "--dry-run", "--force"}, code: 2, errs: []string{"contradict"}},
		{name: "kernel push one arg", args: []string{"kernel", "push", "k-6.12.118"}, code: 2, errs: []string{"missing REF"}},
		{name: "kernel pull two args", args: []string{"kernel", "pull", "a", "b"}, code: 2, errs: []string{`unexpected argument "b"`}},
		{name: "kernel build version as source", args: []string{"kernel", "build", "--source", "6.12.117"}, code: 2,
			errs: []string{"is a version, not a source", "git+https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git#v6.12.117"}},
		{name: "kernel build negative jobs", args: []string{"kernel", "build", "-j", "-1"}, code: 2, errs: []string{"--jobs -1"}},
		{name: "kernel build extra word", args: []string{"kernel", "build", "now"}, code: 2, errs: []string{`unexpected argument "now"`}},
		// shell: bad input is reported as such, not as "no kernel found".
		{name: "shell negative memory", args: []string{"shell", "--memory", "-5", "--exec", "true"}, code: 2, errs: []string{"--memory -5"}},
		{name: "shell missing include", args: []string{"shell", "-i", "/nonexistent", "--exec", "true"}, code: 2, errs: []string{"/nonexistent"}},
		{name: "shell command twice", args: []string{"shell", "--exec", "true", "ls", "-l"}, code: 2, errs: []string{"not both", `"ls" "-l"`}},
		{name: "shell bad topology", args: []string{"shell", "--topology", "0,1,1,1", "true"}, code: 2, errs: []string{"at least 1"}},
		{name: "shell bad kernel", args: []string{"shell", "--kernel", notKernel, "true"}, code: 2, errs: []string{"not a kernel image"}},
		// matrix: one message without a kernel, not one mismatch per row.
		{name: "matrix unknown row", args: []string{"matrix", "--only", "eevdf,nosuch"}, code: 2, errs: []string{"--only nosuch: no such row", "ktstr_unfair"}},
		{name: "matrix negative retries", args: []string{"matrix", "--retries", "-1"}, code: 2, errs: []string{"--retries -1"}},
		{name: "matrix extra word", args: []string{"matrix", "eevdf"}, code: 2, errs: []string{`unexpected argument "eevdf"`}},
		{name: "matrix without a kernel", env: map[string]string{"KTSTR_KERNEL": "6.1.1"}, args: []string{"matrix"}, code: 125, once: "no kernel found"},
		// verifier, export, sched, version
		{name: "verifier unknown scheduler", args: []string{"verifier", "nosuch"}, code: 2, errs: []string{`unknown scheduler "nosuch"`, "ktstr_fifo"}},
		{name: "verifier bad level", args: []string{"verifier", "--level", "3"}, code: 2, errs: []string{"--level 3"}},
		{name: "verifier bad topology", args: []string{"verifier", "--topology", "1x1"}, code: 2, errs: []string{`topology "1x1"`}},
		{name: "export without a name", args: []string{"export"}, code: 2, errs: []string{"missing the test NAME"}},
		{name: "export two names", args: []string{"export", "demo", "demo_eevdf"}, code: 2, errs: []string{`unexpected "demo_eevdf"`}},
		{name: "export unknown test", args: []string{"export", "dmeo"}, code: 2, errs: []string{`no registered test named "dmeo"`}},
		{name: "export list with a name", args: []string{"export", "--list", "demo"}, code: 2, errs: []string{"--list takes no test name"}},
		{name: "sched without a command", args: []string{"sched"}, code: 2, errs: []string{"missing a command"}},
		{name: "sched build extra word", args: []string{"sched", "build", "all"}, code: 2, errs: []string{`unexpected argument "all"`}},
		{name: "version extra word", args: []string{"version", "now"}, code: 2, errs: []string{`unexpected argument "now"`}},
		{name: "initramfs without its flags", args: []string{"initramfs"}, code: 2, errs: []string{`required flag(s) "init", "out" not set`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := ktstrCLI(t, cliOpts{}, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			r.expect(t, tt.out, tt.errs)
			if tt.once != "" && strings.Count(r.stderr, tt.once) != 1 {
				t.Errorf("stderr says %q %d times, want once:\n%s", tt.once, strings.Count(r.stderr, tt.once), r.stderr)
			}
			if tt.code == 2 && !strings.Contains(r.stderr, "--help' for usage") {
				t.Errorf("a usage error without the --help pointer:\n%s", r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, ".go:") {
				t.Errorf("stderr carries a stack trace or source position:\n%s", r.stderr)
			}
		})
	}
	if got := cacheKeys(t, cache); !slices.Equal(got, []string{"k-6.12.118"}) {
		t.Errorf("bad input changed the cache: %v", got)
	}
}

// Every command's -h/--help prints its usage on stdout and exits 0.
func TestHelpExitsZero(t *testing.T) {
	var walk func(c *cobra.Command)
	var paths [][]string
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		paths = append(paths, strings.Fields(c.CommandPath())[1:])
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(&env{}))
	if len(paths) < 15 {
		t.Fatalf("only %d commands found: %v", len(paths), paths)
	}
	for _, p := range paths {
		for _, h := range []string{"-h", "--help"} {
			r := ktstrCLI(t, cliOpts{}, append(append([]string{}, p...), h)...)
			if r.code != 0 || !strings.Contains(r.stdout, "Usage:") || r.stderr != "" {
				t.Errorf("ktstr %s %s: exit %d, stdout %q, stderr %q", strings.Join(p, " "), h, r.code, r.stdout, r.stderr)
			}
		}
	}
	r := ktstrCLI(t, cliOpts{}, "help")
	for _, w := range []string{"Exit codes:", "125  could not test", "KTSTR_KERNEL", "run ", "kernel ", "completion "} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("ktstr help lacks %q:\n%s", w, r.stdout)
		}
	}
}

func TestVersionAndCompletion(t *testing.T) {
	r := ktstrCLI(t, cliOpts{}, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ktstr ") || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("version: exit %d, %q", r.code, r.stdout)
	}
	if r2 := ktstrCLI(t, cliOpts{}, "--version"); r2.stdout != r.stdout {
		t.Errorf("--version %q differs from version %q", r2.stdout, r.stdout)
	}
	r = ktstrCLI(t, cliOpts{}, "version", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"go": "go1.`) {
		t.Errorf("version --json: exit %d, %q", r.code, r.stdout)
	}
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		if r := ktstrCLI(t, cliOpts{}, "completion", sh); r.code != 0 || len(r.stdout) < 1000 {
			t.Errorf("completion %s: exit %d, %d bytes", sh, r.code, len(r.stdout))
		}
	}
	// What the scripts ask: test names, backends, matrix rows.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "run", "fifo"}, "fifo_two_llcs"},
		{[]string{"__complete", "run", "--backend", ""}, "qemu-tcg"},
		{[]string{"__complete", "matrix", "--only", ""}, "ktstr_unfair"},
		{[]string{"__complete", "verifier", ""}, "ktstr_fifo"},
	} {
		if r := ktstrCLI(t, cliOpts{}, tc.args...); r.code != 0 || !strings.Contains(r.stdout, tc.want) {
			t.Errorf("%v: exit %d, %q lacks %q", tc.args, r.code, r.stdout, tc.want)
		}
	}
}
