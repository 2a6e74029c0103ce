// Command kvmhost is the /init of the L1 guest in the nested KVM test: it
// boots the L2 runs listed in /l2/spec.json with the in-repo KVM backend
// and prints one KTSTR-RESULT line per run, then powers L1 off.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/vmm"
)

// Run is one L2 boot.
type Run struct {
	Name     string        `json:"name"`
	Topology string        `json:"topology"`
	Cmdline  string        `json:"cmdline"`
	MemoryMB int           `json:"memory_mb"`
	Timeout  time.Duration `json:"timeout"`
	// Backend is "kvm" (default) or "qemu" (the QEMU backend on L1's
	// /dev/kvm, for the boot-time comparison).
	Backend string `json:"backend"`
}

// Result is what the host test checks.
type Result struct {
	Name        string        `json:"name"`
	Backend     string        `json:"backend"`
	Reason      string        `json:"reason"`
	Detail      string        `json:"detail"`
	StartErr    string        `json:"start_err,omitempty"`
	Topo        string        `json:"topo"`
	Channel     string        `json:"channel"`
	BootToInit  time.Duration `json:"boot_to_init"`
	Duration    time.Duration `json:"duration"`
	ConsoleTail string        `json:"console_tail,omitempty"`
}

// lineWatcher forwards L2 console lines to L1's console and notes when
// init announced itself.
type lineWatcher struct {
	mu     sync.Mutex
	start  time.Time
	initAt time.Duration
	topo   string
	buf    bytes.Buffer
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			break
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "KTSTR-INIT") && w.initAt == 0 {
			w.initAt = time.Since(w.start)
		}
		if strings.HasPrefix(line, "TOPO ") {
			w.topo = strings.TrimPrefix(line, "TOPO ")
		}
		// L1's own console scanner must not take an L2 panic for L1's.
		line = strings.ReplaceAll(line, "Kernel panic - not syncing", "Kernel panic (L2) - not syncing")
		fmt.Printf("L2| %s\n", line)
	}
	return len(p), nil
}

func main() {
	for _, m := range [][3]string{{"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"}, {"devtmpfs", "/dev", "devtmpfs"}} {
		_ = os.MkdirAll(m[1], 0o755)
		if err := unix.Mount(m[0], m[1], m[2], 0, ""); err != nil {
			fmt.Printf("KTSTR-L1 mount %s: %v\n", m[1], err)
		}
	}
	_ = os.MkdirAll("/tmp", 0o1777)
	_ = unix.Mount("tmpfs", "/tmp", "tmpfs", 0, "")
	defer func() {
		unix.Sync()
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	}()
	var runs []Run
	b, err := os.ReadFile("/l2/spec.json")
	if err == nil {
		err = json.Unmarshal(b, &runs)
	}
	if err != nil {
		fmt.Printf("KTSTR-L1-ERROR reading spec: %v\n", err)
		return
	}
	os.Setenv("PATH", "/usr/bin:/bin")
	kvmBackend := vmm.NewKVMBackend()
	if err := kvmBackend.Available(); err != nil {
		fmt.Printf("KTSTR-L1-ERROR kvm backend unavailable: %v\n", err)
		return
	}
	for _, r := range runs {
		backend := kvmBackend
		if r.Backend == "qemu" {
			backend = &vmm.QEMU{}
		}
		res := run(backend, r)
		out, _ := json.Marshal(res)
		fmt.Printf("KTSTR-RESULT %s\n", out)
	}
	fmt.Println("KTSTR-L1-DONE")
}

func run(backend vmm.Backend, r Run) Result {
	res := Result{Name: r.Name, Backend: backend.Name()}
	topo, err := vmm.ParseTopology(r.Topology)
	if err != nil {
		res.StartErr = err.Error()
		return res
	}
	w := &lineWatcher{start: time.Now()}
	m, err := backend.Start(context.Background(), vmm.Config{
		Kernel:    "/l2/bzImage",
		Initramfs: "/l2/initrd.cpio",
		Cmdline:   r.Cmdline,
		Topology:  topo,
		MemoryMB:  r.MemoryMB,
		Timeout:   r.Timeout,
		Console:   w,
	})
	if err != nil {
		res.StartErr = err.Error()
		return res
	}
	var ch []byte
	done := make(chan struct{})
	go func() {
		ch, _ = io.ReadAll(m.Channel())
		close(done)
	}()
	ex := m.Wait()
	<-done
	w.mu.Lock()
	res.Topo, res.BootToInit = w.topo, w.initAt
	w.mu.Unlock()
	res.Reason, res.Detail, res.Duration = ex.Reason.String(), ex.Detail, ex.Duration
	res.Channel = string(ch)
	if ex.Reason != vmm.ExitClean {
		res.ConsoleTail = ex.ConsoleTail
	}
	return res
}
