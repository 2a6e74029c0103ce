// Package qemu is the QEMU backend: it runs guests with
// qemu-system-x86_64, under KVM when /dev/kvm is usable, else under TCG
// software emulation. Guest RAM is one file per NUMA node (the host
// reads it through Machine.Memory), the data channel a unix socket on the
// guest's second serial port, and the watchdog asks QMP where the vCPUs
// were before it kills.
package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

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

type machine struct {
	name    string
	cmd     *exec.Cmd
	tail    *vmm.ConsoleTail
	channel io.Reader
	mem     *fileMemory
	started time.Time
	cleanup func()
	log     *zap.Logger
	cpus    int
	qmp     string // QMP socket path

	mu         sync.Mutex
	killedAs   vmm.ExitReason // set before a deliberate kill
	killDetail string         // the kill's Exit.Detail, before the vCPUs
	killed     bool
	vcpus      []vmm.VCPUState // where the vCPUs were when it was killed
	exit       vmm.Exit
	done       chan struct{}
}

func (m *machine) Backend() string    { return m.name }
func (m *machine) Channel() io.Reader { return m.channel }
func (m *machine) Memory() io.ReaderAt {
	return m.mem
}

func (m *machine) Wait() vmm.Exit {
	<-m.done
	return m.exit
}

func (m *machine) Kill() { m.kill(vmm.ExitKilled, "VM killed") }

// qmpTimeout bounds a question to QEMU over QMP: it answers at once or
// not at all.
const qmpTimeout = 2 * time.Second

// VCPUStates implements VCPUInspector through QMP, as a kill does.
func (m *machine) VCPUStates() ([]vmm.VCPUState, error) {
	select {
	case <-m.done:
		return nil, vmm.ErrVMStopped
	default:
	}
	return qmpVCPUs(m.qmp, qmpTimeout)
}

func (m *machine) kill(reason vmm.ExitReason, detail string) {
	// Asked before taking the lock: QEMU answers at once or not at all,
	// and a kill must not wait longer than the deadline.
	vcpus, err := qmpVCPUs(m.qmp, qmpTimeout)
	if err != nil {
		m.log.Debug("vCPU registers unavailable", zap.Error(err))
	}
	m.mu.Lock()
	if !m.killed {
		m.killed, m.killedAs, m.killDetail, m.vcpus = true, reason, detail, vcpus
		if m.cmd.Process != nil {
			_ = m.cmd.Process.Kill()
		}
	}
	m.mu.Unlock()
}

func (m *machine) wait(ctx context.Context, timeout time.Duration) {
	// The watchdog ends when qemu does, before the exit is classified:
	// a kill after that would misreport a guest that stopped by itself.
	exited := make(chan struct{})
	go vmm.Watch(ctx, timeout, exited, m.kill)
	err := m.cmd.Wait()
	close(exited)
	ex := vmm.Exit{Duration: time.Since(m.started), ConsoleTail: m.tail.String()}
	m.mu.Lock()
	killed, reason, detail := m.killed, m.killedAs, m.killDetail
	ex.VCPUs = m.vcpus
	m.mu.Unlock()
	switch {
	case killed:
		ex.Reason, ex.Detail = reason, detail+vmm.VCPUsDetail(ex.VCPUs)
	default:
		ex.Reason, ex.Detail = qemuExit(err, ex.ConsoleTail, m.tail.Panicked())
	}
	m.exit = ex
	m.cleanup()
	close(m.done)
	m.log.Debug("vm exited", zap.String("reason", ex.Reason.String()), zap.String("detail", ex.Detail), zap.Duration("took", ex.Duration))
}

