package probe

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Hit is one recorded call.
type Hit struct {
	// At is when it happened: the guest's CLOCK_MONOTONIC, in ns.
	At uint64 `json:"at_ns"`
	// Elapsed is At on the clock of the guest's records (since guest
	// init started); Place sets it on the host.
	Elapsed time.Duration `json:"elapsed,omitempty"`
	// Seq numbers hits in the order they claimed a ring slot.
	Seq  uint64 `json:"seq"`
	Func string `json:"func"`
	CPU  int    `json:"cpu"`
	// PID is the thread that made the call (0: the idle task).
	PID  int32 `json:"pid"`
	Args []Arg `json:"args,omitempty"`
}

// Arg is one recorded argument, rendered by its BTF type.
type Arg struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (h Hit) String() string {
	args := make([]string, len(h.Args))
	for i, a := range h.Args {
		args[i] = a.Name + "=" + a.Value
	}
	return fmt.Sprintf("cpu%d pid %d %s(%s)", h.CPU, h.PID, h.Func, strings.Join(args, ", "))
}

// Count is how often one probe fired.
type Count struct {
	Func string `json:"func"`
	// How is how it is attached: "fentry", "kprobe", or "fentry on BPF"
	// for a scheduler callback.
	How   string `json:"how"`
	Calls uint64 `json:"calls"`
	// Setup is how long loading (verifying) and attaching it took in
	// the guest; Report.Setup less the probes' is the list of the
	// scheduler's programs (and the kernel's BTF, without a Table).
	Setup time.Duration `json:"setup,omitempty"`
}

// Missing is a probe that could not be attached, and why.
type Missing struct {
	Func string `json:"func"`
	Why  string `json:"why"`
}

// Report is what the guest sends about its probes (a KindProbe record):
// every second the counts so far and a sample of the new hits; when the
// scheduler dies and at the end, Tail, the calls that led up to it.
type Report struct {
	// Now is the guest's CLOCK_MONOTONIC in ns when the report was made;
	// with the record's own time it places each hit (Place).
	Now     uint64    `json:"now_ns"`
	Counts  []Count   `json:"counts,omitempty"`
	Hits    []Hit     `json:"hits,omitempty"`
	Tail    []Hit     `json:"tail,omitempty"`
	Why     string    `json:"why,omitempty"`
	Missing []Missing `json:"missing,omitempty"`
	// Overwritten counts hits the ring dropped before they were read.
	Overwritten uint64 `json:"overwritten,omitempty"`
	// Setup is the guest's time attaching probes so far: listing the
	// scheduler's programs, loading (verifying) and attaching each probe,
	// and, without the host's Table, parsing the kernel's BTF. It is what probes add to a test's wall
	// time beside the probed calls' own cost.
	Setup time.Duration `json:"setup,omitempty"`
}

// Place sets Elapsed on every hit of a report sent in a record made
// elapsed after guest init started.
func (r *Report) Place(elapsed time.Duration) {
	for _, hs := range [][]Hit{r.Hits, r.Tail} {
		for i := range hs {
			hs[i].Elapsed = elapsed - time.Duration(int64(r.Now)-int64(hs[i].At))
		}
	}
}

// Results gathers a run's probe reports on the host.
type Results struct {
	// Counts are the latest counts (they are cumulative).
	Counts  []Count   `json:"counts,omitempty"`
	Hits    []Hit     `json:"hits,omitempty"`
	Tails   []Tail    `json:"tails,omitempty"`
	Missing []Missing `json:"missing,omitempty"`
	// Setup is how long the guest took to attach the probes.
	Setup time.Duration `json:"setup,omitempty"`
}

// Tail is the ring's content at a moment that mattered.
type Tail struct {
	Why  string `json:"why"`
	Hits []Hit  `json:"hits"`
}

// maxSampledHits bounds the sampled hits a run keeps.
const maxSampledHits = 2000

