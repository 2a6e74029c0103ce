package tests

import (
	"testing"

	"github.com/ktstr-go/ktstr"
	_ "github.com/ktstr-go/ktstr/scheds/catalog" // the registered tests RunRegistered runs
)

func TestMain(m *testing.M) { ktstr.Main(m) }

// TestRegistered runs every test in the catalog, each in its own VM.
func TestRegistered(t *testing.T) { ktstr.RunRegistered(t) }
