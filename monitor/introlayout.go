package monitor

import "github.com/cilium/ebpf/btf"

// taskLayout is what a snapshot reads of a struct task_struct queued on
// a dispatch queue, and the chain to its cgroup's name.
type taskLayout struct {
	pid, comm, weight, slice, dsqVtime field
	runnableAt, dsqListFlags           field
	dsqListNode, runnableNode, cgroups uint32
	// css_set.dfl_cgrp → cgroup.kn → kernfs_node.name
	cssDflCgrp, cgroupKn, kernfsName uint32
	span                             uint32
}

// dsqLayout is struct scx_dispatch_q.
type dsqLayout struct {
	list, hashNode uint32
	nr, id         field
	span           uint32
}

// scxLayout is sched_ext's state: where the queues are and what the enum
// values mean. note says what is missing when the kernel lacks a type
// or field sched_ext snapshots need (then ok is false).
type scxLayout struct {
	ok                         bool
	note                       string
	task                       taskLayout
	dsq                        dsqLayout
	rqLocalDSQ, rqRunnableList uint32
	rqCurr                     uint32
	opsName                    field
	exitKind                   field
	enableStates, exitKinds    map[uint64]string
	// struct rhashtable.tbl and struct bucket_table, for user DSQs.
	rhtTbl                  uint32
	tblSize, tblNest        field
	tblBuckets, rhtHeadNext uint32
}

// schedstatLayout is struct rq's schedstat counters (CONFIG_SCHEDSTATS).
type schedstatLayout struct {
	ok                 bool
	note               string
	pcount, runDelay   field
	yld, sched, goidle field
	ttwu, ttwuLocal    field
	span               uint32
}

// bpfLayout is what a snapshot reads of the BPF objects in the guest
// kernel: maps and programs through their IDRs, BTF blobs, and the
// memory layouts of the map types whose values it decodes.
type bpfLayout struct {
	ok   bool
	note string
	// struct idr (its xarray) and struct xa_node
	idrHead           field
	xaSlots, xaNSlots uint32
	// struct bpf_map
	mapType, keySize, valueSize, maxEntries, mapFlags, mapID field
	btfKeyID, btfValueID, btfVmlinuxValueID                  field
	mapBTF, mapName                                          field
	mapSpan                                                  uint32
	// struct btf
	btfData, btfDataSize, btfID field
	btfSpan                     uint32
	// struct bpf_array
	arrElemSize field
	arrValue    uint32
	// struct bpf_htab, struct bucket, struct htab_elem
	htabBuckets, htabNBuckets field
	bucketSize, elemKey       uint32
	// struct bpf_arena and struct vm_struct
	arenaUserStart, arenaUserEnd, arenaKernVM field
	vmAddr, vmSize                            field
	arenaOK                                   bool
	// struct bpf_prog, struct bpf_prog_aux, struct bpf_prog_stats
	progType, progJitedLen, progAux, progStats, progFunc field
	auxID, auxName                                       field
	statsCnt, statsNsecs                                 field
	progSpan, auxSpan                                    uint32
	mapTypes, progTypes                                  map[uint64]string
}

// introLayout is every layout snapshots use, resolved once per kernel.
type introLayout struct {
	scx       scxLayout
	schedstat schedstatLayout
	bpf       bpfLayout
}

func loadIntroLayout(spec *btf.Spec) introLayout {
	l := newLayoutReader(spec)
	return introLayout{scx: loadSCXLayout(l), schedstat: loadSchedstatLayout(l), bpf: loadBPFLayout(l)}
}

func loadSCXLayout(l *layoutReader) scxLayout {
	t := taskLayout{
		pid: l.field("task_struct", "pid"), comm: l.field("task_struct", "comm"),
		weight: l.field("task_struct", "scx.weight"), slice: l.field("task_struct", "scx.slice"),
		dsqVtime: l.field("task_struct", "scx.dsq_vtime"), runnableAt: l.field("task_struct", "scx.runnable_at"),
		dsqListFlags: l.field("task_struct", "scx.dsq_list.flags"),
		dsqListNode:  l.off("task_struct", "scx.dsq_list.node"), runnableNode: l.off("task_struct", "scx.runnable_node"),
		cgroups: l.off("task_struct", "cgroups"), cssDflCgrp: l.off("css_set", "dfl_cgrp"),
		cgroupKn: l.off("cgroup", "kn"), kernfsName: l.off("kernfs_node", "name"),
	}
	for _, f := range []field{t.pid, t.comm, t.weight, t.slice, t.dsqVtime, t.runnableAt, t.dsqListFlags, {off: t.cgroups, size: 8}} {
		t.span = max(t.span, f.off+f.size)
	}
	d := dsqLayout{
		list: l.off("scx_dispatch_q", "list"), hashNode: l.off("scx_dispatch_q", "hash_node"),
		nr: l.field("scx_dispatch_q", "nr"), id: l.field("scx_dispatch_q", "id"), span: l.size("scx_dispatch_q"),
	}
	s := scxLayout{
		task: t, dsq: d,
		rqLocalDSQ: l.off("rq", "scx.local_dsq"), rqRunnableList: l.off("rq", "scx.runnable_list"), rqCurr: l.off("rq", "curr"),
		opsName:  l.field("sched_ext_ops", "name"),
		exitKind: l.field("scx_exit_info", "kind"),
		rhtTbl:   l.off("rhashtable", "tbl"),
		tblSize:  l.field("bucket_table", "size"), tblNest: l.field("bucket_table", "nest"),
		tblBuckets: l.off("bucket_table", "buckets"), rhtHeadNext: l.off("rhash_head", "next"),
		enableStates: l.enum("scx_ops_enable_state"), exitKinds: l.enum("scx_exit_kind"),
	}
	s.note = l.take("sched_ext state")
	s.ok = s.note == ""
	return s
}

