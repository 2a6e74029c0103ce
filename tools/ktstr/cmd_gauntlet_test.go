package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/gauntlet"
)

// fakeKernelDir is an exported kernel directory (as `kernel build
// --out-dir` leaves it) of a 6.1 kernel without sched_ext: a bzImage
// header naming the release, and its config.
func fakeKernelDir(t *testing.T) string {
	dir := t.TempDir()
	img := make([]byte, 0x400)
	copy(img[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(img[0x20e:], 0x100)
	copy(img[0x300:], "6.1.192 (ktstr@ktstr) #1\x00")
	os.WriteFile(filepath.Join(dir, "bzImage"), img, 0o644)
	os.WriteFile(filepath.Join(dir, "config"), []byte("# CONFIG_SCHED_CLASS_EXT is not set\n"), 0o644)
	return filepath.Join(dir, "bzImage")
}

func TestGauntletList(t *testing.T) {
	t.Setenv("KTSTR_LOG", "error")
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // durations
	img := fakeKernelDir(t)
	r := ktstrCLI(t, cliOpts{}, "gauntlet", "--list", "--test", "demo", "--test", "demo_eevdf", "--preset", "pair,numa2", "--kernel", "old="+img)
	out := r.stdout
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s%s", r.code, out, r.stderr)
	}
	for _, want := range []string{
		"kernel old: " + img,
		"demo/pair/base/old  (skips: kernel 6.1.192 has no sched_ext: its .config does not set CONFIG_SCHED_CLASS_EXT=y)",
		"demo_eevdf/numa2/base/old\n",
		"4 variants, estimated",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--list lacks %q:\n%s", want, out)
		}
	}
}

func TestGauntletBzlAndPresets(t *testing.T) {
	r := ktstrCLI(t, cliOpts{}, "gauntlet", "--presets")
	out, code := r.stdout, r.code
	if code != 0 || !strings.Contains(out, "max-flat    1n4l16c1t  64") {
		t.Errorf("--presets: exit %d\n%s", code, out)
	}
	r = ktstrCLI(t, cliOpts{}, "gauntlet", "--bzl")
	out, code = r.stdout, r.code
	// Under Bazel the file is not in the runfiles; tools/bazel/check.sh
	// compares it there.
	if want, err := os.ReadFile("../../tests/gauntlet_variants.bzl"); err == nil && (code != 0 || out != string(want)) {
		t.Errorf("--bzl (exit %d) differs from tests/gauntlet_variants.bzl: regenerate it with `go run ./tools/ktstr gauntlet --bzl > tests/gauntlet_variants.bzl`", code)
	}
	r = ktstrCLI(t, cliOpts{}, "gauntlet", "--print-parallelism")
	out, code = r.stdout, r.code
	if code != 0 || strings.TrimSpace(out) != strconv.Itoa(gauntlet.DefaultParallelism()) {
		t.Errorf("--print-parallelism: %q exit %d", out, code)
	}
}

func TestGauntletBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--list", "--preset", "nosuch"}, "nosuch"},
		{[]string{"--list", "--test", "no_such_test"}, "no_such_test"},
		{[]string{"--list", "--kernel", "6.12..6.1"}, "swap the endpoints: 6.1..6.12"},
		{[]string{"--list", "--parallel", "-1"}, "--parallel -1"},
		{[]string{"--list", "extra"}, `unexpected argument "extra"`},
	} {
		if r := ktstrCLI(t, cliOpts{}, append([]string{"gauntlet"}, tc.args...)...); r.code != exitUsage || !strings.Contains(r.stderr, tc.err) {
			t.Errorf("%v: exit %d, want 2 naming %q:\n%s", tc.args, r.code, tc.err, r.stderr)
		}
	}
}
