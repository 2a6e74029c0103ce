package scenario

import (
	"errors"
	"fmt"

	"github.com/ktstr-go/ktstr/bpfmap"
	"github.com/ktstr-go/ktstr/guest"
)

// WriteBPFMap writes a BPF map of the attached scheduler at this step,
// by map name, key and value, and reads it back (bpfmap.Apply). A
// missing map or key, a frozen map or a read-back that differs fails the
// step. The write is recorded (guest.KindMapWrite).
//
//	scenario.WriteBPFMap(bpfmap.Write{Map: ".bss", Var: "test_error_cnt", Value: bpfmap.U32(100)})
func WriteBPFMap(w bpfmap.Write) Op {
	return Op{"write_bpf_map(" + w.String() + ")", func(r *run) error { return r.ctx.WriteBPFMap(w) }}
}

// WriteBPFMap makes one map write now (see the op of the same name).
func (c *Ctx) WriteBPFMap(w bpfmap.Write) error {
	if c.Scheduler == nil {
		return errors.New("write_bpf_map: this test runs without a scheduler (EEVDF); set ktstr.Opts.Scheduler")
	}
	a, err := bpfmap.Apply(w)
	if err != nil {
		return fmt.Errorf("BPF map write %s: %w", w, err)
	}
	c.emit(guest.KindMapWrite, a)
	return nil
}
