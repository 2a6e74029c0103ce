package results

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/scenario"
)

// Style says how a summary is drawn.
type Style struct {
	// Unicode draws block characters (▁▂▃ █); else ASCII.
	Unicode bool
	// Color adds ANSI colors.
	Color bool
}

// TerminalStyle is the style for f: block characters on a terminal, and
// colors too unless NO_COLOR is set (no-color.org); plain ASCII when f is
// a file or a pipe.
func TerminalStyle(f *os.File) Style {
	if !isTerminal(f) {
		return Style{}
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	return Style{Unicode: true, Color: !noColor}
}

// isTerminal reports whether f is a terminal: it answers TCGETS.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// sparkWidth is the most columns one CPU's sparkline takes.
const sparkWidth = 60

// histWidth is the longest histogram bar.
const histWidth = 30

var (
	sparkUnicode = []rune("▁▂▃▄▅▆▇█")
	sparkASCII   = []rune("_.-:=+*#")
	// sparkColors are 256-color codes from light to dark, like the
	// report's heat strip.
	sparkColors = []int{151, 115, 79, 38, 32, 25, 19, 17}
)

// WriteSummary prints the run in dir compactly: a sparkline of each
// CPU's nr_running and each cgroup's wake-latency histogram.
func WriteSummary(w io.Writer, dir string, st Style) error {
	mon := &monitor.Report{}
	if err := readJSON(filepath.Join(dir, FileMonitor), mon); err != nil {
		return err
	}
	var sets []workerSet
	if err := readJSON(filepath.Join(dir, FileWorkers), &sets); err != nil {
		return err
	}
	var b strings.Builder
	sparklines(&b, mon, st)
	var all []scenario.WorkerReport
	for _, s := range sets {
		all = append(all, s.Reports...)
	}
	histograms(&b, mergeHists(all), st)
	_, err := io.WriteString(w, b.String())
	return err
}

// sparklines draws one line per CPU, each column the mean nr_running of
// its share of the samples, scaled to the highest value seen.
func sparklines(b *strings.Builder, m *monitor.Report, st Style) {
	if len(m.Samples) == 0 {
		return
	}
	ncpu := len(m.Samples[0].CPUs)
	cols := min(len(m.Samples), sparkWidth)
	var peak uint32
	for _, s := range m.Samples {
		for _, c := range s.CPUs {
			peak = max(peak, c.NrRunning)
		}
	}
	levels := sparkASCII
	if st.Unicode {
		levels = sparkUnicode
	}
	fmt.Fprintf(b, "nr_running per CPU (%d samples over %s, peak %d):\n", len(m.Samples), secs(m.Samples[len(m.Samples)-1].At-m.Samples[0].At), peak)
	for c := range ncpu {
		fmt.Fprintf(b, "  cpu%-3d ", c)
		var sum float64
		for col := range cols {
			lo, hi := col*len(m.Samples)/cols, (col+1)*len(m.Samples)/cols
			var acc float64
			for _, s := range m.Samples[lo:hi] {
				if c < len(s.CPUs) {
					acc += float64(s.CPUs[c].NrRunning)
				}
			}
			mean := acc / float64(hi-lo)
			sum += acc
			lvl := 0
			if peak > 0 {
				lvl = min(int(mean/float64(peak)*float64(len(levels)-1)+0.5), len(levels)-1)
			}
			if st.Color {
				fmt.Fprintf(b, "\x1b[38;5;%dm%c", sparkColors[lvl], levels[lvl])
			} else {
				b.WriteRune(levels[lvl])
			}
		}
		if st.Color {
			b.WriteString("\x1b[0m")
		}
		fmt.Fprintf(b, "  mean %.2f\n", sum/float64(len(m.Samples)))
	}
}

// histograms draws each cgroup's wake-latency buckets as bars.
func histograms(b *strings.Builder, hs []histData, st Style) {
	bar := "#"
	if st.Unicode {
		bar = "█"
	}
	for _, h := range hs {
		lo, hi := -1, -1
		var peak uint64
		for i, n := range h.hist {
			if n > 0 {
				if lo < 0 {
					lo = i
				}
				hi, peak = i, max(peak, n)
			}
		}
		if lo < 0 {
			continue
		}
		fmt.Fprintf(b, "wake-up latency of %s (%d wake-ups, log2 buckets):\n", h.cgroup, h.samples)
		for i := lo; i <= hi; i++ {
			n := int((h.hist[i]*histWidth + peak - 1) / peak)
			line := strings.Repeat(bar, n)
			if st.Color && n > 0 {
				line = "\x1b[38;5;32m" + line + "\x1b[0m"
			}
			fmt.Fprintf(b, "  %7s %s %d\n", bucketLabel(i), line, h.hist[i])
		}
	}
}
