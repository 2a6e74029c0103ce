package gauntlet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr/internal/cachedir"
)

// Durations are the wall times variants took in earlier runs, by variant
// ID, kept in the cache (DurationsFile) for budget selection. Safe for
// concurrent use.
type Durations struct {
	path string
	mu   sync.Mutex
	m    map[string]Measured
	// dirty holds what this process measured, merged into the file on
	// Save so concurrent runs do not drop each other's figures.
	dirty map[string]Measured
}

// Measured is one variant's wall time: an exponentially weighted mean
// (new runs weigh 1/2) and how many runs it is made of.
type Measured struct {
	Seconds float64   `json:"seconds"`
	Runs    int       `json:"runs"`
	Last    time.Time `json:"last"`
}

// DurationsFile is where durations are kept: the cache's gauntlet/durations.json.
func DurationsFile() string { return filepath.Join(cachedir.Dir("gauntlet"), "durations.json") }

// LoadDurations reads path (empty: DurationsFile). A missing file is an
// empty store; an unreadable one is an error naming it.
func LoadDurations(path string) (*Durations, error) {
	if path == "" {
		path = DurationsFile()
	}
	d := &Durations{path: path, m: map[string]Measured{}, dirty: map[string]Measured{}}
	m, err := readDurations(path)
	if err != nil {
		return nil, err
	}
	d.m = m
	return d, nil
}

func readDurations(path string) (map[string]Measured, error) {
	m := map[string]Measured{}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading gauntlet durations: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("gauntlet durations %s are not valid JSON (%v): delete the file to start over", path, err)
	}
	return m, nil
}

// Get returns a variant's measured wall time.
func (d *Durations) Get(id string) (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m, ok := d.m[id]
	return time.Duration(m.Seconds * float64(time.Second)), ok
}

// Record adds one run's wall time.
func (d *Durations) Record(id string, wall time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.m[id]
	s := wall.Seconds()
	if m.Runs > 0 {
		s = (m.Seconds + s) / 2
	}
	m = Measured{Seconds: s, Runs: m.Runs + 1, Last: time.Now().UTC()}
	d.m[id] = m
	d.dirty[id] = m
}

// Save merges this process's measurements into the file (temp + rename,
// so it is never half-written).
func (d *Durations) Save() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.dirty) == 0 {
		return nil
	}
	cur, err := readDurations(d.path)
	if err != nil {
		cur = map[string]Measured{} // replace an unreadable file
	}
	for id, m := range d.dirty {
		cur[id] = m
	}
	err = writeFileAtomic(d.path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(cur)
	})
	if err != nil {
		return fmt.Errorf("saving gauntlet durations: %w", err)
	}
	d.dirty = map[string]Measured{}
	return nil
}

// Estimate is a variant's expected wall time: its own measurement, else
// the mean of measured variants of the same test and preset (other flags
// or kernels), else a model of an emulated run (boot, scheduler load,
// scenario, per-CPU setup) fitted to the demo's 10.3 s for a 3 s
// scenario on 2 CPUs. measured says whether a measurement was used. A
// variant that skips costs nothing.
func (d *Durations) Estimate(v Variant) (est time.Duration, measured bool) {
	if v.Skip != "" {
		return 0, true
	}
	if d != nil {
		if w, ok := d.Get(v.ID()); ok {
			return w, true
		}
		prefix := v.Test.Name + "/" + v.Preset.Name + "/"
		d.mu.Lock()
		var sum float64
		n := 0
		for id, m := range d.m {
			if len(id) > len(prefix) && id[:len(prefix)] == prefix {
				sum += m.Seconds
				n++
			}
		}
		d.mu.Unlock()
		if n > 0 {
			return time.Duration(sum / float64(n) * float64(time.Second)), true
		}
	}
	return model(v), false
}

// model: 5 s boot and teardown, 2.5 s to verify and attach a BPF
// scheduler, the scenario, 0.2 s per CPU of guest setup.
func model(v Variant) time.Duration {
	d := 5*time.Second + v.Test.EffectiveDuration() + time.Duration(v.Preset.Topology.CPUs())*200*time.Millisecond
	if v.Test.Scheduler != nil {
		d += 2500 * time.Millisecond
	}
	return d
}
