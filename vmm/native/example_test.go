package native_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/vmm"
	"github.com/ktstr-go/ktstr/vmm/native"
	"github.com/ktstr-go/ktstr/vmm/qemu"
)

// Boot a kernel with two LLCs of two SMT cores each on /dev/kvm, falling
// back to QEMU when KVM is not usable.
func ExampleNew() {
	var backend vmm.Backend = native.New()
	if err := backend.Available(); err != nil {
		fmt.Fprintln(os.Stderr, "no KVM:", err)
		backend = &qemu.Backend{}
	}
	m, err := backend.Start(context.Background(), vmm.Config{
		Kernel:    "linux/arch/x86/boot/bzImage",
		Initramfs: "initramfs.cpio",
		Topology:  topology.Must("1n2l2c2t"),
		MemoryMB:  512,
		Timeout:   time.Minute,
		Console:   os.Stdout,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	records, _ := io.ReadAll(m.Channel()) // what the guest wrote to /dev/ttyS1
	ex := m.Wait()
	fmt.Println(ex.Reason, len(records))
}
