package bpfmap

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// maxNameLen is the longest map name the kernel keeps (BPF_OBJ_NAME_LEN
// less the NUL).
const maxNameLen = 15

// Map is one map of the scheduler under test, open.
type Map struct {
	ID   ebpf.MapID
	Info *ebpf.MapInfo
	m    *ebpf.Map
}

// Close releases the map.
func (m *Map) Close() error { return m.m.Close() }

// SchedulerMaps opens the maps of the loaded sched_ext scheduler: every
// map its struct_ops programs (the scheduler's callbacks) use, and every
// other map its process holds open, i.e. the rest of its BPF object (a
// global section no program reads, a map only user space touches): a
// loader keeps each map of its object open, libbpf and cilium/ebpf alike.
// It fails when no struct_ops program is loaded: no scheduler to write.
func SchedulerMaps() ([]*Map, error) {
	used, err := structOpsMaps()
	if err != nil {
		return nil, err
	}
	if len(used) == 0 {
		return nil, errors.New("no sched_ext scheduler is loaded (no struct_ops BPF program using maps): BPF map writes need the scheduler attached")
	}
	ids := slices.Clone(used)
	for _, id := range heldWith(used) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []*Map
	for _, id := range ids {
		m, err := ebpf.NewMapFromID(id)
		if err != nil {
			continue // freed meanwhile
		}
		info, err := m.Info()
		if err != nil {
			m.Close()
			continue
		}
		out = append(out, &Map{ID: id, Info: info, m: m})
	}
	return out, nil
}

// structOpsMaps lists the maps every loaded struct_ops program uses.
func structOpsMaps() ([]ebpf.MapID, error) {
	var maps []ebpf.MapID
	var id ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("listing BPF programs (needs root): %w", err)
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		info, err := p.Info()
		p.Close()
		if err != nil || info.Type != ebpf.StructOps {
			continue
		}
		mids, _ := info.MapIDs()
		for _, mid := range mids {
			if !slices.Contains(maps, mid) {
				maps = append(maps, mid)
			}
		}
	}
	return maps, nil
}

// procRoot is where processes are listed; a variable for tests.
var procRoot = "/proc"

// heldWith returns the maps held open by every process that holds one of
// the given maps (the scheduler's loader).
func heldWith(ids []ebpf.MapID) []ebpf.MapID {
	var out []ebpf.MapID
	procs, _ := os.ReadDir(procRoot)
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		held := processMaps(filepath.Join(procRoot, p.Name()))
		if slices.ContainsFunc(held, func(id ebpf.MapID) bool { return slices.Contains(ids, id) }) {
			out = append(out, held...)
		}
	}
	return out
}

// processMaps lists the IDs of the BPF maps a process holds descriptors
// of, from its fdinfo.
func processMaps(proc string) []ebpf.MapID {
	fds, _ := os.ReadDir(filepath.Join(proc, "fdinfo"))
	var out []ebpf.MapID
	for _, fd := range fds {
		b, err := os.ReadFile(filepath.Join(proc, "fdinfo", fd.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "map_id:"); ok {
				if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
					out = append(out, ebpf.MapID(n))
				}
			}
		}
	}
	return out
}

func closeAll(maps []*Map) {
	for _, m := range maps {
		m.Close()
	}
}

// pick finds the map a write names: the one with that exact name (cut to
// the kernel's 15 characters), else the one whose name ends with a
// '.'-suffix such as ".bss". None or several is an error listing the
// scheduler's maps.
func pick(maps []*Map, name string) (*Map, error) {
	want := name
	if len(want) > maxNameLen {
		want = want[:maxNameLen]
	}
	var exact, suffix []*Map
	for _, m := range maps {
		switch {
		case m.Info.Name == want:
			exact = append(exact, m)
		case strings.HasPrefix(name, ".") && strings.HasSuffix(m.Info.Name, name):
			suffix = append(suffix, m)
		}
	}
	found := exact
	if len(found) == 0 {
		found = suffix
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("the scheduler has no BPF map %q; its maps: %s", name, mapNames(maps))
	}
	return nil, fmt.Errorf("BPF map %q is ambiguous: %s match; name one exactly", name, mapNames(found))
}

func mapNames(maps []*Map) string {
	var names []string
	for _, m := range maps {
		names = append(names, m.Info.Name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// offset is where a write goes in the map's value: Offset, or the
// variable's place in the map's data section.
func (m *Map) offset(w Write) (int, error) {
	if w.Var == "" {
		return w.Offset, nil
	}
	v, err := m.variable(w.Var)
	if err != nil {
		return 0, err
	}
	if int(v.Size) != len(w.Value) {
		return 0, fmt.Errorf("map %s: variable %s is %d bytes, the value written has %d", m.Info.Name, w.Var, v.Size, len(w.Value))
	}
	return int(v.Offset), nil
}

// variable finds a global variable in the map's BTF data section.
func (m *Map) variable(name string) (btf.VarSecinfo, error) {
	id, ok := m.Info.BTFID()
	if !ok {
		return btf.VarSecinfo{}, fmt.Errorf("map %s carries no BTF to find variable %s in: give its Offset instead", m.Info.Name, name)
	}
	h, err := btf.NewHandleFromID(id)
	if err != nil {
		return btf.VarSecinfo{}, fmt.Errorf("map %s: loading its BTF: %w", m.Info.Name, err)
	}
	defer h.Close()
	spec, err := h.Spec(nil)
	if err != nil {
		return btf.VarSecinfo{}, fmt.Errorf("map %s: reading its BTF: %w", m.Info.Name, err)
	}
	var vars []string
	for t, err := range spec.All() {
		if err != nil {
			return btf.VarSecinfo{}, fmt.Errorf("map %s: reading its BTF: %w", m.Info.Name, err)
		}
		ds, ok := t.(*btf.Datasec)
		if !ok || !sectionOf(m.Info.Name, ds.Name) {
			continue
		}
		for _, vs := range ds.Vars {
			if v, ok := vs.Type.(*btf.Var); ok {
				if v.Name == name {
					return vs, nil
				}
				vars = append(vars, v.Name)
			}
		}
	}
	sort.Strings(vars)
	return btf.VarSecinfo{}, fmt.Errorf("map %s has no variable %s (its variables: %s)", m.Info.Name, name, strings.Join(vars, ", "))
}

// sectionOf reports whether the data section sec (".bss") is the one map
// name holds: libbpf names the map "<object>.bss" (cut to 15
// characters), cilium/ebpf ".bss".
func sectionOf(mapName, sec string) bool {
	if i := strings.IndexByte(mapName, '.'); i >= 0 {
		return strings.HasPrefix(sec, mapName[i:])
	}
	return false
}
