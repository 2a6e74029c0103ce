package vmm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQEMUArgs(t *testing.T) {
	q := &QEMU{ForceTCG: true}
	tests := []struct {
		topo    string
		mem     int
		want    []string
		notWant []string
	}{
		{"1n1l2c1t", 512, []string{
			"-accel tcg,thread=single", "-cpu max",
			"-smp cpus=2,sockets=1,cores=2,threads=1", "-m 512M",
			"memory-backend-file,id=mem0,size=512M,mem-path=/w/mem0,share=on", "-machine memory-backend=mem0",
			"-device pvpanic", "-action panic=exit-failure", "socket,id=data,path=/w/data.sock",
		}, []string{"-numa"}},
		{"2n2l2c1t", 1024, []string{
			"-smp cpus=4,sockets=2,cores=2,threads=1", "-m 1024M",
			"id=mem0,size=512M", "id=mem1,size=512M",
			"-numa node,nodeid=0,cpus=0-1,memdev=mem0", "-numa node,nodeid=1,cpus=2-3,memdev=mem1",
			"-numa dist,src=0,dst=1,val=20", "-numa dist,src=1,dst=0,val=20",
		}, []string{"memory-backend=mem"}},
		{"1n2l2c2t", 0, []string{"-smp cpus=8,sockets=2,cores=2,threads=2", "-m 1024M"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.topo, func(t *testing.T) {
			args, err := q.Args(Config{Kernel: "/k", Initramfs: "/i", Topology: MustTopology(tc.topo), MemoryMB: tc.mem, Cmdline: "ktstr.mode=test"}, "/w/data.sock", "/w")
			if err != nil {
				t.Fatal(err)
			}
			line := strings.Join(args, " ")
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("args lack %q:\n%s", w, line)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(line, w) {
					t.Errorf("args contain %q:\n%s", w, line)
				}
			}
			if !strings.Contains(line, "oops=panic") || !strings.HasSuffix(KernelCmdline("ktstr.mode=test"), " ktstr.mode=test") {
				t.Errorf("kernel command line misses panic settings or extras: %s", line)
			}
		})
	}
}

func TestQEMUArgsRejects(t *testing.T) {
	q := &QEMU{ForceTCG: true}
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Topology: MustTopology("1n1l1c1t")}, "Kernel is empty"},
		{Config{Kernel: "/k", Topology: MustTopology("4n4l1c1t"), MemoryMB: 256}, "at least 512 MiB"},
		{Config{Kernel: "/k", Topology: MustTopology("1n1l1c1t"), MemoryMB: 8192}, "less memory"},
		{Config{Kernel: "/k", Topology: Topology{1, 3, 1, 1}}, ""},
	}
	for _, tc := range tests {
		_, err := q.Args(tc.cfg, "/s", "/w")
		if tc.want == "" {
			if err != nil {
				t.Errorf("%+v: unexpected %v", tc.cfg.Topology, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.cfg.Topology, err, tc.want)
		}
	}
}

func TestTailBufferKeepsPanic(t *testing.T) {
	tb := newTailBuffer(3)
	tb.Write([]byte("Kernel panic - not syncing: Fatal exception\r\n"))
	for i := 0; i < 10; i++ {
		tb.Write([]byte("line\n"))
	}
	tb.Write([]byte("partial"))
	if !tb.Panicked() {
		t.Fatal("panic line scrolled out and was forgotten")
	}
	if got := tb.String(); got != "line\nline\nline\npartial" {
		t.Fatalf("tail %q", got)
	}
}

func TestSweepStaleWorkDirs(t *testing.T) {
	base := t.TempDir()
	mine := filepath.Join(base, fmt.Sprintf("ktstr-vm-%d-1", os.Getpid()))
	// A pid far above pid_max's default cannot be alive.
	gone := filepath.Join(base, "ktstr-vm-999999999-2")
	legacy := filepath.Join(base, "ktstr-vm-3")
	for _, d := range []string{mine, gone, legacy} {
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	sweepStaleWorkDirs(base)
	for d, want := range map[string]bool{mine: true, gone: false, legacy: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s exists=%v, want %v", filepath.Base(d), err == nil, want)
		}
	}
}
