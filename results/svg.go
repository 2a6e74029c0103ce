package results

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/monitor"
)

// Geometry of the per-CPU timeline, in SVG user units (px).
const (
	tlLabel   = 64  // left column with the row names
	tlWidth   = 880 // plot width
	tlRowH    = 22  // one CPU's strip
	tlRowGap  = 4
	tlBandH   = 20 // phases band
	tlEventsH = 18 // scheduler events band
	tlAxisH   = 22
)

// heatSteps are the lowest nr_running of each shade in heatColors
// (light to dark): 0, 1, 2, 3, 4-5, 6-8, 9-12, 13+.
var (
	heatSteps  = []uint32{0, 1, 2, 3, 4, 6, 9, 13}
	heatColors = []string{"#eef0f2", "#d9f0b0", "#a1dab4", "#5fc3bf", "#2c9fc0", "#2266ac", "#253494", "#111d5e"}
)

func heatColor(n uint32) string {
	i := len(heatSteps) - 1
	for n < heatSteps[i] {
		i--
	}
	return heatColors[i]
}

// heatLegend names each shade: "0", "4-5", "13+".
func heatLegend() []legendStep {
	out := make([]legendStep, len(heatSteps))
	for i, lo := range heatSteps {
		label := fmt.Sprint(lo)
		switch {
		case i == len(heatSteps)-1:
			label += "+"
		case heatSteps[i+1] > lo+1:
			label += fmt.Sprintf("-%d", heatSteps[i+1]-1)
		}
		out[i] = legendStep{Label: label, Color: heatColors[i]}
	}
	return out
}

type legendStep struct{ Label, Color string }

// timeline draws one heat strip of nr_running per CPU, the phases above
// them, the scheduler's events and the stall captures.
type timeline struct {
	v    *view
	end  time.Duration
	cpus int
	b    strings.Builder
}

func (tl *timeline) x(at time.Duration) float64 {
	if tl.end <= 0 {
		return tlLabel
	}
	return tlLabel + tlWidth*float64(max(min(at, tl.end), 0))/float64(tl.end)
}

func (tl *timeline) rowY(cpu int) float64 {
	return tlBandH + tlEventsH + float64(cpu*(tlRowH+tlRowGap))
}

// timelineSVG renders the timeline; cpus is the topology's CPU count
// (the monitor may have sampled none).
func timelineSVG(v *view, cpus int) string {
	tl := &timeline{v: v, end: v.end, cpus: cpus}
	if m := v.run.Monitor; m != nil && len(m.Samples) > 0 {
		tl.cpus = max(tl.cpus, len(m.Samples[0].CPUs))
	}
	height := tl.rowY(tl.cpus) + tlAxisH
	fmt.Fprintf(&tl.b, `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="0 0 %d %.0f" role="img" aria-label="per-CPU timeline">`,
		tlLabel+tlWidth+8, height, tlLabel+tlWidth+8, height)
	tl.phases()
	tl.rows()
	tl.events()
	tl.axis(height - tlAxisH)
	tl.b.WriteString(`</svg>`)
	return tl.b.String()
}

func (tl *timeline) phases() {
	fmt.Fprintf(&tl.b, `<text class="lbl" x="2" y="%d">phases</text>`, tlBandH-5)
	for i, p := range tl.v.phases {
		x0, x1 := tl.x(p.Start), tl.x(p.End)
		fmt.Fprintf(&tl.b, `<g class="phase"><rect class="phase%d" x="%.1f" y="1" width="%.1f" height="%d"><title>%s: %s to %s</title></rect>`,
			i%2, x0, max(x1-x0, 1), tlBandH-3, esc(p.Name), secs(p.Start), secs(p.End))
		fmt.Fprintf(&tl.b, `<text class="phase-name" x="%.1f" y="%d">%s</text></g>`, x0+3, tlBandH-6, esc(clip(p.Name, int((x1-x0)/6))))
		// The phase's start across every CPU row.
		fmt.Fprintf(&tl.b, `<line class="phase-mark" x1="%.1f" x2="%.1f" y1="%d" y2="%.0f"/>`, x0, x0, tlBandH, tl.rowY(tl.cpus))
	}
	for _, o := range tl.v.ops {
		fmt.Fprintf(&tl.b, `<rect class="op" x="%.1f" y="%d" width="%.1f" height="4"><title>op %s at %s</title></rect>`,
			tl.x(o.Start), tlBandH-4, max(tl.x(o.End)-tl.x(o.Start), 2), esc(o.Name), secs(o.Start))
	}
}

// rows draws each CPU's strip, merging equal neighbouring samples.
func (tl *timeline) rows() {
	m := tl.v.run.Monitor
	for c := range tl.cpus {
		y := tl.rowY(c)
		fmt.Fprintf(&tl.b, `<g class="cpu-row" data-cpu="%d"><text class="lbl" x="2" y="%.0f">cpu%d</text>`, c, y+tlRowH-7, c)
		fmt.Fprintf(&tl.b, `<rect class="nodata" x="%d" y="%.0f" width="%d" height="%d"><title>cpu%d: not sampled</title></rect>`, tlLabel, y, tlWidth, tlRowH, c)
		if m != nil {
			tl.strip(m, c, y)
		}
		tl.stalls(m, c, y)
		tl.b.WriteString(`</g>`)
	}
}

