package gauntlet

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ktstr-go/ktstr/verdict"
)

// Report is a finished gauntlet: the outcomes, what the budget left out,
// and how the run went.
type Report struct {
	Outcomes []Outcome
	// Left are the variants the budget left out; Uncovered the dimension
	// values none of the run's variants covered.
	Left      []Variant
	Uncovered []string
	// Excluded are the presets the tests' constraints ruled out.
	Excluded    []Exclusion
	Parallelism int
	Wall        time.Duration
}

// maxReason is how much of a reason the table shows; JSON has it whole.
const maxReason = 110

// WriteTable prints one row per test × variant (verdict, time, reason),
// then the summary per dimension and what the budget left out.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TEST\tPRESET\tTOPOLOGY\tFLAGS\tKERNEL\tSCHED\tVERDICT\tTIME\tREASON")
	for _, o := range r.Outcomes {
		v := o.Variant
		reason := ""
		if len(o.Reasons) > 0 {
			reason = oneLine(o.Reasons[0], maxReason)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Test.Name, v.Preset.Name, v.Preset.Topology, v.FlagsName(),
			v.Kernel.Label, v.SchedName(), o.Verdict, fmtDur(o.Wall), reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	r.writeSummary(w)
	if len(r.Left) > 0 {
		fmt.Fprintf(w, "\nleft out by the budget (%d):\n", len(r.Left))
		for _, v := range r.Left {
			fmt.Fprintf(w, "  %s\n", v.ID())
		}
		if len(r.Uncovered) > 0 {
			fmt.Fprintf(w, "not covered at all: %s\n", strings.Join(r.Uncovered, ", "))
		}
	}
	if len(r.Excluded) > 0 {
		fmt.Fprintf(w, "\nexcluded by the tests' constraints (%d):\n", len(r.Excluded))
		for _, e := range r.Excluded {
			fmt.Fprintf(w, "  %s %s: %s\n", e.Test, e.What, e.Why)
		}
	}
	return nil
}

// Tally counts one dimension value's verdicts.
type Tally struct {
	Dimension string `json:"dimension"`
	Value     string `json:"value"`
	Runs      int    `json:"runs"`
	Pass      int    `json:"pass"`
	Fail      int    `json:"fail"`
	// Inconclusive counts runs the host starved (or could not judge).
	Inconclusive int           `json:"inconclusive"`
	Skip         int           `json:"skip"`
	Wall         time.Duration `json:"wall_ns"`
}

// Summary tallies every dimension value, each dimension's worst first
// (most failures, then most inconclusive, then name).
func (r *Report) Summary() []Tally {
	m := map[string]*Tally{}
	for _, o := range r.Outcomes {
		for _, d := range o.Variant.dims() {
			t := m[d]
			if t == nil {
				dim, val := splitDim(d)
				t = &Tally{Dimension: dim, Value: val}
				m[d] = t
			}
			t.Runs++
			t.Wall += o.Wall
			switch o.Verdict {
			case verdict.Pass:
				t.Pass++
			case verdict.Fail:
				t.Fail++
			case verdict.Inconclusive:
				t.Inconclusive++
			case verdict.Skip:
				t.Skip++
			}
		}
	}
	out := make([]Tally, 0, len(m))
	for _, t := range m {
		out = append(out, *t)
	}
	order := map[string]int{DimTest: 0, DimPreset: 1, DimFlags: 2, DimKernel: 3}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Dimension != b.Dimension {
			return order[a.Dimension] < order[b.Dimension]
		}
		if a.Fail != b.Fail {
			return a.Fail > b.Fail
		}
		if a.Inconclusive != b.Inconclusive {
			return a.Inconclusive > b.Inconclusive
		}
		return a.Value < b.Value
	})
	return out
}

