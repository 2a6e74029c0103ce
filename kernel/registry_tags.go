package kernel

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ListTags returns the tags of a registry repository (REGISTRY/REPO, no
// tag), sorted. Plain HTTP is used only with insecure (and for localhost).
func ListTags(ctx context.Context, repo string, insecure bool) ([]string, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.NewRepository(repo, opts...)
	if err != nil {
		return nil, fmt.Errorf("registry repository %q: %w (want REGISTRY/REPO, e.g. ghcr.io/o/kernels)", repo, err)
	}
	tags, err := remote.List(r, remoteOpts(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("listing tags of %s: %w", repo, err)
	}
	sort.Strings(tags)
	return tags, nil
}
