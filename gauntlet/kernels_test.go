package gauntlet

import (
	"context"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/kernel"
)

func TestKernelEntries(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	tests := []struct {
		name  string
		specs []string
		env   map[string]string
		want  string
	}{
		{"flags beat env", []string{"6.12.118", "old=6.1.192"}, map[string]string{kernel.EnvKernelList: "x"}, "=6.12.118 old=6.1.192"},
		{"list", nil, map[string]string{kernel.EnvKernelList: "a;b", kernel.EnvKernel: "c"}, "=a =b"},
		{"single with label", nil, map[string]string{kernel.EnvKernel: "/k/bzImage", EnvKernelLabel: "6.12"}, "6.12=/k/bzImage"},
		{"default", nil, map[string]string{}, "="},
	}
	for _, tc := range tests {
		es, err := kernelEntries(context.Background(), KernelOptions{Specs: tc.specs}, env(tc.env))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Label+"="+e.Spec)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, strings.Join(got, " "), tc.want)
		}
	}
	if _, err := kernelEntries(context.Background(), KernelOptions{Specs: []string{"6.12..6.1"}}, env(nil)); err == nil || !strings.Contains(err.Error(), "swap") {
		t.Errorf("inverted range: %v", err)
	}
}

func TestUniqueKernels(t *testing.T) {
	ks := kernelsOf("6.12.118", "6.12.118", "6.1.192")
	ks[1].K.Image = "/k/other"
	ks[1].K.Meta.KconfigHash = "abcd1234"
	dup := ks[2]
	got := uniqueKernels(append(ks, dup))
	var labels []string
	for _, k := range got {
		labels = append(labels, k.Label)
	}
	if strings.Join(labels, " ") != "6.12.118 6.12.118-kcabcd1234 6.1.192" {
		t.Errorf("labels %v", labels)
	}
}