func (r *Report) writeSummary(w io.Writer) {
	var pass, fail, inc, skip int
	for _, o := range r.Outcomes {
		switch o.Verdict {
		case verdict.Pass:
			pass++
		case verdict.Fail:
			fail++
		case verdict.Inconclusive:
			inc++
		default:
			skip++
		}
	}
	fmt.Fprintf(w, "%d variants: %d pass, %d fail, %d inconclusive, %d skip; %s wall at parallelism %d\n",
		len(r.Outcomes), pass, fail, inc, skip, fmtDur(r.Wall), r.Parallelism)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nBY\tVALUE\tRUNS\tPASS\tFAIL\tINCONCL\tSKIP\tTIME")
	last := ""
	for _, t := range r.Summary() {
		dim := ""
		if t.Dimension != last {
			dim, last = t.Dimension, t.Dimension
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", dim, t.Value, t.Runs, t.Pass, t.Fail, t.Inconclusive, t.Skip, fmtDur(t.Wall))
	}
	tw.Flush()
}

// Failed reports whether any variant failed (inconclusive runs do not
// fail a gauntlet; they are reported).
func (r *Report) Failed() bool {
	for _, o := range r.Outcomes {
		if o.Verdict == verdict.Fail {
			return true
		}
	}
	return false
}

type jsonOutcome struct {
	ID        string         `json:"id"`
	Test      string         `json:"test"`
	Preset    string         `json:"preset"`
	Topology  string         `json:"topology"`
	Flags     string         `json:"flags"`
	Kernel    string         `json:"kernel"`
	Sched     string         `json:"sched"`
	Verdict   string         `json:"verdict"`
	Reasons   []string       `json:"reasons,omitempty"`
	WallS     float64        `json:"wall_s"`
	VMS       float64        `json:"vm_s"`
	ScenarioS float64        `json:"scenario_s"`
	HostShare *jsonHostShare `json:"host_share,omitempty"`
}

type jsonHostShare struct {
	Share           float64 `json:"share"`
	BusyS           float64 `json:"busy_s"`
	Starved         int     `json:"starved_intervals"`
	LongestStarvedS float64 `json:"longest_starved_s"`
}

// WriteJSON writes the outcomes, the summary and what was left out.
func (r *Report) WriteJSON(w io.Writer) error {
	doc := struct {
		Parallelism int           `json:"parallelism"`
		WallS       float64       `json:"wall_s"`
		Outcomes    []jsonOutcome `json:"outcomes"`
		Summary     []Tally       `json:"summary"`
		Left        []string      `json:"left_out,omitempty"`
		Uncovered   []string      `json:"uncovered,omitempty"`
		Excluded    []Exclusion   `json:"excluded,omitempty"`
	}{Parallelism: r.Parallelism, WallS: r.Wall.Seconds(), Summary: r.Summary(), Uncovered: r.Uncovered, Excluded: r.Excluded}
	for _, o := range r.Outcomes {
		v := o.Variant
		j := jsonOutcome{
			ID: v.ID(), Test: v.Test.Name, Preset: v.Preset.Name, Topology: v.Preset.Topology.String(), Flags: v.FlagsName(),
			Kernel: v.Kernel.Label, Sched: v.SchedName(), Verdict: o.Verdict.String(), Reasons: o.Reasons,
			WallS: o.Wall.Seconds(), VMS: o.VM.Seconds(), ScenarioS: o.Scenario.Seconds(),
		}
		if h := o.HostShare; h != nil {
			j.HostShare = &jsonHostShare{Share: h.Share, BusyS: h.Busy.Seconds(), Starved: h.Starved, LongestStarvedS: h.LongestStarved.Seconds()}
		}
		doc.Outcomes = append(doc.Outcomes, j)
	}
	for _, v := range r.Left {
		doc.Left = append(doc.Left, v.ID())
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// WriteJUnit writes JUnit XML: a suite per test, a case per variant
// (named PRESET/FLAGS/KERNEL), failures and skips with their reasons;
// inconclusive runs are skips whose message says so.
func (r *Report) WriteJUnit(w io.Writer) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type skipped struct {
		Message string `xml:"message,attr"`
	}
	type tcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Failure   *failure `xml:"failure,omitempty"`
		Skipped   *skipped `xml:"skipped,omitempty"`
	}
	type suite struct {
		Name     string  `xml:"name,attr"`
		Tests    int     `xml:"tests,attr"`
		Failures int     `xml:"failures,attr"`
		Skipped  int     `xml:"skipped,attr"`
		Time     string  `xml:"time,attr"`
		Cases    []tcase `xml:"testcase"`
	}
	var suites []*suite
	byTest := map[string]*suite{}
	for _, o := range r.Outcomes {
		name := o.Variant.Test.Name
		s := byTest[name]
		if s == nil {
			s = &suite{Name: "gauntlet/" + name}
			byTest[name] = s
			suites = append(suites, s)
		}
		c := tcase{Name: o.Variant.Path(), Classname: "gauntlet." + name, Time: fmt.Sprintf("%.3f", o.Wall.Seconds())}
		msg := strings.Join(o.Reasons, "\n")
		switch o.Verdict {
		case verdict.Fail:
			c.Failure = &failure{Message: oneLine(firstOr(o.Reasons, "failed"), 200), Text: msg}
			s.Failures++
		case verdict.Inconclusive:
			c.Skipped = &skipped{Message: "inconclusive: " + oneLine(firstOr(o.Reasons, ""), 200)}
			s.Skipped++
		case verdict.Skip:
			c.Skipped = &skipped{Message: oneLine(firstOr(o.Reasons, "skipped"), 200)}
			s.Skipped++
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	for _, s := range suites {
		var total float64
		for _, c := range s.Cases {
			var f float64
			fmt.Sscanf(c.Time, "%f", &f)
			total += f
		}
		s.Time = fmt.Sprintf("%.3f", total)
	}
	doc := struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []*suite `xml:"testsuite"`
	}{Suites: suites}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// oneLine flattens a reason to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func fmtDur(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(100 * time.Millisecond).String()
}
