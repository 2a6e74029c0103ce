// Command execlog summarizes a Bazel execution log (--execution_log_json_file)
// and checks where the test actions ran: CI uses it to prove that every VM
// test of a `bazel test --config=remote` run executed on the remote worker,
// or, on a rerun, came from the remote action cache.
//
//	execlog -tests executed exec.json   every TestRunner spawn ran remotely
//	execlog -tests cached exec.json     every TestRunner spawn was a remote cache hit
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	want := flag.String("tests", "", "require every test spawn to be `executed` remotely or `cached` (a remote cache hit); empty: only summarize")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: execlog [-tests executed|cached] EXECUTION_LOG.json")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout, flag.Arg(0), *want); err != nil {
		fmt.Fprintln(os.Stderr, "execlog:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	spawns, err := decode(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	printSummary(w, spawns)
	return check(spawns, want)
}

// printSummary prints spawn counts per mnemonic and where they ran, then
// one line per test spawn.
func printSummary(w io.Writer, spawns []spawn) {
	counts := map[string]map[string]int{}
	for _, s := range spawns {
		if counts[s.Mnemonic] == nil {
			counts[s.Mnemonic] = map[string]int{}
		}
		counts[s.Mnemonic][s.where()]++
	}
	mnemonics := make([]string, 0, len(counts))
	for m := range counts {
		mnemonics = append(mnemonics, m)
	}
	sort.Strings(mnemonics)
	for _, m := range mnemonics {
		var parts []string
		for where, n := range counts[m] {
			parts = append(parts, fmt.Sprintf("%d %s", n, where))
		}
		sort.Strings(parts)
		fmt.Fprintf(w, "%-26s %s\n", m, strings.Join(parts, ", "))
	}
	for _, s := range tests(spawns) {
		fmt.Fprintf(w, "  %-40s %-17s platform %s, exit %d\n", s.target(), s.where(), s.platform(), s.ExitCode)
	}
}

// check enforces want on the test spawns.
func check(spawns []spawn, want string) error {
	var ok func(spawn) bool
	switch want {
	case "":
		return nil
	case "executed":
		ok = func(s spawn) bool { return s.where() == "remote" }
	case "cached":
		ok = func(s spawn) bool { return s.where() == "remote cache hit" }
	default:
		return fmt.Errorf("-tests %q: want executed or cached", want)
	}
	ts := tests(spawns)
	if len(ts) == 0 {
		return errors.New("no test spawns in the log: did the run test anything?")
	}
	var bad []string
	for _, s := range ts {
		if !ok(s) {
			bad = append(bad, s.target()+" ("+s.where()+")")
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d test spawns were not %s: %s", len(bad), len(ts), want, strings.Join(bad, ", "))
	}
	return nil
}

func tests(spawns []spawn) []spawn {
	var out []spawn
	for _, s := range spawns {
		if s.Mnemonic == "TestRunner" {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].target() < out[j].target() })
	return out
}
