package monitor

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// String renders the snapshot as text (Format).
func (s *Snapshot) String() string {
	var sb strings.Builder
	s.Format(&sb)
	return sb.String()
}

// Format writes the snapshot for a reader: sched_ext's state, each CPU
// with its running task and local queue, the global and user queues
// with every task on them, schedstat, the BPF maps with their decoded
// entries and the programs, then what could not be read.
func (s *Snapshot) Format(w io.Writer) {
	fmt.Fprintf(w, "snapshot %q (%s) at %v, read in %v\n", s.Name, s.Trigger, s.At.Round(time.Millisecond), s.Took.Round(time.Microsecond))
	if x := s.SchedExt; x != nil {
		fmt.Fprintf(w, "sched_ext: %s", x.State)
		if x.Ops != "" {
			fmt.Fprintf(w, ", ops %s", x.Ops)
		}
		if x.SwitchingAll {
			fmt.Fprint(w, ", switching all tasks")
		}
		if x.WatchdogTimeout > 0 {
			fmt.Fprintf(w, ", watchdog %v", ns(x.WatchdogTimeout))
		}
		if x.ExitKind != "" {
			fmt.Fprintf(w, ", exit %s", x.ExitKind)
		}
		fmt.Fprintln(w)
	}
	for _, c := range s.CPUs {
		formatCPU(w, c)
	}
	if s.SchedExt != nil {
		for _, d := range s.SchedExt.DSQs {
			formatDSQ(w, "  DSQ "+d.Name, d)
		}
	}
	for _, m := range s.Maps {
		formatMap(w, m)
	}
	if len(s.Progs) > 0 {
		parts := make([]string, len(s.Progs))
		for i, p := range s.Progs {
			parts[i] = fmt.Sprintf("#%d %s (%s)", p.ID, p.Name, strings.TrimPrefix(p.Type, "BPF_PROG_TYPE_"))
			if p.RunCount > 0 {
				parts[i] += fmt.Sprintf(" ran %d times, %v", p.RunCount, ns(p.RunNs))
			}
		}
		fmt.Fprintf(w, "BPF programs: %s\n", strings.Join(parts, ", "))
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func formatCPU(w io.Writer, c CPUState) {
	fmt.Fprintf(w, "  cpu%d:", c.CPU)
	if c.Curr != nil {
		fmt.Fprintf(w, " running %s", taskText(*c.Curr))
	}
	if c.OldestWait > 0 {
		fmt.Fprintf(w, "; oldest runnable task waiting %v", ns(c.OldestWait))
	}
	if st := c.Schedstat; st != nil {
		fmt.Fprintf(w, "; schedstat: %d runs, run_delay %v", st.Pcount, ns(st.RunDelay))
		if st.SchedCount > 0 {
			fmt.Fprintf(w, ", schedule %d (idle %d), yield %d, wakeups %d (local %d)",
				st.SchedCount, st.SchedGoidle, st.YldCount, st.TTWUCount, st.TTWULocal)
		}
	}
	fmt.Fprintln(w)
	if c.LocalDSQ != nil {
		formatDSQ(w, "    local DSQ", *c.LocalDSQ)
	}
}

func formatDSQ(w io.Writer, title string, d DSQ) {
	fmt.Fprintf(w, "%s: %d queued", title, d.Nr)
	if d.Err != "" {
		fmt.Fprintf(w, " (%s)", d.Err)
	}
	fmt.Fprintln(w)
	for _, t := range d.Tasks {
		fmt.Fprintf(w, "      %s\n", taskText(t))
	}
}

func taskText(t Task) string {
	s := fmt.Sprintf("%d %s", t.PID, t.Comm)
	if t.Cgroup != "" {
		s += " [" + t.Cgroup + "]"
	}
	s += fmt.Sprintf(" weight %d slice %v vtime %d", t.Weight, ns(t.Slice), t.DSQVtime)
	if t.Waited > 0 {
		s += fmt.Sprintf(" waited %v", ns(t.Waited))
	}
	return s
}

func formatMap(w io.Writer, m BPFMap) {
	fmt.Fprintf(w, "BPF map #%d %s (%s, %d entries max)", m.ID, m.Name, strings.TrimPrefix(m.Type, "BPF_MAP_TYPE_"), m.MaxEntries)
	if m.Note != "" {
		fmt.Fprintf(w, ": %s", m.Note)
	}
	fmt.Fprintln(w)
	if a := m.Arena; a != nil {
		fmt.Fprintf(w, "    arena: user %#x-%#x, kernel %#x, %d of the first %d pages mapped\n",
			a.UserStart, a.UserEnd, a.KernStart, a.MappedPages, a.CheckedPages)
	}
	for _, e := range m.Entries {
		if e.PerCPU == nil {
			fmt.Fprintf(w, "    [%s] = %s\n", FormatValue(e.Key), FormatValue(e.Value))
			continue
		}
		fmt.Fprintf(w, "    [%s] =\n", FormatValue(e.Key))
		for cpu, v := range e.PerCPU {
			fmt.Fprintf(w, "      cpu%d: %s\n", cpu, FormatValue(v))
		}
	}
}

func ns(v uint64) time.Duration { return time.Duration(v).Round(time.Microsecond) }
