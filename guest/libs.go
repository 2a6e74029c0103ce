package guest

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// SharedLibs returns the dynamic loader and every shared library a binary
// needs, as absolute host paths (to be packed into the initramfs at the
// same paths). A static binary needs none.
func SharedLibs(binary string) ([]string, error) {
	f, err := elf.Open(binary)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", binary, err)
	}
	dynamic := false
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			dynamic = true
		}
	}
	f.Close()
	if !dynamic {
		return nil, nil
	}
	// ldd asks the loader itself, so search paths and the ld.so cache are
	// honoured exactly as they would be at run time.
	out, err := exec.Command("ldd", binary).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w (is the binary for this host's architecture?)", binary, err)
	}
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.Contains(line, "not found") {
			return nil, fmt.Errorf("%s needs a library that is not installed: %s", binary, line)
		}
		var p string
		if _, after, ok := strings.Cut(line, "=> "); ok {
			p = strings.Fields(after)[0]
		} else if strings.HasPrefix(line, "/") {
			p = strings.Fields(line)[0]
		}
		if p != "" && filepath.IsAbs(p) {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				libs = append(libs, p, real)
			} else {
				libs = append(libs, p)
			}
		}
	}
	return libs, nil
}
