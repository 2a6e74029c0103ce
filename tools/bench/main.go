// Command bench measures VM boot cost: the same kernel booted with a
// trivial init by bare qemu, and a no-op test booted by the harness,
// alternating so both see the same machine load. It prints the ratio
// harness/bare and boot-to-init times per topology size.
//
//	go run ./tools/bench -n 5 -topologies 1n1l1c1t,1n1l2c1t,1n2l2c1t,1n2l2c2t
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/topology"
)

const initMarker = "KTSTR-BENCH-INIT"

var noop = ktstr.Register("bench_noop", ktstr.Opts{}, func(*scenario.Ctx) error { return nil })

func main() {
	// The kernel hands unknown key=value boot parameters to init as
	// environment variables: that is how the bare boot is told apart.
	if os.Getpid() == 1 && os.Getenv("ktstr_bench_bare") == "1" {
		// Bare mode: a trivial init that says it is up and powers off.
		fmt.Println(initMarker)
		unix.Sync()
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
		select {}
	}
	ktstr.MainProgram()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 3, "runs per topology and method")
	topos := flag.String("topologies", "1n1l1c1t,1n1l2c1t,1n2l2c1t,1n2l2c2t", "comma-separated compact topologies")
	kflag := flag.String("kernel", "", "kernel to boot (default: resolved like tests)")
	flag.Parse()
	ctx := context.Background()
	k, err := kernel.Resolve(ctx, kernel.ResolveOptions{Spec: *kflag})
	if err != nil {
		return err
	}
	self, _ := os.Executable()
	dir, err := os.MkdirTemp("", "ktstr-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files := map[string]string{"/init": self}
	ir := &guest.Initramfs{Files: files}
	if libs, _ := guest.SharedLibs(self); len(libs) > 0 {
		for _, l := range libs {
			files[l] = l
		}
	}
	initrd, err := ir.Build(dir)
	if err != nil {
		return err
	}
	fmt.Printf("kernel %s, %d runs per cell, alternating bare/harness\n", k.Image, *n)
	fmt.Printf("%-10s %12s %12s %12s %12s %7s\n", "topology", "bare total", "harness", "bare->init", "harn->init", "ratio")
	var allRatios []float64
	for _, ts := range strings.Split(*topos, ",") {
		topo, err := topology.Parse(ts)
		if err != nil {
			return err
		}
		var bare, harn, bareInit, harnInit []time.Duration
		for i := 0; i < *n; i++ {
			total, toInit, err := bareBoot(k.Image, initrd, topo)
			if err != nil {
				return fmt.Errorf("bare: %w", err)
			}
			bare, bareInit = append(bare, total), append(bareInit, toInit)
			total, toInit, err = harnessBoot(ctx, k.Image, topo)
			if err != nil {
				return fmt.Errorf("harness: %w", err)
			}
			harn, harnInit = append(harn, total), append(harnInit, toInit)
		}
		r := float64(median(harn)) / float64(median(bare))
		allRatios = append(allRatios, r)
		fmt.Printf("%-10s %12s %12s %12s %12s %7.2f\n", topo, ms(median(bare)), ms(median(harn)), ms(median(bareInit)), ms(median(harnInit)), r)
	}
	sort.Float64s(allRatios)
	fmt.Printf("median ratio harness/bare: %.2f (goal <= 1.10)\n", allRatios[len(allRatios)/2])
	return nil
}

func ms(d time.Duration) string { return d.Round(10 * time.Millisecond).String() }

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// bareBoot runs the minimal qemu command line a person would type.
func bareBoot(kernelImage, initrd string, topo topology.Topology) (total, toInit time.Duration, err error) {
	cmd := exec.Command("qemu-system-x86_64", "-accel", "tcg,thread=single", "-cpu", "max",
		"-smp", fmt.Sprintf("cpus=%d,sockets=%d,cores=%d,threads=%d", topo.CPUs(), topo.LLCs, topo.CoresPerLLC, topo.ThreadsPerCore),
		"-m", "1024M", "-display", "none", "-nodefaults", "-no-reboot", "-serial", "stdio",
		"-kernel", kernelImage, "-initrd", initrd, "-append", "console=ttyS0 panic=-1 loglevel=4 ktstr_bench_bare=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if toInit == 0 && strings.Contains(sc.Text(), initMarker) {
			toInit = time.Since(start)
		}
	}
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return 0, 0, err
	}
	return time.Since(start), toInit, nil
}

func harnessBoot(ctx context.Context, kernelImage string, topo topology.Topology) (total, toInit time.Duration, err error) {
	t := *noop
	t.Topology = topo
	start := time.Now()
	res, err := ktstr.Boot(ctx, &t, ktstr.RunOptions{Kernel: kernelImage, Console: benchConsole, OnRecord: func(r guest.Record) {
		if r.Kind == guest.KindStart && toInit == 0 {
			toInit = time.Since(start)
		}
	}})
	if err != nil {
		return 0, 0, err
	}
	if !res.Passed() {
		return 0, 0, fmt.Errorf("no-op test did not pass: %s %v", res.Verdict, res.Reasons)
	}
	return time.Since(start), toInit, nil
}

// benchConsole shows the harness VM's console with KTSTR_BENCH_CONSOLE=1.
var benchConsole = func() io.Writer {
	if os.Getenv("KTSTR_BENCH_CONSOLE") != "" {
		return os.Stderr
	}
	return nil
}()
