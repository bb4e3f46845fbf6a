package templates_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/paved-dev/paved/templates/templatetest"
	"golang.org/x/mod/modfile"
)

// TestServicePinsPaved renders every case as a released paved and as a
// development build, and checks the pinning contract of tools/paved/go.mod:
// it requires paved at the version that generated the repository and
// declares paved and paved-verify as tools; a development build, which has
// no version, pins nothing (and says how to pin a release) rather than
// render a go.mod that names no real version or carries what an odd
// version string holds. No workflow installs anything @latest.
func TestServicePinsPaved(t *testing.T) {
	tests := []struct {
		paved, want string
	}{
		{paved: "v1.4.2", want: "v1.4.2"},
		{paved: "v0.0.0-20260102030405-c43e77475ac7", want: "v0.0.0-20260102030405-c43e77475ac7"},
		{paved: "v1.5.0-rc.1", want: "v1.5.0-rc.1"},
		{paved: "(devel)"},
		{paved: "v1.2.3 // x\nrequire evil.example v1.0.0"},
		{paved: "v2.0.0"}, // would be module github.com/paved-dev/paved/v2
	}
	installLatest := regexp.MustCompile(`go (install|run|get)[^\n]*@latest`)
	for _, c := range templatetest.ServiceCases {
		for _, tt := range tests {
			t.Run(c.Name+"/"+tt.paved, func(t *testing.T) {
				_, files, err := templatetest.RenderCase(t.Context(), "service", "service", c, tt.paved)
				if err != nil {
					t.Fatal(err)
				}
				var gomod []byte
				for _, f := range files {
					switch {
					case f.Path == "tools/paved/go.mod":
						gomod = f.Data
					case strings.HasPrefix(f.Path, ".github/workflows/") && f.Path != ".github/workflows/template-sync.yml":
						// template-sync.yml is kept by the update machinery and
						// checked with it.
						if m := installLatest.Find(f.Data); m != nil {
							t.Errorf("%s installs @latest: %s", f.Path, m)
						}
					}
				}
				if gomod == nil {
					t.Fatal("no tools/paved/go.mod rendered")
				}
				mf, err := modfile.Parse("tools/paved/go.mod", gomod, nil)
				if err != nil {
					t.Fatalf("tools/paved/go.mod: %v\n%s", err, gomod)
				}
				if got := mf.Module.Mod.Path; got != c.Module+"/tools/paved" {
					t.Errorf("module %s, want %s/tools/paved", got, c.Module)
				}
				var reqs []string
				for _, r := range mf.Require {
					reqs = append(reqs, r.Mod.Path+" "+r.Mod.Version)
				}
				var tools []string
				for _, tool := range mf.Tool {
					tools = append(tools, tool.Path)
				}
				wantReqs := []string{"github.com/paved-dev/paved " + tt.want}
				wantTools := []string{"github.com/paved-dev/paved/cmd/paved", "github.com/paved-dev/paved/cmd/paved-verify"}
				if tt.want == "" {
					wantReqs, wantTools = nil, nil
					if !strings.Contains(string(gomod), "go -C tools/paved get -tool github.com/paved-dev/paved/cmd/paved@VERSION") {
						t.Errorf("a development build's tools/paved/go.mod does not say how to pin a release:\n%s", gomod)
					}
				}
				if !slices.Equal(reqs, wantReqs) {
					t.Errorf("requires %q, want %q", reqs, wantReqs)
				}
				if !slices.Equal(tools, wantTools) {
					t.Errorf("tools %q, want %q", tools, wantTools)
				}
				if mf.Go == nil || mf.Go.Version != "1.27.3" {
					t.Errorf("go line %v, want 1.27.3 (go.mod's)", mf.Go)
				}
			})
		}
	}
}
