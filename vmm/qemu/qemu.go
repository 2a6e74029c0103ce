// Package qemu is the QEMU backend: it runs guests with
// qemu-system-x86_64, under KVM when /dev/kvm is usable, else under TCG
// software emulation. Guest RAM is one file per NUMA node (the host
// reads it through Machine.Memory), the data channel a unix socket on the
// guest's second serial port, and the watchdog asks QMP where the vCPUs
// were before it kills.
package qemu

import (
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/kvm"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/vmm"
	"github.com/ktstr-go/ktstr/vmm/x86"
)

// Backend runs guests with qemu-system-x86_64: under KVM when /dev/kvm
// is usable, else under TCG software emulation.
type Backend struct {
	// Binary overrides the qemu executable (default: qemu-system-x86_64
	// from PATH).
	Binary string
	// ForceTCG disables KVM acceleration even when /dev/kvm is usable.
	ForceTCG bool
}

// Name reports the accelerator QEMU will use.
func (q *Backend) Name() string {
	if q.useKVM() {
		return "qemu-kvm"
	}
	return "qemu-tcg"
}

func (q *Backend) binary() string {
	if q.Binary != "" {
		return q.Binary
	}
	return "qemu-system-x86_64"
}

// useKVM reports whether QEMU accelerates with /dev/kvm: not forced to
// TCG, and kvm.Usable finds that /dev/kvm opens, speaks the KVM API, is
// hardware-assisted and creates a VM.
func (q *Backend) useKVM() bool { return !q.ForceTCG && kvm.Usable() == nil }

// Available checks that the qemu binary can be found.
func (q *Backend) Available() error {
	if _, err := exec.LookPath(q.binary()); err != nil {
		return fmt.Errorf("%s not found: install it (Debian: apt-get install qemu-system-x86, or run tools/setup/install-deps.sh)", q.binary())
	}
	return nil
}

// qemuTailLines is how much console the Exit keeps for error reports.
const qemuTailLines = 60

// Args maps a Config onto qemu's command line. dataSock is the unix
// socket the data channel (the guest's ttyS1) connects to; memDir holds
// the guest-RAM files and the QMP socket.
func (q *Backend) Args(cfg vmm.Config, dataSock, memDir string) ([]string, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	t := cfg.Topology
	// Each NUMA node's share is backed by its own file, so the host can
	// read guest RAM (Memory()).
	nodes, err := x86.SplitMemory(cfg.GuestMemoryMB(), t.NUMANodes)
	if err != nil {
		return nil, err
	}
	var totalMB uint64
	for _, n := range nodes {
		totalMB += n.Size >> 20
	}
	args := []string{
		"-nodefaults", "-no-user-config", "-no-reboot", "-display", "none",
		"-machine", "pc",
	}
	if q.useKVM() {
		args = append(args, "-accel", "kvm", "-cpu", "host")
	} else {
		// Multi-threaded TCG crashes guests whose kernel text is patched
		// at run time (static keys, sched_ext attach): see FACTS.md.
		args = append(args, "-accel", "tcg,thread=single", "-cpu", "max")
	}
	// QEMU gives each socket its own L3 on AMD-style CPUs: LLC = socket.
	args = append(args,
		"-smp", fmt.Sprintf("cpus=%d,sockets=%d,cores=%d,threads=%d", t.CPUs(), t.LLCs, t.CoresPerLLC, t.ThreadsPerCore),
		"-m", fmt.Sprintf("%dM", totalMB))
	cpusPerNode := t.CPUs() / t.NUMANodes
	for n, nm := range nodes {
		id := fmt.Sprintf("mem%d", n)
		args = append(args, "-object", fmt.Sprintf("memory-backend-file,id=%s,size=%dM,mem-path=%s,share=on",
			id, nm.Size>>20, filepath.Join(memDir, id)))
		if t.NUMANodes == 1 {
			args = append(args, "-machine", "memory-backend="+id)
			break
		}
		args = append(args, "-numa", fmt.Sprintf("node,nodeid=%d,cpus=%d-%d,memdev=%s", n, n*cpusPerNode, (n+1)*cpusPerNode-1, id))
	}
	for a := 0; a < t.NUMANodes && t.NUMANodes > 1; a++ {
		for b := 0; b < t.NUMANodes; b++ {
			if a != b {
				args = append(args, "-numa", fmt.Sprintf("dist,src=%d,dst=%d,val=%d", a, b, topology.NodeDistance(a, b)))
			}
		}
	}
	args = append(args,
		"-chardev", "stdio,id=con,signal=off",
		"-serial", "chardev:con",
		"-chardev", "socket,id=data,path="+dataSock,
		"-serial", "chardev:data",
		// The watchdog asks QMP where the vCPUs were before it kills.
		"-qmp", "unix:"+qmpSocket(memDir)+",server=on,wait=off",
		"-device", "pvpanic",
		"-action", "panic=exit-failure",
		"-kernel", cfg.Kernel,
		"-append", vmm.KernelCmdline(cfg.Cmdline),
	)
	if cfg.Initramfs != "" {
		args = append(args, "-initrd", cfg.Initramfs)
	}
	return args, nil
}

