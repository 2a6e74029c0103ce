package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGitBisectRun shows the exit codes doing their job: `git bisect run
// ktstr run ...` over a history whose commits pick a healthy scheduler
// (exit 0), a broken one (ktstr_unfair: exit 1) and a kernel that does
// not exist (exit 125, skipped) finds the first broken commit. Each
// commit's ktstr-args file stands in for what a real history changes
// (the scheduler's source, the kernel). Boots VMs from a directory
// outside the source tree with the installed-style binary: run it under
// the VM lock (flock /tmp/ktstr-vm.lock go test ...).
func TestGitBisectRun(t *testing.T) {
	if testing.Short() {
		t.Skip("boots VMs")
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	requireCachedKernel(t)
	bin := installedKtstr(t)
	o := newOutside(t, realCacheDir)
	o.env = append(o.env, "KTSTR="+bin, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")

	// Could not test: no VM boots, exit 125.
	if code, _, stderr := o.run(t, time.Minute, bin, "run", "demo", "--kernel", "6.1.1"); code != exitCouldNotTest || !strings.Contains(stderr, "no kernel found") {
		t.Errorf("missing kernel: exit %d, want 125\n%s", code, stderr)
	}
	// Healthy: the demo scheduler (ktstr_fifo, loaded by this binary as
	// /sched/scxload) passes, exit 0.
	code, stdout, stderr := o.run(t, 15*time.Minute, bin, "run", "demo")
	if code != exitPass || !strings.Contains(stdout, "demo: PASS") {
		t.Fatalf("demo from %s: exit %d, want 0\n%s\n%s", o.dir, code, stdout, stderr)
	}
	t.Logf("demo from outside the tree:\n%s", lastLines(stdout, 3))

	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(gitBin, args...)
		cmd.Dir, cmd.Env = o.dir, o.env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	git("init", "-q")
	var commits []string
	for _, args := range []string{
		"run demo",                // good
		"run matrix_ktstr_unfair", // the first bad commit
		"run demo --kernel 6.1.1", // cannot be tested: skipped
		"run matrix_ktstr_unfair", // bad
	} {
		if err := os.WriteFile(filepath.Join(o.dir, "ktstr-args"), []byte(args+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "ktstr-args")
		git("commit", "-q", "-m", args)
		commits = append(commits, strings.TrimSpace(git("rev-parse", "HEAD")))
	}
	git("bisect", "start", commits[3], commits[0])
	out := git("bisect", "run", "sh", "-c", `exec "$KTSTR" $(cat ktstr-args)`)
	t.Logf("git bisect run:\n%s", lastLines(out, 12))
	if !strings.Contains(out, commits[1]+" is the first bad commit") {
		t.Errorf("git bisect run did not find %s (run matrix_ktstr_unfair):\n%s", commits[1], out)
	}
	// Exit 1 marked the broken commit bad; exit 125, if bisect tried the
	// kernel-less commit, skipped it rather than calling it bad.
	log := git("bisect", "log")
	if !strings.Contains(log, "# bad: ["+commits[1]) {
		t.Errorf("bisect log lacks the bad verdict on %s:\n%s", commits[1], log)
	}
	if strings.Contains(log, "# bad: ["+commits[2]) || strings.Contains(log, "# good: ["+commits[2]) {
		t.Errorf("the commit that could not be tested was judged, not skipped:\n%s", log)
	}
	git("bisect", "reset")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
