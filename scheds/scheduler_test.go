package scheds

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func testSched(t *testing.T) *Scheduler {
	bin := filepath.Join(t.TempDir(), "scx_test")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Scheduler{
		Name:   "test",
		Source: HostBinary{Path: bin},
		Args:   []string{"--base"},
		Flags: []Flag{
			{Name: "llc", Args: []string{"--llc"}},
			{Name: "steal", Args: []string{"--steal"}, Requires: []string{"llc"}},
			{Name: "lowlat", Args: []string{"--lowlat"}, Excludes: []string{"steal"}},
		},
		Config: &Config{Content: "x=1\n", Args: []string{"--config={config}"}},
	}
}

func TestValidate(t *testing.T) {
	s := testSched(t)
	for _, tc := range []struct {
		flags []string
		err   string
	}{
		{nil, ""},
		{[]string{"llc", "steal"}, ""},
		{[]string{"steal"}, `requires flag "llc"`},
		{[]string{"nope"}, `has no flag "nope" (declared: llc, steal, lowlat)`},
		{[]string{"llc", "llc"}, "given twice"},
		{[]string{"llc", "steal", "lowlat"}, "cannot be combined"},
	} {
		err := s.Validate(tc.flags)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("Validate(%v) = %v, want error containing %q", tc.flags, err, tc.err)
		}
	}
}

func TestVariants(t *testing.T) {
	got, err := testSched(t).Variants()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{nil, {"llc"}, {"lowlat"}, {"llc", "steal"}, {"llc", "lowlat"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Variants = %v, want %v", got, want)
	}
	if v, _ := EEVDF.Variants(); len(v) != 1 || v[0] != nil {
		t.Errorf("EEVDF variants = %v, want one empty", v)
	}
}

func TestArgvAndFiles(t *testing.T) {
	s := testSched(t)
	argv, err := s.Argv([]string{"steal", "llc"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/sched/scx_test", "--base", "--config=/sched/config", "--llc", "--steal"}
	if !reflect.DeepEqual(argv, want) {
		t.Errorf("Argv = %v, want %v", argv, want)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	files, err := s.Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files["/sched/scx_test"] == "" {
		t.Fatalf("Files = %v", files)
	}
	if b, err := os.ReadFile(files["/sched/config"]); err != nil || string(b) != "x=1\n" {
		t.Errorf("config file = %q, %v", b, err)
	}
}

func TestFilesErrors(t *testing.T) {
	for _, tc := range []struct {
		s   *Scheduler
		err string
	}{
		{&Scheduler{Name: "x", Source: HostBinary{Path: "/nonexistent/scx_x"}}, "no such file"},
		{&Scheduler{Name: "x", Source: HostBinary{Path: "scx_surely_not_in_path"}}, "not found in $PATH"},
		{&Scheduler{Name: "bad name", Source: HostBinary{Path: "x"}}, "ops name"},
		{&Scheduler{Name: "x"}, "no Source"},
		{&Scheduler{Name: "x", Source: HostBinary{Path: "x"}, Flags: []Flag{{Name: "a", Requires: []string{"b"}}}}, "undeclared flag"},
	} {
		_, err := tc.s.Files()
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%+v: Files() = %v, want %q", tc.s, err, tc.err)
		}
	}
	if f, err := EEVDF.Files(); f != nil || err != nil {
		t.Errorf("EEVDF.Files() = %v, %v", f, err)
	}
}
