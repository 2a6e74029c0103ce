package guest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ResolveIncludes turns a test's include specs into host files:
//   - a spec with a '/' (absolute, ./x, ../x, dir/x) is a path, relative
//     to dir (the current directory when dir is empty);
//   - a bare name is looked up in PATH (executables only), as tests often
//     include standard tools such as stress-ng.
//
// Missing files and directories are errors here, on the exporting host,
// rather than surprises on the target host.
func ResolveIncludes(specs []string, dir string) ([]string, error) {
	out := make([]string, 0, len(specs))
	for _, spec := range specs {
		p := spec
		if !strings.Contains(spec, "/") {
			found, ok := searchPath(spec)
			if !ok {
				return nil, fmt.Errorf("include file '%s' not found in PATH (the test declares it but this host doesn't have it; install it or give an absolute path)", spec)
			}
			p = found
		} else if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("include file does not exist on this host: %s", p)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("include file '%s' is a directory: only regular files can be included (directories are not packed recursively); list each file in the test's Opts.Includes", p)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("include file %s: %w", p, err)
		}
		out = append(out, abs)
	}
	return out, nil
}

// searchPath finds an executable regular file named name in PATH. A
// non-executable file of the same name (documentation, say) is skipped, as
// it would fail only when the test tries to run it on the target.
func searchPath(name string) (string, bool) {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" {
			dir = "."
		}
		c := filepath.Join(dir, name)
		st, err := os.Stat(c)
		if err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return c, true
		}
	}
	return "", false
}

// IncludeFiles maps the guest paths an included host file needs to host
// paths: the file at IncludePath, and, for a dynamically linked program,
// its loader and shared libraries at their host paths, so that a payload
// such as Debian's hackbench runs in the guest as it does on the host.
// Files that are not ELF programs (scripts, data) come alone.
func IncludeFiles(hostPath string) (map[string]string, error) {
	files := map[string]string{IncludePath(hostPath): hostPath}
	if !isELF(hostPath) {
		return files, nil
	}
	libs, err := SharedLibs(hostPath)
	if err != nil {
		return nil, fmt.Errorf("include file %s: %w", hostPath, err)
	}
	for _, l := range libs {
		files[l] = l
	}
	return files, nil
}

// isELF reports whether p starts with the ELF magic.
func isELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && string(magic[:]) == "\x7fELF"
}
