package bpfmap_test

import (
	"fmt"

	"github.com/ktstr-go/ktstr/bpfmap"
)

// The command-line form of a write (ktstr run --map-write): a variable of
// the scheduler's .bss, and a u64 at byte 8 of key 7 of a map "stats".
func ExampleParseWrite() {
	for _, s := range []string{".bss:test_error_cnt=100", "stats[7]+8=1/64"} {
		w, err := bpfmap.ParseWrite(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: map %s, key %x, var %q, offset %d, value %x\n", s, w.Map, w.Key, w.Var, w.Offset, w.Value)
	}
	// Output:
	// .bss:test_error_cnt=100: map .bss, key , var "test_error_cnt", offset 0, value 64000000
	// stats[7]+8=1/64: map stats, key 07000000, var "", offset 8, value 0100000000000000
}
