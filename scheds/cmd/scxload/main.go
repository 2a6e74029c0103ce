// Command scxload loads a sched_ext scheduler from a BPF object file and
// keeps it attached until SIGTERM or SIGINT: the in-guest loader of ktstr's
// in-repo reference schedulers (see package scxload). The ktstr command
// is the same loader when invoked under the name scxload.
package main

import (
	"os"

	"github.com/ktstr-go/ktstr/scheds/scxload"
)

func main() { os.Exit(scxload.Main(os.Args[1:])) }
