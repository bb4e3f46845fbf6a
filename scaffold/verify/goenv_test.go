package verify

import (
	"strings"
	"testing"
)

func TestGoenvProblem(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		vendored    bool
		want        string // contained in the message; "" for none
	}{
		{"GOCACHE", "off", false, "required since Go 1.12"},
		{"GOCACHE", `"off"`, false, "required since Go 1.12"},
		{"GOCACHE", "/tmp/cache", false, ""},
		{"GOFLAGS", "-mod=vendor", false, "no vendor/modules.txt"},
		{"GOFLAGS", "-mod=vendor", true, ""},
		{"GOFLAGS", "-trimpath -mod=mod", false, ""},
		{"GOFLAGS", "trimpath", false, "is not a flag"},
		{"GOPATH", "off", false, ""},
	} {
		got := goenvProblem(tc.name, tc.value, tc.vendored)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("goenvProblem(%s, %s, %v) = %q, want %q", tc.name, tc.value, tc.vendored, got, tc.want)
		}
	}
}

func TestShellWords(t *testing.T) {
	got := shellWords(`export GOFLAGS="-mod=vendor -x" && GOCACHE=off go build # GOCACHE=off`)
	var texts []string
	for _, w := range got {
		texts = append(texts, w.text)
	}
	if strings.Join(texts, "|") != "export|GOFLAGS=-mod=vendor -x|GOCACHE=off|go|build" || got[1].col != 7 {
		t.Fatalf("got %+v", got)
	}
}
