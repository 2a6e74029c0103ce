package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name, log, want string
		err             string // substring of the error; "" for none
	}{
		{"summary only", "testdata/remote.json", "", ""},
		{"one test was a cache hit", "testdata/remote.json", "executed", "1 of 2 test spawns were not executed: //tests:shell_default (remote cache hit)"},
		{"one test was executed", "testdata/remote.json", "cached", "1 of 2 test spawns were not cached: //tests:smoke_default (remote)"},
		{"no tests", "testdata/notests.json", "executed", "no test spawns"},
		{"bad mode", "testdata/remote.json", "local", `-tests "local"`},
		{"missing log", "testdata/absent.json", "", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(&out, tt.log, tt.want)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("run: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("run: error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, "testdata/remote.json", ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"GoCompilePkg               1 remote cache hit\n",
		"KtstrKernel                1 local\n",
		"TestRunner                 1 remote, 1 remote cache hit\n",
		"//tests:shell_default                    remote cache hit  platform OSFamily=linux,kvm=tcg, exit 0\n",
		"//tests:smoke_default                    remote            platform OSFamily=linux,kvm=tcg, exit 0\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}
