package kernel_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/ktstr-go/ktstr/kernel"
)

// Resolve finds the kernel a test boots; a test skips when there is none.
func ExampleResolve() {
	k, err := kernel.Resolve(context.Background(), kernel.ResolveOptions{})
	if errors.Is(err, kernel.ErrNotFound) {
		fmt.Println("skip:", err) // ends with the KTSTR_KERNEL hint
		return
	}
	if err != nil {
		panic(err)
	}
	fmt.Println(k.Image, k.Vmlinux, k.Key)
}

// Build returns the cached kernel when the same source and fragment were
// built before; only the first call on a machine compiles.
func ExampleBuild() {
	k, err := kernel.Build(context.Background(), kernel.BuildOptions{Source: kernel.DefaultSource, Jobs: 2})
	if err != nil {
		panic(err)
	}
	fmt.Println(k.Key, k.Image)
}