func loadSchedstatLayout(l *layoutReader) schedstatLayout {
	s := schedstatLayout{
		pcount: l.field("rq", "rq_sched_info.pcount"), runDelay: l.field("rq", "rq_sched_info.run_delay"),
		yld: l.field("rq", "yld_count"), sched: l.field("rq", "sched_count"), goidle: l.field("rq", "sched_goidle"),
		ttwu: l.field("rq", "ttwu_count"), ttwuLocal: l.field("rq", "ttwu_local"),
	}
	for _, f := range []field{s.pcount, s.runDelay, s.yld, s.sched, s.goidle, s.ttwu, s.ttwuLocal} {
		s.span = max(s.span, f.off+f.size)
	}
	s.note = l.take("schedstat (CONFIG_SCHEDSTATS)")
	s.ok = s.note == ""
	return s
}

func loadBPFLayout(l *layoutReader) bpfLayout {
	b := bpfLayout{
		idrHead: l.field("idr", "idr_rt.xa_head"),
		xaSlots: l.off("xa_node", "slots"), xaNSlots: l.arrayLen("xa_node", "slots"),
		mapType: l.field("bpf_map", "map_type"), keySize: l.field("bpf_map", "key_size"),
		valueSize: l.field("bpf_map", "value_size"), maxEntries: l.field("bpf_map", "max_entries"),
		mapFlags: l.field("bpf_map", "map_flags"), mapID: l.field("bpf_map", "id"),
		btfKeyID: l.field("bpf_map", "btf_key_type_id"), btfValueID: l.field("bpf_map", "btf_value_type_id"),
		btfVmlinuxValueID: l.field("bpf_map", "btf_vmlinux_value_type_id"),
		mapBTF:            l.field("bpf_map", "btf"), mapName: l.field("bpf_map", "name"),
		btfData: l.field("btf", "data"), btfDataSize: l.field("btf", "data_size"), btfID: l.field("btf", "id"),
		arrElemSize: l.field("bpf_array", "elem_size"), arrValue: l.off("bpf_array", "value"),
		htabBuckets: l.field("bpf_htab", "buckets"), htabNBuckets: l.field("bpf_htab", "n_buckets"),
		bucketSize: l.size("bucket"), elemKey: l.off("htab_elem", "key"),
		progType: l.field("bpf_prog", "type"), progJitedLen: l.field("bpf_prog", "jited_len"),
		progAux: l.field("bpf_prog", "aux"), progStats: l.field("bpf_prog", "stats"), progFunc: l.field("bpf_prog", "bpf_func"),
		auxID: l.field("bpf_prog_aux", "id"), auxName: l.field("bpf_prog_aux", "name"),
		statsCnt: l.field("bpf_prog_stats", "cnt"), statsNsecs: l.field("bpf_prog_stats", "nsecs"),
		mapTypes: l.enum("bpf_map_type"), progTypes: l.enum("bpf_prog_type"),
	}
	b.mapSpan = spanOf(b.mapType, b.keySize, b.valueSize, b.maxEntries, b.mapFlags, b.mapID, b.btfKeyID, b.btfValueID,
		b.btfVmlinuxValueID, b.mapBTF, b.mapName, b.arrElemSize, b.htabBuckets, b.htabNBuckets)
	b.btfSpan = spanOf(b.btfData, b.btfDataSize, b.btfID)
	b.progSpan = spanOf(b.progType, b.progJitedLen, b.progAux, b.progStats, b.progFunc)
	b.auxSpan = spanOf(b.auxID, b.auxName)
	b.note = l.take("BPF maps and programs")
	b.ok = b.note == ""
	// Arenas came in Linux 6.9: their absence only turns arenas off.
	b.arenaUserStart, b.arenaUserEnd = l.field("bpf_arena", "user_vm_start"), l.field("bpf_arena", "user_vm_end")
	b.arenaKernVM = l.field("bpf_arena", "kern_vm")
	b.vmAddr, b.vmSize = l.field("vm_struct", "addr"), l.field("vm_struct", "size")
	b.arenaOK = l.take("arena") == ""
	b.mapSpan = max(b.mapSpan, spanOf(b.arenaUserStart, b.arenaUserEnd, b.arenaKernVM))
	return b
}

// spanOf is the bytes of a struct that cover every field given.
func spanOf(fs ...field) uint32 {
	var n uint32
	for _, f := range fs {
		n = max(n, f.off+f.size)
	}
	return n
}