// Add merges one report, already placed.
func (res *Results) Add(r Report) {
	if len(r.Counts) > 0 {
		res.Counts = r.Counts
	}
	res.Setup = max(res.Setup, r.Setup)
	if n := maxSampledHits - len(res.Hits); n > 0 {
		res.Hits = append(res.Hits, r.Hits[:min(n, len(r.Hits))]...)
	}
	if len(r.Tail) > 0 && !res.sameTail(r.Tail) {
		res.Tails = append(res.Tails, Tail{Why: r.Why, Hits: r.Tail})
	}
	for _, m := range r.Missing {
		if !slices.Contains(res.Missing, m) {
			res.Missing = append(res.Missing, m)
		}
	}
}

// sameTail reports whether hits are the last tail's again (a ring
// frozen at sched_ext's exit sends the same calls at the end).
func (res *Results) sameTail(hits []Hit) bool {
	if len(res.Tails) == 0 {
		return false
	}
	last := res.Tails[len(res.Tails)-1].Hits
	return len(last) == len(hits) && last[0].Seq == hits[0].Seq && last[len(last)-1].Seq == hits[len(hits)-1].Seq
}

// Calls is how often fn fired (0 when it was not probed).
func (res *Results) Calls(fn string) uint64 {
	for _, c := range res.Counts {
		if c.Func == fn {
			return c.Calls
		}
	}
	return 0
}

// exitFuncs are ExitPath's functions: where a tail's failure begins.
func exitFuncs() map[string]bool {
	out := map[string]bool{}
	for _, s := range ExitPath {
		out[s.Func] = true
	}
	return out
}

// LeadingUp returns the last n calls before the first call into
// sched_ext's exit path, followed by the exit path's own calls: what the
// scheduler did just before it was thrown out, and how it was. Without
// an exit-path call it is the tail's last n calls.
func (t Tail) LeadingUp(n int) (before, exit []Hit) {
	ex := exitFuncs()
	cut := slices.IndexFunc(t.Hits, func(h Hit) bool { return ex[h.Func] })
	if cut < 0 {
		return t.Hits[max(0, len(t.Hits)-n):], nil
	}
	for _, h := range t.Hits[cut:] {
		if ex[h.Func] {
			exit = append(exit, h)
		}
	}
	return t.Hits[max(0, cut-n):cut], exit
}

// Format writes the counts, what could not be attached, and each tail's
// calls leading up to its moment.
func (res *Results) Format(w io.Writer, n int) {
	if len(res.Counts) > 0 {
		parts := make([]string, len(res.Counts))
		each := time.Duration(0)
		for i, c := range res.Counts {
			parts[i] = fmt.Sprintf("%s %d (%s)", c.Func, c.Calls, c.How)
			each += c.Setup
		}
		fmt.Fprintf(w, "probe calls: %s\n", strings.Join(parts, ", "))
		fmt.Fprintf(w, "probes set up in %v: %v loading and attaching them, the rest listing the scheduler's programs (and reading the kernel's BTF, when the host had no vmlinux)\n",
			res.Setup.Round(time.Millisecond), each.Round(time.Millisecond))
	}
	for _, m := range res.Missing {
		fmt.Fprintf(w, "probe %s not attached: %s\n", m.Func, m.Why)
	}
	for _, t := range res.Tails {
		before, exit := t.LeadingUp(n)
		fmt.Fprintf(w, "calls leading up to %s (the guest's clock):\n", t.Why)
		for _, h := range before {
			fmt.Fprintf(w, "  %10s %s\n", at(h), h)
		}
		if len(exit) > 0 {
			fmt.Fprintln(w, "  sched_ext exit path:")
			for _, h := range exit {
				fmt.Fprintf(w, "  %10s %s\n", at(h), h)
			}
		}
	}
}

func at(h Hit) string {
	if h.Elapsed == 0 {
		return ""
	}
	return "+" + h.Elapsed.Round(time.Millisecond).String()
}
