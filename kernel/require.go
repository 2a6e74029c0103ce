package kernel

import (
	"os"
	"strconv"
)

// EnvRequire, set true (1, true), makes a missing kernel fail the tests
// that need one instead of skipping them, so a CI run cannot pass while
// testing nothing. CI=true, which most CI systems set, does the same
// unless KTSTR_REQUIRE_KERNEL is set false (0, false).
const EnvRequire = "KTSTR_REQUIRE_KERNEL"

// Required reports whether tests must fail, not skip, without a kernel:
// KTSTR_REQUIRE_KERNEL if set, else whether CI is.
func Required() bool {
	if v := os.Getenv(EnvRequire); v != "" {
		b, err := strconv.ParseBool(v)
		return err != nil || b // a value that is no boolean still asks for one
	}
	b, _ := strconv.ParseBool(os.Getenv("CI"))
	return b
}
