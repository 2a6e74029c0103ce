package export

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "''"},
		{"simple", "simple"},
		{"/sched/scx_x", "/sched/scx_x"},
		{"--slice-us=20000", "--slice-us=20000"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"'", `''\'''`},
		{`"double"`, `'"double"'`},
		{"$HOME", "'$HOME'"},
		{"`id`", "'`id`'"},
		{"$(id)", "'$(id)'"},
		{"a;b&&c|d", "'a;b&&c|d'"},
		{"*?[x]", "'*?[x]'"},
		{"~root", "'~root'"},
		{"{a,b}", "'{a,b}'"},
		{"back\\slash", `'back\slash'`},
		{"line\nbreak", "'line\nbreak'"},
		{"tab\there", "'tab\there'"},
		{"!bang", "'!bang'"},
		{"#comment", "'#comment'"},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestQuoteRoundTripsThroughBash checks the property that matters: bash
// turns every quoted word back into exactly the original string, one argv
// slot each, empty ones included.
func TestQuoteRoundTripsThroughBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	inputs := []string{"", "plain", "a b", "it's", "''", `"`, "$HOME", "${x:-y}", "`id`", "$(id)",
		"a;b", "x|y", "&", "*", "?", "[a]", "~", "{a,b}", `\`, "\n", "tab\t", "!x", "#", "é ü", "=", "--x=$y z"}
	var words []string
	for _, in := range inputs {
		words = append(words, Quote(in))
	}
	script := "printf '%s\\0' " + strings.Join(words, " ")
	out, err := exec.Command(bash, "-c", script).Output()
	if err != nil {
		t.Fatalf("bash: %v\nscript: %s", err, script)
	}
	got := bytes.Split(out, []byte{0})
	got = got[:len(got)-1] // after the last NUL
	if len(got) != len(inputs) {
		t.Fatalf("bash saw %d words, want %d", len(got), len(inputs))
	}
	for i, in := range inputs {
		if string(got[i]) != in {
			t.Errorf("word %d: bash got %q from %s, want %q", i, got[i], words[i], in)
		}
	}
}

func TestShellWord(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"/sched/scx_simple", `"$DIR"/sched/scx_simple`},
		{"/sched/a b", `"$DIR"/'sched/a b'`},
		{"/include/layers.json", `"$DIR"/include/layers.json`},
		{"--config=/sched/cfg.json", `--config="$DIR"/sched/cfg.json`},
		{"--x y=/include/f", `'--x y='"$DIR"/include/f`},
		{"--config", "--config"},
		{"/schedule", "/schedule"},
		{"-c/sched/config", `-c"$DIR"/sched/config`},
		{"/usr/sched/x", "/usr/sched/x"},
		{"--paths=/a,/sched/x", "--paths=/a,/sched/x"},
		{"", "''"},
		{"$x", "'$x'"},
	}
	for _, tt := range tests {
		if got := ShellWord(tt.in); got != tt.want {
			t.Errorf("ShellWord(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestSchedulerCommandRunsInBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	argv := []string{"/sched/scx_x", "--config", "/sched/conf dir/c.json", "--name=it's", "", "--inc=/include/f", "-c/sched/c"}
	cmd, err := SchedulerCommand(argv)
	if err != nil {
		t.Fatal(err)
	}
	// Replace the program with printf, keep every argument word.
	script := `DIR=/tmp/x; set -- ` + cmd + `; printf '%s\0' "$@"`
	out, err := exec.Command(bash, "-c", script).Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, script)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	want := []string{"/tmp/x/sched/scx_x", "--config", "/tmp/x/sched/conf dir/c.json", "--name=it's", "", "--inc=/tmp/x/include/f", "-c/tmp/x/sched/c"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("scheduler argv in bash:\n got %q\nwant %q", got, want)
	}
}

func TestSchedulerCommandRejects(t *testing.T) {
	for _, argv := range [][]string{nil, {"/usr/bin/scx_x"}, {"scx_x"}} {
		if _, err := SchedulerCommand(argv); err == nil {
			t.Errorf("SchedulerCommand(%q): no error", argv)
		}
	}
}
