package timeline

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Window bounds for FormatAround's default view of a failure.
const (
	DefaultBefore = 3 * time.Second
	DefaultAfter  = time.Second
	// monitorEvery thins monitor samples when printed.
	monitorEvery = 500 * time.Millisecond
)

// Around returns the events from before the failure to after it (or the
// run's last events, if it did not fail). When the scheduler dies after
// the run began to fail (a stalled CPU seen first, the watchdog's kill
// seconds later), the window reaches past its death: the death is the
// response the reader looks for.
func (t *Timeline) Around(before, after time.Duration) []Event {
	at := t.FailedAt
	if !t.Failed && len(t.Events) > 0 {
		at = t.Events[len(t.Events)-1].At
	}
	end := at
	if t.Failed {
		if i := slices.IndexFunc(t.Events, func(e Event) bool { return e.Source == Sched && e.Failed && e.At > at }); i >= 0 {
			end = t.Events[i].At
		}
	}
	var out []Event
	for _, e := range t.Events {
		if e.At >= at-before && e.At <= end+after {
			out = append(out, e)
		}
	}
	return out
}

// FormatAround prints the events around the failure compactly: monitor
// samples thinned to one per half second, runs of hits of one probe
// folded into one line with a count.
func (t *Timeline) FormatAround(w io.Writer, before, after time.Duration) {
	evs := t.Around(before, after)
	if t.Failed {
		fmt.Fprintf(w, "timeline around the failure at +%v (%s):\n", t.FailedAt.Round(time.Millisecond), t.Why)
	} else {
		fmt.Fprintln(w, "timeline, last events:")
	}
	var lastMonitor time.Duration = -time.Hour
	for i := 0; i < len(evs); i++ {
		e := evs[i]
		if e.Source == Monitor {
			if e.At-lastMonitor < monitorEvery {
				continue
			}
			lastMonitor = e.At
		}
		n := 1
		for e.Group != "" && e.Source == Probe && i+n < len(evs) && evs[i+n].Group == e.Group {
			n++
		}
		text := e.Text
		if n > 1 {
			text = fmt.Sprintf("%s, then %d more calls of %s to +%v", text, n-1, e.Group, evs[i+n-1].At.Round(time.Millisecond))
			i += n - 1
		}
		mark := ""
		if e.Failed {
			mark = "  <== failure"
		}
		fmt.Fprintf(w, "  +%-9v %-8s %s%s\n", e.At.Round(time.Millisecond), e.Source, oneLine(text), mark)
	}
}

// String is FormatAround with the default window.
func (t *Timeline) String() string {
	var sb strings.Builder
	t.FormatAround(&sb, DefaultBefore, DefaultAfter)
	return sb.String()
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
