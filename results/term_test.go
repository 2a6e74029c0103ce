package results

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWriteSummary(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := Write(dir, synthRun(t, fixture{cg1Share: 0.5})); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name              string
		st                Style
		want, wantNot     []string
		wantPlainASCII    bool
		wantColorSequence bool
	}{
		{name: "plain", st: Style{}, want: []string{"cpu0", "cpu1", "wake-up latency of cg_0", "   8µs ", "#"}, wantPlainASCII: true},
		{name: "tty", st: Style{Unicode: true}, want: []string{"█", "▁"}},
		{name: "tty color", st: Style{Unicode: true, Color: true}, want: []string{"\x1b[38;5;"}, wantColorSequence: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteSummary(&b, dir, tc.st); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("summary lacks %q:\n%s", w, out)
				}
			}
			if lines := strings.Count(out, "\n  cpu"); lines != 2 {
				t.Errorf("%d sparklines, want one per CPU (2):\n%s", lines, out)
			}
			if tc.wantPlainASCII && strings.ContainsAny(out, "▁█\x1b") {
				t.Errorf("plain summary has block characters or escapes:\n%s", out)
			}
			if !tc.wantColorSequence && strings.Contains(out, "\x1b") {
				t.Errorf("summary without color has escapes:\n%q", out)
			}
		})
	}
}

// A pipe is not a terminal: plain output whatever NO_COLOR says.
func TestTerminalStyleOfAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if st := TerminalStyle(w); st != (Style{}) {
		t.Errorf("TerminalStyle(pipe) = %+v, want plain", st)
	}
}

// A pseudo-terminal is a terminal: block characters, and colors unless
// NO_COLOR is set.
func TestTerminalStyleOfATTY(t *testing.T) {
	pt, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal to test with: %v", err)
	}
	defer pt.Close()
	t.Setenv("NO_COLOR", "")
	os.Unsetenv("NO_COLOR")
	if st := TerminalStyle(pt); st != (Style{Unicode: true, Color: true}) {
		t.Errorf("TerminalStyle(tty) = %+v, want block characters and colors", st)
	}
	t.Setenv("NO_COLOR", "1")
	if st := TerminalStyle(pt); st != (Style{Unicode: true}) {
		t.Errorf("TerminalStyle(tty) with NO_COLOR = %+v, want block characters only", st)
	}
}
