package qemu

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ktstr-go/ktstr/vmm/x86"
)

func memFiles(dir string, nodes int) []string {
	fs := make([]string, nodes)
	for i := range fs {
		fs[i] = filepath.Join(dir, fmt.Sprintf("mem%d", i))
	}
	return fs
}

// fileMemory reads guest-physical memory from the backing files: files[i]
// holds the range of nodes[i].
type fileMemory struct {
	files []string
	nodes []x86.NodeMemory
}

func (fm *fileMemory) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for len(p) > 0 {
		i := fm.node(off)
		if i < 0 {
			return n, fmt.Errorf("guest-physical address %#x is outside guest RAM: %w", off, io.EOF)
		}
		within := uint64(off) - fm.nodes[i].Base
		chunk := p
		if rest := fm.nodes[i].Size - within; uint64(len(chunk)) > rest {
			chunk = chunk[:rest]
		}
		f, err := os.Open(fm.files[i])
		if err != nil {
			return n, fmt.Errorf("reading guest memory: %w", err)
		}
		k, err := f.ReadAt(chunk, int64(within))
		f.Close()
		n += k
		if err != nil {
			return n, fmt.Errorf("reading guest memory at %#x: %w", off, err)
		}
		p, off = p[k:], off+int64(k)
	}
	return n, nil
}

// node returns the index of the node holding address off, or -1.
func (fm *fileMemory) node(off int64) int {
	for i, nm := range fm.nodes {
		if off >= 0 && uint64(off) >= nm.Base && uint64(off)-nm.Base < nm.Size {
			return i
		}
	}
	return -1
}
