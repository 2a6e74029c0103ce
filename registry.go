package ktstr

import (
	"fmt"
	"regexp"
	"sort"
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
