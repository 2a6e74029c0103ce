package bpfmap

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
)

// Read returns a value of the attached scheduler's map named as Write.Map
// names one: the bytes of variable varName (a global of a data section),
// or the whole value when varName is empty. A nil key is the 4-byte zero.
func Read(mapName string, key []byte, varName string) ([]byte, error) {
	maps, err := SchedulerMaps()
	if err != nil {
		return nil, err
	}
	defer closeAll(maps)
	m, err := pick(maps, mapName)
	if err != nil {
		return nil, err
	}
	return m.read(key, varName)
}

func (m *Map) read(key []byte, varName string) ([]byte, error) {
	if key == nil {
		key = U32(0)
	}
	val := make([]byte, m.Info.ValueSize)
	if err := m.m.Lookup(key, &val); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil, fmt.Errorf("map %s has no key %x", m.Info.Name, key)
		}
		return nil, fmt.Errorf("reading map %s key %x: %w", m.Info.Name, key, err)
	}
	if varName == "" {
		return val, nil
	}
	v, err := m.variable(varName)
	if err != nil {
		return nil, err
	}
	if int(v.Offset+v.Size) > len(val) {
		return nil, fmt.Errorf("map %s: variable %s lies outside its %d-byte value", m.Info.Name, varName, len(val))
	}
	return bytes.Clone(val[v.Offset : v.Offset+v.Size]), nil
}
