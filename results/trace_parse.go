package results

import (
	"encoding/json"
	"fmt"
)

// tracePhases are the trace-event phases this package writes.
var tracePhases = map[string]bool{"X": true, "i": true, "C": true, "M": true}

// ParseTrace reads a trace.json and checks it is trace-event JSON as
// this package writes it (the JSON Object Format): a traceEvents array
// and a display unit, every event with a name, a known phase, a process,
// a timestamp that is not negative (metadata aside), slices with a
// duration that is not negative, instants with a valid scope and
// counters with numeric series only.
func ParseTrace(b []byte) (*Trace, error) {
	var doc struct {
		TraceEvents     []json.RawMessage `json:"traceEvents"`
		DisplayTimeUnit string            `json:"displayTimeUnit"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("trace: not JSON: %w", err)
	}
	if doc.TraceEvents == nil {
		return nil, fmt.Errorf("trace: no traceEvents array")
	}
	if doc.DisplayTimeUnit != "ms" && doc.DisplayTimeUnit != "ns" {
		return nil, fmt.Errorf("trace: displayTimeUnit %q: want ms or ns", doc.DisplayTimeUnit)
	}
	t := &Trace{DisplayTimeUnit: doc.DisplayTimeUnit}
	for i, raw := range doc.TraceEvents {
		var fields map[string]json.RawMessage
		var e TraceEvent
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, fmt.Errorf("trace: event %d: %w", i, err)
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("trace: event %d: %w", i, err)
		}
		if err := checkEvent(e, fields); err != nil {
			return nil, fmt.Errorf("trace: event %d (%s): %w", i, raw, err)
		}
		t.TraceEvents = append(t.TraceEvents, e)
	}
	return t, nil
}

func checkEvent(e TraceEvent, fields map[string]json.RawMessage) error {
	_, hasTs := fields["ts"]
	_, hasPID := fields["pid"]
	switch {
	case e.Name == "":
		return fmt.Errorf("no name")
	case !tracePhases[e.Ph]:
		return fmt.Errorf("phase %q", e.Ph)
	case !hasPID:
		return fmt.Errorf("no pid")
	case e.Ph != "M" && (!hasTs || e.Ts < 0):
		return fmt.Errorf("no timestamp, or a negative one")
	case e.Ph == "X" && e.Dur < 0:
		return fmt.Errorf("negative duration")
	case e.Ph == "i" && e.S != "" && e.S != "g" && e.S != "p" && e.S != "t":
		return fmt.Errorf("instant scope %q", e.S)
	}
	if e.Ph == "C" {
		for k, v := range e.Args {
			if _, ok := v.(float64); !ok {
				return fmt.Errorf("counter series %s is not a number", k)
			}
		}
	}
	return nil
}

// Tracks names the tracks of a trace as a viewer shows them: "C cpu0
// nr_running" per counter series, "X <name>" and "i <name>" per slice
// and instant name, "M <thread or process name>" per named track; with
// how many events each has.
func (t *Trace) Tracks() map[string]int {
	out := map[string]int{}
	for _, e := range t.TraceEvents {
		switch e.Ph {
		case "C":
			for series := range e.Args {
				out[fmt.Sprintf("C %s %s", e.Name, series)]++
			}
		case "M":
			out[fmt.Sprintf("M %v", e.Args["name"])]++
		default:
			out[e.Ph+" "+e.Name]++
		}
	}
	return out
}
