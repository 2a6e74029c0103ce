// Package tests holds ktstr-go's own scheduler tests. Tests registered
// here (non-_test files) are also runnable and exportable through the
// ktstr command; the _test files run them under go test.
package tests

import (
	"fmt"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/vmm"
)

// Demo is what `ktstr run` runs by default. PLACEHOLDER body until the
// scenario package lands.
var Demo = ktstr.Register("demo", ktstr.Opts{Topology: vmm.MustTopology("1n1l2c1t"), Duration: 3 * time.Second},
	func(ctx *scenario.Ctx) error {
		if ctx == nil {
			return fmt.Errorf("no context")
		}
		return nil
	})
