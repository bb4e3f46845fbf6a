//go:build mage

package main

import "github.com/magefile/mage/sh"

// Build builds the service from the vendor directory.
func Build() error {
	return sh.RunWith(map[string]string{"GOFLAGS": "-mod=vendor"}, "go", "build", "./...")
}
