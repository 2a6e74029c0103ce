package scheds

import (
	"context"
	"debug/elf"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// TestBuildSelftests builds the kernel's sched_ext selftests runner for
// the default kernel (minutes the first time, then a cache hit) and
// checks it is a static program with the suite linked in.
func TestBuildSelftests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the kernel's sched_ext selftests (minutes, once per machine)")
	}
	log := zap.NewNop()
	if testing.Verbose() {
		log, _ = zap.NewDevelopment()
	}
	p, err := BuildSelftests(context.Background(), BuildConfig{Log: log})
	if err != nil {
		if strings.Contains(err.Error(), "no kernel") || strings.Contains(err.Error(), "not found: install") {
			t.Skipf("cannot build here: %v", err)
		}
		t.Fatal(err)
	}
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var found int
	for _, s := range syms {
		// Each test registers itself from an ELF constructor.
		if strings.HasPrefix(s.Name, "__scx_") || strings.Contains(s.Name, "minimal") || strings.Contains(s.Name, "create_dsq") {
			found++
		}
	}
	if found == 0 {
		t.Errorf("%s has no symbols of the suite's tests", p)
	}
	t.Logf("runner: %s (%d suite symbols)", p, found)
}
