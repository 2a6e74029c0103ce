package qemu

import (
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/vmm"
)

func TestQEMUArgs(t *testing.T) {
	q := &Backend{ForceTCG: true}
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
			"-qmp unix:/w/qmp.sock,server=on,wait=off",
		}, []string{"-numa"}},
		{"2n2l2c1t", 1024, []string{
			"-smp cpus=4,sockets=2,cores=2,threads=1", "-m 1024M",
			"id=mem0,size=512M", "id=mem1,size=512M",
			"-numa node,nodeid=0,cpus=0-1,memdev=mem0", "-numa node,nodeid=1,cpus=2-3,memdev=mem1",
			"-numa dist,src=0,dst=1,val=20", "-numa dist,src=1,dst=0,val=20",
		}, []string{"memory-backend=mem"}},
		{"1n2l2c2t", 0, []string{"-smp cpus=8,sockets=2,cores=2,threads=2", "-m 1024M"}, nil},
		// The nodes add up to exactly what was asked, as on the KVM backend.
		{"3n3l1c1t", 1000, []string{"-m 1000M", "id=mem0,size=334M", "id=mem1,size=334M", "id=mem2,size=332M"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.topo, func(t *testing.T) {
			args, err := q.Args(vmm.Config{Kernel: "/k", Initramfs: "/i", Topology: topology.Must(tc.topo), MemoryMB: tc.mem, Cmdline: "ktstr.mode=test"}, "/w/data.sock", "/w")
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
			if !strings.Contains(line, "oops=panic") || !strings.HasSuffix(vmm.KernelCmdline("ktstr.mode=test"), " ktstr.mode=test") {
				t.Errorf("kernel command line misses panic settings or extras: %s", line)
			}
		})
	}
}

func TestQEMUArgsRejects(t *testing.T) {
	q := &Backend{ForceTCG: true}
	tests := []struct {
		cfg  vmm.Config
		want string
	}{
		{vmm.Config{Topology: topology.Must("1n1l1c1t")}, "Kernel is empty"},
		{vmm.Config{Kernel: "/k", Topology: topology.Must("4n4l1c1t"), MemoryMB: 256}, "at least 512 MiB"},
		{vmm.Config{Kernel: "/k", Topology: topology.Must("1n1l1c1t"), MemoryMB: 8192}, "less memory"},
		{vmm.Config{Kernel: "/k", Topology: topology.Topology{NUMANodes: 1, LLCs: 3, CoresPerLLC: 1, ThreadsPerCore: 1}}, ""},
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
