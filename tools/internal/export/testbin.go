package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ktstr-go/ktstr/internal/modroot"
)

// TestBinaryEnv names a prebuilt test binary to export from.
const TestBinaryEnv = "KTSTR_TEST_BINARY"

// TestsPackage is the package built when no test binary is given.
const TestsPackage = "./tests"

// FindTestBinary returns the test binary to export from: explicit if set,
// else $KTSTR_TEST_BINARY, else one built with `go test -c` from
// TestsPackage of the Go module containing dir. cleanup removes a built
// binary; call it when done.
func FindTestBinary(ctx context.Context, explicit, dir string) (path string, cleanup func(), err error) {
	noop := func() {}
	for _, c := range []struct{ val, from string }{{explicit, "--test-binary"}, {os.Getenv(TestBinaryEnv), TestBinaryEnv}} {
		if c.val == "" {
			continue
		}
		p := c.val
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		st, err := os.Stat(p)
		if err != nil {
			return "", noop, fmt.Errorf("test binary from %s: %w", c.from, err)
		}
		if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			return "", noop, fmt.Errorf("test binary %s (from %s) is not an executable file; build one with `go test -c -o tests.test %s`", p, c.from, TestsPackage)
		}
		return p, noop, nil
	}
	mod, err := modroot.Find(dir, "")
	if err != nil {
		return "", noop, fmt.Errorf("%w; or pass --test-binary PATH / set %s", err, TestBinaryEnv)
	}
	if st, err := os.Stat(filepath.Join(mod, TestsPackage)); err != nil || !st.IsDir() {
		return "", noop, fmt.Errorf("module %s has no %s package to build; pass --test-binary PATH or set %s", mod, TestsPackage, TestBinaryEnv)
	}
	tmp, err := os.MkdirTemp("", "ktstr-export-bin-*")
	if err != nil {
		return "", noop, fmt.Errorf("creating a build directory: %w", err)
	}
	cleanup = func() { os.RemoveAll(tmp) }
	bin := filepath.Join(tmp, "tests.test")
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, TestsPackage)
	cmd.Dir = mod
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		cleanup()
		if errors.Is(err, exec.ErrNotFound) {
			return "", noop, fmt.Errorf("building the test binary needs the go command in PATH; or pass --test-binary PATH / set %s", TestBinaryEnv)
		}
		return "", noop, fmt.Errorf("go test -c %s in %s: %v\n%s", TestsPackage, mod, err, strings.TrimSpace(stderr.String()))
	}
	return bin, cleanup, nil
}