// qemuExit classifies a qemu that ended by itself: waitErr is what
// cmd.Wait returned, tail the console tail, panicked whether a kernel
// panic ever reached the console.
func qemuExit(waitErr error, tail string, panicked bool) (vmm.ExitReason, string) {
	var ee *exec.ExitError
	switch {
	case waitErr == nil && panicked:
		return vmm.ExitPanic, "kernel panic on the console"
	case waitErr == nil && rebooted(tail):
		// -no-reboot turns a guest reboot into a clean qemu exit.
		return vmm.ExitReboot, "guest rebooted (kernel restart on the console)"
	case waitErr == nil:
		return vmm.ExitClean, ""
	case errors.As(waitErr, &ee) && ee.ExitCode() == 1 && !strings.Contains(tail, "qemu-system"):
		// -action panic=exit-failure: a pvpanic event makes qemu exit 1.
		return vmm.ExitPanic, "guest kernel panicked (pvpanic)"
	}
	return vmm.ExitCrash, fmt.Sprintf("qemu: %v: %s", waitErr, lastLine(tail))
}

// rebooted reports whether the kernel's last word on the console was a
// restart rather than a power-off (see kernel_restart and kernel_power_off
// in kernel/reboot.c).
func rebooted(tail string) bool {
	return strings.LastIndex(tail, "reboot: Restarting system") > strings.LastIndex(tail, "reboot: Power down")
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
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

// machineWorkDir returns dir (or a new temp dir, preferring tmpfs so guest
// RAM files cost no disk I/O) and a cleanup that removes what it created.
func machineWorkDir(dir string) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", nil, fmt.Errorf("vmm: creating work dir: %w", err)
		}
		return dir, func() {
			for _, g := range []string{"mem*", "data.sock", "qmp.sock"} {
				ms, _ := filepath.Glob(filepath.Join(dir, g))
				for _, f := range ms {
					os.Remove(f)
				}
			}
		}, nil
	}
	base := ""
	var st unix.Statfs_t
	if unix.Statfs("/dev/shm", &st) == nil && st.Type == unix.TMPFS_MAGIC {
		base = "/dev/shm"
	}
	sweepStaleWorkDirs(base)
	// The owner's pid in the name lets a later run remove the dir if this
	// process is SIGKILLed before its cleanup runs (guest RAM files are big).
	d, err := os.MkdirTemp(base, fmt.Sprintf("ktstr-vm-%d-", os.Getpid()))
	if err != nil {
		return "", nil, fmt.Errorf("vmm: creating work dir: %w", err)
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// sweepStaleWorkDirs removes work dirs whose owning process is gone.
func sweepStaleWorkDirs(base string) {
	if base == "" {
		base = os.TempDir()
	}
	dirs, _ := filepath.Glob(filepath.Join(base, "ktstr-vm-*-*"))
	for _, d := range dirs {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(d), "ktstr-vm-%d-", &pid); err != nil || pid <= 0 {
			continue
		}
		if unix.Kill(pid, 0) == unix.ESRCH {
			os.RemoveAll(d)
		}
	}
}

func memFiles(dir string, nodes int) []string {
	fs := make([]string, nodes)
	for i := range fs {
		fs[i] = filepath.Join(dir, fmt.Sprintf("mem%d", i))
	}
	return fs
}

// fileMemory reads guest-physical memory from the backing files: files[i]
// holds the range of nodes[i].
type fileMemory struct {
	files []string
	nodes []x86.NodeMemory
}

func (fm *fileMemory) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for len(p) > 0 {
		i := fm.node(off)
		if i < 0 {
			return n, fmt.Errorf("guest-physical address %#x is outside guest RAM: %w", off, io.EOF)
		}
		within := uint64(off) - fm.nodes[i].Base
		chunk := p
		if rest := fm.nodes[i].Size - within; uint64(len(chunk)) > rest {
			chunk = chunk[:rest]
		}
		f, err := os.Open(fm.files[i])
		if err != nil {
			return n, fmt.Errorf("reading guest memory: %w", err)
		}
		k, err := f.ReadAt(chunk, int64(within))
		f.Close()
		n += k
		if err != nil {
			return n, fmt.Errorf("reading guest memory at %#x: %w", off, err)
		}
		p, off = p[k:], off+int64(k)
	}
	return n, nil
}

// node returns the index of the node holding address off, or -1.
func (fm *fileMemory) node(off int64) int {
	for i, nm := range fm.nodes {
		if off >= 0 && uint64(off) >= nm.Base && uint64(off)-nm.Base < nm.Size {
			return i
		}
	}
	return -1
}
