package qemu

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/vmm"
	"github.com/ktstr-go/ktstr/vmm/x86"
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

func TestQEMUExit(t *testing.T) {
	// exitStatus returns cmd.Wait's error for a process exiting with code.
	exitStatus := func(code int) error {
		err := exec.Command("sh", "-c", fmt.Sprintf("exit %d", code)).Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != code {
			t.Fatalf("sh exiting %d gave %v", code, err)
		}
		return err
	}
	const (
		powerOff = "[    2.1] ktstr: done\n[    2.2] reboot: Power down\n"
		restart  = "[    2.1] ktstr: done\n[    2.2] reboot: Restarting system\n"
	)
	tests := []struct {
		name       string
		waitErr    error
		tail       string
		panicked   bool
		want       vmm.ExitReason
		wantDetail string
	}{
		{"power-off", nil, powerOff, false, vmm.ExitClean, ""},
		{"no reboot message", nil, "init done\n", false, vmm.ExitClean, ""},
		{"restart", nil, restart, false, vmm.ExitReboot, "guest rebooted"},
		{"restart with command", nil, "reboot: Restarting system with command 'x'\n", false, vmm.ExitReboot, "guest rebooted"},
		{"power-off after an earlier restart line", nil, restart + powerOff, false, vmm.ExitClean, ""},
		{"restart after a console panic", nil, "Kernel panic - not syncing\n" + restart, true, vmm.ExitPanic, "kernel panic"},
		{"pvpanic", exitStatus(1), "Kernel panic - not syncing\n", true, vmm.ExitPanic, "pvpanic"},
		{"qemu error exit", exitStatus(1), "qemu-system-x86_64: -m 9G: cannot allocate\n", false, vmm.ExitCrash, "cannot allocate"},
		{"other exit status", exitStatus(2), restart, false, vmm.ExitCrash, "exit status 2"},
		{"wait failure", errors.New("wait: no child"), "", false, vmm.ExitCrash, "no child"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, detail := qemuExit(tc.waitErr, tc.tail, tc.panicked)
			if got != tc.want || !strings.Contains(detail, tc.wantDetail) {
				t.Errorf("qemuExit = %s %q, want %s containing %q", got, detail, tc.want, tc.wantDetail)
			}
		})
	}
}

func TestFileMemoryUnequalNodes(t *testing.T) {
	dir := t.TempDir()
	files := memFiles(dir, 2)
	for i, data := range []string{"abc", "defgh"} {
		if err := os.WriteFile(files[i], []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fm := &fileMemory{files: files, nodes: []x86.NodeMemory{{Node: 0, Base: 0, Size: 3}, {Node: 1, Base: 3, Size: 5}}}
	tests := []struct {
		off     int64
		n       int
		want    string
		wantEOF bool
	}{
		{0, 3, "abc", false},
		{2, 4, "cdef", false},
		{3, 5, "defgh", false},
		{6, 4, "gh", true},
		{8, 1, "", true},
		{-1, 1, "", true},
	}
	for _, tc := range tests {
		p := make([]byte, tc.n)
		n, err := fm.ReadAt(p, tc.off)
		if got := string(p[:n]); got != tc.want {
			t.Errorf("ReadAt(%d bytes at %d) = %q, want %q", tc.n, tc.off, got, tc.want)
		}
		if errors.Is(err, io.EOF) != tc.wantEOF || (err != nil && !tc.wantEOF) {
			t.Errorf("ReadAt(%d bytes at %d) err %v, want EOF %v", tc.n, tc.off, err, tc.wantEOF)
		}
	}
}
