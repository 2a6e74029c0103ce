// Package guest is everything that runs inside the test VM: PID 1 setup
// (mounts, reaping, power-off), the host channel, the kernel command line
// contract, and the initramfs layout the host builds for it.
package guest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ktstr-go/ktstr/internal/cgroupfs"
	"golang.org/x/sys/unix"
)

// Environment markers. The PID 1 process re-executes itself as a child
// that does the actual work, so PID 1 stays a plain reaper and can always
// power off, whatever the child does.
const (
	envChild = "KTSTR_GUEST_CHILD"
)

// IsPID1 reports whether this process is the guest's init.
func IsPID1() bool { return os.Getpid() == 1 }

// IsChild reports whether this process is the work process PID 1 started.
func IsChild() bool { return os.Getenv(envChild) == "1" }

type mount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
	optional               bool
}

var mounts = []mount{
	{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", false},
	{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", false},
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755", false},
	{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777", false},
	{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755", false},
	{"cgroup2", "/sys/fs/cgroup", "cgroup2", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", false},
	{"debugfs", "/sys/kernel/debug", "debugfs", 0, "", true},
	{"tracefs", "/sys/kernel/tracing", "tracefs", 0, "", true},
	{"bpffs", "/sys/fs/bpf", "bpf", 0, "", true},
	{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "mode=0620,ptmxmode=666", true},
}

// Mount sets up the guest's filesystems. Optional ones (debugfs, tracefs,
// bpffs) are skipped when the kernel lacks them.
func Mount() error {
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil && !m.optional {
			return fmt.Errorf("creating %s: %w", m.target, err)
		}
		if err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil {
			if errors.Is(err, unix.EBUSY) || m.optional {
				continue
			}
			return fmt.Errorf("mounting %s on %s: %w", m.fstype, m.target, err)
		}
	}
	// Scenarios need the cpu and cpuset controllers below the root.
	if err := cgroupfs.EnableControllers("/sys/fs/cgroup"); err != nil {
		return err
	}
	_ = unix.Sethostname([]byte("ktstr"))
	return nil
}

// RunInit is the body of PID 1: mount the world, start the work process
// (this binary again, with the same arguments), reap every orphan until the
// work process exits, then power off. It never returns.
func RunInit() {
	if err := Mount(); err != nil {
		fmt.Fprintf(os.Stderr, "ktstr-init: %v\n", err)
		PowerOff()
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	self, err := os.Executable()
	if err != nil {
		self = "/init"
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(os.Environ(), envChild+"=1", "PATH=/bin:/sbin:/usr/bin:/usr/sbin:/sched", "HOME=/tmp", "TERM=linux")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "ktstr-init: starting work process: %v\n", err)
		PowerOff()
	}
	child := cmd.Process.Pid
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid == child {
			if pid == child && (!ws.Exited() || ws.ExitStatus() != 0) {
				fmt.Fprintf(os.Stderr, "ktstr-init: work process ended: %s\n", describeWait(ws))
			}
			break
		}
	}
	// Orphans of the work process (workers, a scheduler) must not outlive
	// the run: kill everything left, then power off.
	_ = unix.Kill(-1, unix.SIGKILL)
	PowerOff()
}

func describeWait(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		return fmt.Sprintf("killed by %v", ws.Signal())
	}
	return fmt.Sprintf("wait status %#x", uint32(ws))
}

// PowerOff syncs and powers the VM off. It never returns.
func PowerOff() {
	unix.Sync()
	for {
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
		time.Sleep(time.Second)
	}
}

// Cmdline returns the kernel command line.
func Cmdline() string {
	b, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