// qmpSocket is where QEMU listens for QMP in a VM's work dir.
func qmpSocket(workDir string) string { return filepath.Join(workDir, "qmp.sock") }

// Start boots a VM.
func (q *Backend) Start(ctx context.Context, cfg vmm.Config) (vmm.Machine, error) {
	if err := q.Available(); err != nil {
		return nil, err
	}
	log := cfg.Logger()
	workDir, cleanup, err := machineWorkDir(cfg.WorkDir)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			cleanup()
		}
	}()
	sock := filepath.Join(workDir, "data.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("vmm: listening for the data channel: %w", err)
	}
	args, err := q.Args(cfg, sock, workDir)
	if err != nil {
		ln.Close()
		return nil, err
	}
	nodes, err := x86.SplitMemory(cfg.GuestMemoryMB(), cfg.Topology.NUMANodes)
	if err != nil {
		ln.Close()
		return nil, err
	}
	cmd := exec.Command(q.binary(), args...)
	// The VM must not outlive us, even if we are SIGKILLed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: !cfg.Interactive}
	tail := vmm.NewConsoleTail(qemuTailLines)
	var console io.Writer = tail
	if cfg.Console != nil {
		console = io.MultiWriter(tail, cfg.Console)
	}
	cmd.Stdout = console
	cmd.Stderr = console
	if cfg.Interactive {
		cmd.Stdin = cfg.Stdin
	}
	log.Debug("starting qemu", zap.Strings("args", args))
	m := &machine{
		name:    q.Name(),
		cmd:     cmd,
		tail:    tail,
		done:    make(chan struct{}),
		started: time.Now(),
		cleanup: cleanup,
		log:     log,
		cpus:    cfg.Topology.CPUs(),
		qmp:     qmpSocket(workDir),
	}
	chanR, chanW := io.Pipe()
	m.channel = chanR
	if err := cmd.Start(); err != nil {
		ln.Close()
		return nil, fmt.Errorf("vmm: starting %s: %w", q.binary(), err)
	}
	ok = true
	m.mem = &fileMemory{files: memFiles(workDir, len(nodes)), nodes: nodes}

	// Accept qemu's connection to the data channel and pump it to the pipe.
	go func() {
		defer ln.Close()
		conn, err := acceptWithDone(ln, m.done)
		if err != nil {
			chanW.CloseWithError(io.EOF)
			return
		}
		_, err = io.Copy(chanW, conn)
		conn.Close()
		chanW.CloseWithError(err)
	}()
	go m.wait(ctx, cfg.Timeout)
	return m, nil
}

// acceptWithDone accepts one connection, giving up when done closes (qemu
// died before connecting).
func acceptWithDone(ln net.Listener, done <-chan struct{}) (net.Conn, error) {
	go func() {
		<-done
		ln.Close()
	}()
	return ln.Accept()
}
