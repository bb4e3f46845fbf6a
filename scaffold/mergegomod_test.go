package scaffold

import (
	"strings"
	"testing"
)

// TestMergeGoModGoVersions: the go and toolchain lines take the newer of
// the two sides as Go orders versions (go/version), release candidates
// before their release and a language version (1.27) before 1.27.0.
func TestMergeGoModGoVersions(t *testing.T) {
	mod := func(goLine, toolchain string) []byte {
		s := "module example.com/m\n\ngo " + goLine + "\n"
		if toolchain != "" {
			s += "\ntoolchain " + toolchain + "\n"
		}
		return []byte(s)
	}
	for _, tc := range []struct {
		name                 string
		ours, theirs         string // go lines
		oursTool, theirsTool string
		wantGo, wantTool     string
	}{
		{"theirs newer", "1.26.8", "1.27.3", "", "", "go 1.27.3", ""},
		{"ours newer", "1.27.3", "1.26.8", "", "", "go 1.27.3", ""},
		{"release after its candidate", "1.27rc2", "1.27.0", "", "", "go 1.27.0", ""},
		{"candidate not after its release", "1.27.0", "1.27rc2", "", "", "go 1.27.0", ""},
		{"candidate after the previous release", "1.26.8", "1.27rc1", "", "", "go 1.27rc1", ""},
		{"toolchain release after its candidate", "1.27.0", "1.27.0", "go1.27rc1", "go1.27.0", "go 1.27.0", "toolchain go1.27.0"},
		{"toolchain candidate not after its release", "1.27.0", "1.27.0", "go1.27.1", "go1.27rc1", "go 1.27.0", "toolchain go1.27.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := mod("1.26.0", "")
			out, err := mergeGoMod("go.mod", base, mod(tc.ours, tc.oursTool), mod(tc.theirs, tc.theirsTool))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), tc.wantGo+"\n") {
				t.Errorf("merged go.mod has no %q:\n%s", tc.wantGo, out)
			}
			if tc.wantTool != "" && !strings.Contains(string(out), tc.wantTool+"\n") {
				t.Errorf("merged go.mod has no %q:\n%s", tc.wantTool, out)
			}
		})
	}
}