func (tl *timeline) strip(m *monitor.Report, c int, y float64) {
	ss := m.Samples
	for i := 0; i < len(ss); {
		if c >= len(ss[i].CPUs) {
			i++
			continue
		}
		n, dsq := ss[i].CPUs[c].NrRunning, ss[i].CPUs[c].LocalDSQ
		j := i + 1
		for j < len(ss) && c < len(ss[j].CPUs) && ss[j].CPUs[c].NrRunning == n && ss[j].CPUs[c].LocalDSQ == dsq {
			j++
		}
		end := ss[j-1].At + m.Interval
		if j < len(ss) {
			end = ss[j].At
		}
		x0, x1 := tl.x(ss[i].At), tl.x(end)
		fmt.Fprintf(&tl.b, `<rect class="heat" x="%.1f" y="%.0f" width="%.2f" height="%d" fill="%s"><title>cpu%d %s to %s: nr_running %d, local DSQ %d</title></rect>`,
			x0, y, max(x1-x0, 0.5), tlRowH, heatColor(n), c, secs(ss[i].At), secs(end), n, dsq)
		i = j
	}
}

// stalls marks where the monitor captured a stalled CPU.
func (tl *timeline) stalls(m *monitor.Report, c int, y float64) {
	if m == nil {
		return
	}
	for _, cp := range m.Captures {
		if cp.CPU != c {
			continue
		}
		x := tl.x(cp.At)
		fmt.Fprintf(&tl.b, `<path class="stall" d="M%.1f %.0f l5 %d l-10 0 z"><title>cpu%d stalled at %s: its vCPU was in %s</title></path>`,
			x, y, tlRowH, c, secs(cp.At), esc(cp.Where))
	}
}

// events draws the scheduler's events as lines over the CPU rows.
func (tl *timeline) events() {
	y0 := float64(tlBandH)
	fmt.Fprintf(&tl.b, `<text class="lbl" x="2" y="%.0f">sched</text>`, y0+tlEventsH-4)
	for _, s := range tl.v.sched {
		x := tl.x(s.At)
		what := s.Event.Event + " " + s.Event.Name
		if e := s.Event.Exit; e != nil {
			what += ": " + e.Reason
		}
		fmt.Fprintf(&tl.b, `<g class="sched-event %s"><line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f"/><circle cx="%.1f" cy="%.0f" r="4"/><title>%s at %s</title></g>`,
			esc(s.Event.Event), x, x, y0+2, tl.rowY(tl.cpus), x, y0+tlEventsH/2, esc(what), secs(s.At))
	}
}

// axis draws a time axis with about ten ticks on round seconds.
func (tl *timeline) axis(y float64) {
	step := tickStep(tl.end)
	fmt.Fprintf(&tl.b, `<line class="axis" x1="%d" x2="%d" y1="%.0f" y2="%.0f"/>`, tlLabel, tlLabel+tlWidth, y+2, y+2)
	for at := time.Duration(0); at <= tl.end; at += step {
		x := tl.x(at)
		fmt.Fprintf(&tl.b, `<line class="axis" x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f"/><text class="tick" x="%.1f" y="%.0f">%s</text>`,
			x, x, y+2, y+6, x, y+17, secs(at))
	}
}

// tickStep picks 0.1, 0.2, 0.5, 1, 2, 5, 10... seconds for about ten ticks.
func tickStep(span time.Duration) time.Duration {
	if span <= 0 {
		return time.Second
	}
	raw := span.Seconds() / 10
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*mag >= raw {
			return time.Duration(f * mag * float64(time.Second))
		}
	}
	return time.Duration(10 * mag * float64(time.Second))
}

// histogramSVG draws a log2 wake-latency histogram.
func histogramSVG(h []uint64) string {
	lo, hi := -1, -1
	var peak uint64
	for i, n := range h {
		if n > 0 {
			if lo < 0 {
				lo = i
			}
			hi = i
			peak = max(peak, n)
		}
	}
	if lo < 0 {
		return ""
	}
	const barW, gap, plotH, top, bottom = 34, 4, 90, 14, 30
	w := (hi-lo+1)*(barW+gap) + gap
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="hist" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="wake-up latency histogram">`,
		w, top+plotH+bottom, w, top+plotH+bottom)
	for i := lo; i <= hi; i++ {
		x := gap + (i-lo)*(barW+gap)
		bh := float64(plotH) * float64(h[i]) / float64(peak)
		if h[i] > 0 {
			bh = max(bh, 1)
		}
		y := float64(top+plotH) - bh
		fmt.Fprintf(&b, `<rect class="bar" x="%d" y="%.1f" width="%d" height="%.1f"><title>%s to %s: %d wake-ups</title></rect>`,
			x, y, barW, bh, bucketLabel(i), bucketLabel(i+1), h[i])
		if h[i] > 0 {
			fmt.Fprintf(&b, `<text class="count" x="%d" y="%.1f">%d</text>`, x+barW/2, y-3, h[i])
		}
		fmt.Fprintf(&b, `<text class="bucket" x="%d" y="%d">%s</text>`, x+barW/2, top+plotH+13, bucketLabel(i))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="0" x2="%d" y1="%d" y2="%d"/></svg>`, w, top+plotH, top+plotH)
	return b.String()
}

// bucketLabel is the lower bound of log2 bucket i: "512ns", "1µs", "2ms".
func bucketLabel(i int) string {
	ns := uint64(1) << uint(i)
	switch {
	case ns >= 1<<30:
		return fmt.Sprintf("%ds", ns>>30)
	case ns >= 1<<20:
		return fmt.Sprintf("%dms", ns>>20)
	case ns >= 1<<10:
		return fmt.Sprintf("%dµs", ns>>10)
	}
	return fmt.Sprintf("%dns", ns)
}

func esc(s string) string { return html.EscapeString(s) }

// secs formats a timeline time as seconds: "1.25s".
func secs(d time.Duration) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", d.Seconds()), "0"), ".") + "s"
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return ""
	}
	return string(r[:n-1]) + "…"
}
