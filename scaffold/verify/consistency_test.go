package verify

import (
	"strings"
	"testing"
)

// TestGoVersionProblem: the one Go version rule for both shapes of go.mod
// (a toolchain line, exact; a go line, a minimum) and of image tags and
// setup-go versions (with or without the patch).
func TestGoVersionProblem(t *testing.T) {
	for _, tc := range []struct {
		got, want string
		exact     bool
		problem   string // contained in the problem; "" for none
	}{
		{"1.27.3", "1.27.3", true, ""},
		{"1.27", "1.27.3", true, ""},   // golang:1.27@sha256:...: the patch is hidden
		{"1.27.x", "1.27.3", true, ""}, // setup-go
		{"1.27.4", "1.27.3", true, "is not 1.27.3"},
		{"1.27.2", "1.27.3", true, "is not 1.27.3"},
		{"1.26.8", "1.27.3", true, "another Go release line than 1.27"},
		{"1.26.8", "1.26.0", false, ""}, // the go line is a minimum
		{"1.26.8", "1.26.9", false, "older than 1.26.9"},
		{"1.27", "1.27", false, ""},
		{"stable", "1.27.3", true, "does not name a Go release"},
		// Release candidates come before their release, not after it
		// (semver-like string comparison put 1.27rc2 after 1.27.0).
		{"1.27rc2", "1.27.0", false, "older than 1.27.0"},
		{"1.27.0", "1.27rc2", false, ""},
		{"1.27rc1", "1.27rc2", false, "older than 1.27rc2"},
		{"1.27rc2", "1.27rc2", true, ""},
	} {
		got := goVersionProblem(tc.got, tc.want, tc.exact)
		if (tc.problem == "") != (got == "") || !strings.Contains(got, tc.problem) {
			t.Errorf("goVersionProblem(%q, %q, %v) = %q, want %q", tc.got, tc.want, tc.exact, got, tc.problem)
		}
	}
	for tag, want := range map[string]string{"1.26.8-bookworm": "1.26.8", "1.26-alpine": "1.26", "1.27rc1-trixie": "1.27rc1", "1.26.x": "1.26.x", "latest": "latest"} {
		if got := goVersionFromTag(tag); got != want {
			t.Errorf("goVersionFromTag(%q) = %q, want %q", tag, got, want)
		}
	}
	if tag, ok := golangImageTag("golang:1.27@sha256:6c2a5538f964f1c82f97ad14988bf05de100d922d159d0e398b54c7b0ca0c6c9"); !ok || goVersionFromTag(tag) != "1.27" {
		t.Errorf("golang:1.27@sha256:... gives tag %q, %v", tag, ok)
	}
}
