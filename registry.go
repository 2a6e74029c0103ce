package ktstr

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/ktstr-go/ktstr/scenario"
)

var (
	regMu    sync.Mutex
	registry = map[string]*Test{}
)

var validName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// Register declares a named test at package level, so that it can be run
// by name (RunRegistered, `ktstr run`), listed and exported. It panics on
// a duplicate or malformed name: that is a programming error caught at
// init time.
//
//	var _ = ktstr.Register("two_cgroups", ktstr.Opts{Topology: topology.Must("1n1l2c1t")},
//		func(ctx *scenario.Ctx) error { ... })
func Register(name string, opts Opts, body func(*scenario.Ctx) error) *Test {
	if !validName.MatchString(name) {
		panic(fmt.Sprintf("ktstr.Register: test name %q: use letters, digits, '_', '.', '-'", name))
	}
	if body == nil {
		panic(fmt.Sprintf("ktstr.Register: test %q has no body", name))
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("ktstr.Register: test %q registered twice", name))
	}
	t := &Test{Name: name, Opts: opts, Body: body}
	registry[name] = t
	return t
}

// Lookup finds a registered test by exact name.
func Lookup(name string) (*Test, bool) {
	regMu.Lock()
	defer regMu.Unlock()
	t, ok := registry[name]
	return t, ok
}

// LookupTest is Lookup with an error for a name that is not registered:
// it suggests the close matches.
func LookupTest(name string) (*Test, error) {
	if t, ok := Lookup(name); ok {
		return t, nil
	}
	return nil, unknownTestError(name)
}

// Registered returns every registered test, sorted by name.
func Registered() []*Test {
	regMu.Lock()
	defer regMu.Unlock()
	out := make([]*Test, 0, len(registry))
	for _, t := range registry {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// closeMatches returns registered names near name, best first: names that
// contain it (or are contained in it), then those within a small edit
// distance.
func closeMatches(name string, names []string) []string {
	type cand struct {
		name string
		dist int
	}
	var cs []cand
	lname := strings.ToLower(name)
	for _, n := range names {
		ln := strings.ToLower(n)
		d := editDistance(lname, ln)
		switch {
		case strings.Contains(ln, lname) || strings.Contains(lname, ln):
			cs = append(cs, cand{n, 0})
		case d <= max(2, len(name)/5):
			cs = append(cs, cand{n, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].dist != cs[j].dist {
			return cs[i].dist < cs[j].dist
		}
		return cs[i].name < cs[j].name
	})
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.name)
	}
	if len(out) > 5 {
		out = out[:5]
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// unknownTestError names the close matches of an unregistered test name.
func unknownTestError(name string) error {
	var names []string
	for _, t := range Registered() {
		names = append(names, t.Name)
	}
	msg := fmt.Sprintf("no registered test named %q", name)
	if cm := closeMatches(name, names); len(cm) > 0 {
		msg += "; did you mean: " + strings.Join(cm, ", ") + "?"
	} else if len(names) > 0 {
		msg += "; `ktstr run --list` lists the registered tests"
	} else {
		msg += "; this binary registers no tests (declare them with ktstr.Register)"
	}
	return fmt.Errorf("%s", msg)
}
