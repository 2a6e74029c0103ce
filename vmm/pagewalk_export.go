package vmm

import "io"

// WalkPageTables translates guest virtual address va to guest-physical
// by walking the guest's page tables in mem from the top-level table at
// guest-physical address root (five levels when la57). The host monitor
// takes it as its page walker (monitor.Config.PageWalk) to read the
// guest kernel's vmalloc'd memory, with root the kernel's own
// init_top_pgt, so no vCPU has to be stopped for its CR3.
func WalkPageTables(mem io.ReaderAt, root uint64, la57 bool, va uint64) (uint64, error) {
	return translate(mem, root, la57, va)
}
