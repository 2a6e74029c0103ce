package main

import (
	"context"
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
	out, code := captureStdout(t, func() int {
		return cmdGauntlet(context.Background(), []string{"--list", "--test", "demo", "--test", "demo_eevdf", "--preset", "pair,numa2", "--kernel", "old=" + img})
	})
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
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
	out, code := captureStdout(t, func() int { return cmdGauntlet(context.Background(), []string{"--presets"}) })
	if code != 0 || !strings.Contains(out, "max-flat    1n4l16c1t  64") {
		t.Errorf("--presets: exit %d\n%s", code, out)
	}
	out, code = captureStdout(t, func() int { return cmdGauntlet(context.Background(), []string{"--bzl"}) })
	// Under Bazel the file is not in the runfiles; tools/bazel/check.sh
	// compares it there.
	if want, err := os.ReadFile("../../tests/gauntlet_variants.bzl"); err == nil && (code != 0 || out != string(want)) {
		t.Errorf("--bzl (exit %d) differs from tests/gauntlet_variants.bzl: regenerate it with `go run ./tools/ktstr gauntlet --bzl > tests/gauntlet_variants.bzl`", code)
	}
	out, code = captureStdout(t, func() int { return cmdGauntlet(context.Background(), []string{"--print-parallelism"}) })
	if code != 0 || strings.TrimSpace(out) != strconv.Itoa(gauntlet.DefaultParallelism()) {
		t.Errorf("--print-parallelism: %q exit %d", out, code)
	}
}

func TestGauntletBadInput(t *testing.T) {
	t.Setenv("KTSTR_LOG", "error")
	for _, args := range [][]string{
		{"--list", "--preset", "nosuch"},
		{"--list", "--test", "no_such_test"},
		{"--list", "--kernel", "6.12..6.1"},
	} {
		if _, code := captureStdout(t, func() int { return cmdGauntlet(context.Background(), args) }); code != 1 {
			t.Errorf("%v: exit %d, want 1", args, code)
		}
	}
}
