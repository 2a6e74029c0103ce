package kernel

import "errors"

// SpecError says a kernel identifier can never resolve as written: a path
// that holds no bootable kernel, a range or git source where one kernel is
// needed, a malformed version. Commands report it as a usage error;
// ErrNotFound (a well-formed identifier that is not there) is not one.
type SpecError struct {
	// Label is how the identifier was given: "--kernel X", "KTSTR_KERNEL=X".
	Label string
	Err   error
}

func (e *SpecError) Error() string { return e.Label + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *SpecError) Unwrap() error { return e.Err }

// CheckSpec checks a kernel identifier the way Resolve will, without
// looking in the cache or the network: the syntax, that it names one
// kernel, and for a path that it holds a bootable image (and a vmlinux
// of the same build, if one goes with it). Commands call it before any
// slow work; label is how the user gave the identifier. Errors are
// *SpecError.
func CheckSpec(spec, label string) error {
	id, err := checkID(spec, label)
	if err != nil {
		return err
	}
	if id.Kind == IDPath {
		if _, err := loadPath(expandHome(id.Value)); err != nil {
			return &SpecError{Label: label, Err: err}
		}
	}
	return nil
}

// checkID parses spec and rejects the forms that name no single kernel.
func checkID(spec, label string) (ID, error) {
	id, err := ParseID(spec)
	if err == nil {
		err = id.Validate()
	}
	if err != nil {
		return id, &SpecError{Label: label, Err: err}
	}
	switch id.Kind {
	case IDRange:
		return id, &SpecError{Label: label, Err: errors.New("a range names several kernels; give one: " +
			"a bzImage or build tree, a cached version, a cache key or an OCI reference")}
	case IDGit:
		return id, &SpecError{Label: label, Err: errors.New("a git source must be built first, " +
			"with `ktstr kernel build --source` (it prints the cache key to pass here)")}
	}
	return id, nil
}
