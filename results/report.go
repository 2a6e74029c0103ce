package results

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/probe"
	"github.com/ktstr-go/ktstr/scenario"
)

//go:embed report.html.tmpl
var reportTmpl string

//go:embed style.css
var styleCSS string

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":   func(d time.Duration) string { return fmt.Sprintf("%.2f", ms(d)) },
	"secs": secs,
	"pct":  func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) },
	"num":  formatValue,
	"join": strings.Join,
	"css":  func() template.CSS { return template.CSS(styleCSS) },
	"heat": heatLegend,
	"better": func(p Polarity) string {
		switch p {
		case HigherIsBetter:
			return "↑ higher is better"
		case LowerIsBetter:
			return "↓ lower is better"
		}
		return "informational"
	},
}).Parse(reportTmpl))

// reportData is what report.html.tmpl renders.
type reportData struct {
	R        *Result
	Metrics  []Metric
	Timeline template.HTML
	Hists    []cgroupHist
	Workers  []scenario.WorkerReport
	Sched    []schedRow
	Captures []captureRow
	Files    []string
	// Aligned says the guest's times were placed by host receive times.
	Aligned bool
	Samples int
	// Explain, Snapshots and Probes say why a run failed: the timeline
	// around the failure and the auto-repro, the scheduler's state read
	// from guest memory, the probes' counts.
	Explain   string
	Snapshots []snapshotRow
	Probes    *probe.Results
}

type cgroupHist struct {
	Cgroup  string
	Samples uint64
	SVG     template.HTML
}

type schedRow struct {
	At    string
	Event guest.SchedEvent
}

type captureRow struct {
	CPU   int
	At    string
	Where string
}

// writeReport renders report.html.
func writeReport(w io.Writer, v *view, res *Result, m *Metrics) error {
	d := reportData{
		R: res, Metrics: m.Metrics, Timeline: template.HTML(timelineSVG(v, res.CPUs)),
		Workers: v.allWorkers(), Files: res.Files[1:], Aligned: v.aligned,
		Explain: v.run.Explain, Snapshots: snapshotRows(v.run.Monitor), Probes: v.run.Probes,
	}
	d.Hists = cgroupHists(d.Workers)
	for _, s := range v.sched {
		d.Sched = append(d.Sched, schedRow{At: secs(s.At), Event: s.Event})
	}
	if mon := v.run.Monitor; mon != nil {
		d.Samples = len(mon.Samples)
		for _, c := range mon.Captures {
			d.Captures = append(d.Captures, captureRow{CPU: c.CPU, At: secs(c.At), Where: c.Where})
		}
	}
	if err := reportPage.Execute(w, d); err != nil {
		return fmt.Errorf("rendering %s: %w", FileReport, err)
	}
	return nil
}

// cgroupHists draws each cgroup's merged wake-latency histogram.
func cgroupHists(rs []scenario.WorkerReport) []cgroupHist {
	var out []cgroupHist
	for _, h := range mergeHists(rs) {
		out = append(out, cgroupHist{Cgroup: h.cgroup, Samples: h.samples, SVG: template.HTML(histogramSVG(h.hist))})
	}
	return out
}

// histData is one cgroup's wake-latency histogram.
type histData struct {
	cgroup  string
	samples uint64
	hist    []uint64
}

// mergeHists adds up each cgroup's workers' histograms, by cgroup name.
func mergeHists(rs []scenario.WorkerReport) []histData {
	idx := map[string]int{}
	var out []histData
	for _, r := range rs {
		i, ok := idx[r.Cgroup]
		if !ok {
			i = len(out)
			idx[r.Cgroup] = i
			out = append(out, histData{cgroup: r.Cgroup})
		}
		out[i].samples += r.WakeSamples
		out[i].hist = addHist(out[i].hist, r.WakeHist)
	}
	slices.SortFunc(out, func(a, b histData) int { return strings.Compare(a.cgroup, b.cgroup) })
	return out
}

func addHist(a, b []uint64) []uint64 {
	if len(b) > len(a) {
		a = append(a, make([]uint64, len(b)-len(a))...)
	}
	for i, n := range b {
		a[i] += n
	}
	return a
}

// formatValue prints a metric's value with sensible precision.
func formatValue(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1000 || v <= -1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10 || v <= -10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3g", v)
}
