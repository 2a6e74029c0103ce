// Command topoinit is the /init of the L2 guest in the nested KVM test: it
// reports the CPU topology the kernel built (sysfs) on the console and on
// the data channel (ttyS1), then powers off; or, as the command line
// says, returns so the kernel panics (ktstr.panic), reboots
// (ktstr.reboot) or never ends (ktstr.hang).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

type cpuInfo struct {
	CPU            int    `json:"cpu"`
	Package        string `json:"package"`
	CoreID         string `json:"core_id"`
	ThreadSiblings string `json:"thread_siblings"`
	CoreSiblings   string `json:"core_siblings"`
	LLCShared      string `json:"llc_shared"`
	LLCLevel       string `json:"llc_level"`
}

type nodeInfo struct {
	Node     int    `json:"node"`
	CPUList  string `json:"cpulist"`
	Distance string `json:"distance"`
}

type report struct {
	Online string     `json:"online"`
	CPUs   []cpuInfo  `json:"cpus"`
	Nodes  []nodeInfo `json:"nodes"`
	// What the kernel picked from the CPUID the VMM gave it.
	ClockSource string `json:"clocksource"`
	ClockEvent  string `json:"clockevent"`
}

func read(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return "ERR:" + err.Error()
	}
	return strings.TrimSpace(string(b))
}

func main() {
	fmt.Println("KTSTR-INIT")
	_ = os.MkdirAll("/proc", 0o755)
	_ = os.MkdirAll("/sys", 0o755)
	_ = os.MkdirAll("/dev", 0o755)
	_ = unix.Mount("proc", "/proc", "proc", 0, "")
	_ = unix.Mount("sysfs", "/sys", "sysfs", 0, "")
	_ = unix.Mount("devtmpfs", "/dev", "devtmpfs", 0, "")
	cmdline := read("/proc/cmdline")
	switch {
	case strings.Contains(cmdline, "ktstr.panic"):
		fmt.Println("KTSTR-PANICKING")
		return // init exits: the kernel panics
	case strings.Contains(cmdline, "ktstr.reboot"):
		fmt.Println("KTSTR-REBOOTING")
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	case strings.Contains(cmdline, "ktstr.hang"):
		// Never powers off: the VMM's watchdog must end the VM.
		fmt.Println("KTSTR-HANGING")
		for {
			// Sleeps forever; `select {}` would trip Go's deadlock check.
			time.Sleep(time.Hour)
		}
	}
	if strings.Contains(cmdline, "initcall_debug") {
		printSlowInitcalls(12)
	}
	var r report
	r.Online = read("/sys/devices/system/cpu/online")
	cpus, _ := filepath.Glob("/sys/devices/system/cpu/cpu[0-9]*")
	for i := 0; i < len(cpus); i++ {
		d := fmt.Sprintf("/sys/devices/system/cpu/cpu%d", i)
		c := cpuInfo{
			CPU:            i,
			Package:        read(d + "/topology/physical_package_id"),
			CoreID:         read(d + "/topology/core_id"),
			ThreadSiblings: read(d + "/topology/thread_siblings_list"),
			CoreSiblings:   read(d + "/topology/core_siblings_list"),
		}
		// The LLC is the highest-level cache index.
		idx, _ := filepath.Glob(d + "/cache/index[0-9]*")
		best := -1
		for _, x := range idx {
			var lvl int
			fmt.Sscan(read(x+"/level"), &lvl)
			if lvl > best {
				best = lvl
				c.LLCShared = read(x + "/shared_cpu_list")
				c.LLCLevel = read(x + "/level")
			}
		}
		r.CPUs = append(r.CPUs, c)
	}
	nodes, _ := filepath.Glob("/sys/devices/system/node/node[0-9]*")
	for i := 0; i < len(nodes); i++ {
		d := fmt.Sprintf("/sys/devices/system/node/node%d", i)
		r.Nodes = append(r.Nodes, nodeInfo{Node: i, CPUList: read(d + "/cpulist"), Distance: read(d + "/distance")})
	}
	r.ClockSource = read("/sys/devices/system/clocksource/clocksource0/current_clocksource")
	r.ClockEvent = read("/sys/devices/system/clockevents/clockevent0/current_device")
	b, _ := json.Marshal(r)
	fmt.Printf("TOPO %s\n", b)
	if f, err := os.OpenFile("/dev/ttyS1", os.O_WRONLY|unix.O_NOCTTY, 0); err == nil {
		if t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			t.Oflag &^= unix.OPOST
			t.Lflag &^= unix.ECHO | unix.ICANON | unix.ISIG | unix.IEXTEN
			_ = unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
		}
		fmt.Fprintf(f, "CHAN %s\n", b)
		_ = unix.IoctlSetInt(int(f.Fd()), unix.TCSBRK, 1) // tcdrain
		f.Close()
	} else {
		fmt.Println("KTSTR-NOCHAN", err)
	}
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

// printSlowInitcalls lists the slowest initcalls from the kernel log
// (initcall_debug): with "quiet" they never reach the console, so boot
// time is not inflated by printing them.
func printSlowInitcalls(n int) {
	f, err := os.OpenFile("/dev/kmsg", os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		fmt.Println("KTSTR-NOKMSG", err)
		return
	}
	defer f.Close()
	re := regexp.MustCompile(`initcall (\S+) returned \S+ after (\d+) usecs`)
	type call struct {
		name string
		us   int
	}
	var calls []call
	total := 0
	buf := make([]byte, 8192)
	for {
		k, err := f.Read(buf)
		if err != nil {
			break // EAGAIN: end of the log
		}
		if m := re.FindSubmatch(buf[:k]); m != nil {
			us, _ := strconv.Atoi(string(m[2]))
			calls = append(calls, call{string(m[1]), us})
			total += us
		}
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].us > calls[j].us })
	fmt.Printf("INITCALLS %d calls, %d ms in all\n", len(calls), total/1000)
	for i := 0; i < n && i < len(calls); i++ {
		fmt.Printf("INITCALL %7d us %s\n", calls[i].us, calls[i].name)
	}
}
