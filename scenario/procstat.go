package scenario

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// threadStat is the kernel's accounting of one thread.
type threadStat struct {
	CPUTimeNs   uint64 // schedstat: time on CPU
	RunDelayNs  uint64 // schedstat: time runnable but waiting
	Timeslices  uint64 // schedstat: times run on a CPU
	Migrations  uint64 // sched: se.nr_migrations
	Voluntary   uint64 // status: voluntary_ctxt_switches
	Involuntary uint64 // status: nonvoluntary_ctxt_switches
	MinorFaults uint64 // stat: minflt
	// HaveMigrations is false when /proc/.../sched is missing
	// (!CONFIG_SCHED_DEBUG); Migrations is then unknown.
	HaveMigrations bool
}

// readThreadStat reads dir (/proc/<pid>/task/<tid>). schedstat needs
// CONFIG_SCHED_INFO, sched needs CONFIG_SCHED_DEBUG; a missing file leaves
// its fields zero, a missing status is an error (the thread is gone).
func readThreadStat(dir string) (threadStat, error) {
	var s threadStat
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return s, fmt.Errorf("reading thread status: %w", err)
	}
	for line := range strings.Lines(string(status)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		switch k {
		case "voluntary_ctxt_switches":
			s.Voluntary = n
		case "nonvoluntary_ctxt_switches":
			s.Involuntary = n
		}
	}
	if b, err := os.ReadFile(dir + "/stat"); err == nil {
		if f := statFields(b); len(f) > 7 {
			s.MinorFaults, _ = strconv.ParseUint(f[7], 10, 64)
		}
	}
	if b, err := os.ReadFile(dir + "/schedstat"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			s.CPUTimeNs, _ = strconv.ParseUint(f[0], 10, 64)
			s.RunDelayNs, _ = strconv.ParseUint(f[1], 10, 64)
			s.Timeslices, _ = strconv.ParseUint(f[2], 10, 64)
		}
	}
	if b, err := os.ReadFile(dir + "/sched"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok || strings.TrimSpace(k) != "se.nr_migrations" {
				continue
			}
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
				s.Migrations, s.HaveMigrations = n, true
			}
		}
	}
	return s, nil
}

// sub returns s - base, field by field (counters only grow).
func (s threadStat) sub(base threadStat) threadStat {
	d := func(a, b uint64) uint64 {
		if a < b {
			return 0
		}
		return a - b
	}
	return threadStat{
		CPUTimeNs:      d(s.CPUTimeNs, base.CPUTimeNs),
		RunDelayNs:     d(s.RunDelayNs, base.RunDelayNs),
		Timeslices:     d(s.Timeslices, base.Timeslices),
		Migrations:     d(s.Migrations, base.Migrations),
		Voluntary:      d(s.Voluntary, base.Voluntary),
		Involuntary:    d(s.Involuntary, base.Involuntary),
		MinorFaults:    d(s.MinorFaults, base.MinorFaults),
		HaveMigrations: s.HaveMigrations && base.HaveMigrations,
	}
}

// statFields splits /proc/<pid>/task/<tid>/stat after the command name
// (which may hold spaces and parentheses): field 0 is the state, 7 minflt.
func statFields(b []byte) []string {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// schedstat reads a thread's time on CPU and time runnable but waiting
// (ns), from /proc/<pid>/task/<tid>/schedstat.
func schedstat(dir string) (cpu, wait uint64, err error) {
	b, err := os.ReadFile(dir + "/schedstat")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("%s/schedstat: %q is not \"run wait slices\"", dir, b)
	}
	cpu, err = strconv.ParseUint(f[0], 10, 64)
	if err == nil {
		wait, err = strconv.ParseUint(f[1], 10, 64)
	}
	return cpu, wait, err
}

// threadState is a thread's scheduler state letter (R, S, D, ...), from
// /proc/<pid>/task/<tid>/stat; 0 when it is gone.
func threadState(dir string) byte {
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0
	}
	if f := statFields(b); len(f) > 0 && len(f[0]) > 0 {
		return f[0][0]
	}
	return 0
}
