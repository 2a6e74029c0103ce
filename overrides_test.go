package ktstr

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

// One precedence for every value: caller > environment > test >
// scheduler default > ktstr default.
func TestSettlePrecedence(t *testing.T) {
	schedTh, testTh := &monitor.Thresholds{Sustained: 2}, &monitor.Thresholds{Sustained: 1}
	sched := &scheds.Scheduler{
		Name: "s", Source: scheds.HostBinary{Path: "/bin/true"},
		Flags:    []scheds.Flag{{Name: "a"}, {Name: "b"}, {Name: "c"}},
		Topology: topology.Must("1n2l1c1t"), Watchdog: 7 * time.Second, Monitor: schedTh,
	}
	test := Opts{Scheduler: sched, Topology: topology.Must("1n1l4c1t"), Duration: 2 * time.Second,
		Flags: []string{"a"}, Watchdog: 3 * time.Second, Kernel: "6.12", MemoryMB: 512, Monitor: testTh}
	env := map[string]string{EnvTopology: "2n2l1c1t", EnvDuration: "5s", EnvFlags: "b", EnvKernel: "6.1"}
	caller := RunOptions{Topology: topology.Must("1n1l1c2t"), Duration: 9 * time.Second, Flags: []string{"c"}, Kernel: "/k/bzImage"}

	type want struct {
		topo     string
		dur      time.Duration
		flags    string
		watchdog time.Duration
		kernel   string
		mem      int
		th       *monitor.Thresholds
	}
	tests := []struct {
		name string
		opts Opts
		env  map[string]string
		ro   RunOptions
		want want
	}{
		{"ktstr defaults", Opts{}, nil, RunOptions{},
			want{"1n1l2c1t", DefaultDuration, "", 0, "", DefaultMemoryMB, &monitor.DefaultThresholds}},
		{"scheduler defaults", Opts{Scheduler: sched}, nil, RunOptions{},
			want{"1n2l1c1t", DefaultDuration, "", 7 * time.Second, "", DefaultMemoryMB, schedTh}},
		{"test beats scheduler", test, nil, RunOptions{},
			want{"1n1l4c1t", 2 * time.Second, "a", 3 * time.Second, "6.12", 512, testTh}},
		{"environment beats test", test, env, RunOptions{},
			want{"2n2l1c1t", 5 * time.Second, "b", 3 * time.Second, "6.1", 512, testTh}},
		{"caller beats environment", test, env, caller,
			want{"1n1l1c2t", 9 * time.Second, "c", 3 * time.Second, "/k/bzImage", 512, testTh}},
		{"empty KTSTR_FLAGS means no flags", test, map[string]string{EnvFlags: ""}, RunOptions{},
			want{"1n1l4c1t", 2 * time.Second, "", 3 * time.Second, "6.12", 512, testTh}},
		{"empty caller flags mean no flags", test, env, RunOptions{Flags: []string{}},
			want{"2n2l1c1t", 5 * time.Second, "", 3 * time.Second, "6.1", 512, testTh}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := settle(&tc.opts, &tc.ro, lookup(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			got := want{s.topology.String(), s.duration, strings.Join(s.flags, ","), s.watchdog, s.kernel, s.memoryMB, s.thresholds}
			if got != tc.want {
				t.Errorf("settled\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
}

func TestSettleRejects(t *testing.T) {
	sched := &scheds.Scheduler{Name: "s", Source: scheds.HostBinary{Path: "/bin/true"}, Flags: []scheds.Flag{{Name: "a"}}}
	tests := []struct {
		name string
		opts Opts
		env  map[string]string
		ro   RunOptions
		want string
	}{
		{"bad KTSTR_TOPOLOGY", Opts{}, map[string]string{EnvTopology: "1,3,1,1,"}, RunOptions{}, "KTSTR_TOPOLOGY"},
		{"bad KTSTR_DURATION", Opts{}, map[string]string{EnvDuration: "-2s"}, RunOptions{}, "positive duration"},
		{"unbootable caller topology", Opts{}, nil, RunOptions{Topology: topology.Topology{NUMANodes: 2, LLCs: 3, CoresPerLLC: 1, ThreadsPerCore: 1}}, "spread evenly"},
		{"unknown flag from the environment", Opts{Scheduler: sched}, map[string]string{EnvFlags: "zz"}, RunOptions{}, `has no flag "zz"`},
		{"flags under EEVDF", Opts{}, nil, RunOptions{Flags: []string{"a"}}, "EEVDF"},
		{"negative memory", Opts{MemoryMB: -5}, nil, RunOptions{}, "memory -5 MiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := settle(&tc.opts, &tc.ro, lookup(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSettleBackend(t *testing.T) {
	tests := []struct {
		name, option, env, want string
	}{
		{"neither: auto", "", "", ""},
		{"environment", "", "kvm", "kvm"},
		{"caller wins", "qemu-tcg", "kvm", "qemu-tcg"},
		{"blank caller falls back", "  ", "qemu", "qemu"},
	}
	for _, tc := range tests {
		s, err := settle(&Opts{}, &RunOptions{Backend: tc.option}, lookup(map[string]string{EnvBackend: tc.env}))
		if err != nil || s.backend != tc.want {
			t.Errorf("%s: backend %q, %v; want %q", tc.name, s.backend, err, tc.want)
		}
	}
}

func TestSettleSchedFiles(t *testing.T) {
	s, err := settle(&Opts{}, &RunOptions{}, lookup(map[string]string{EnvSchedFiles: " /a/x  /b/y "}))
	if err != nil || !slices.Equal(s.schedFiles, []string{"/a/x", "/b/y"}) {
		t.Errorf("sched files %q, %v", s.schedFiles, err)
	}
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}
