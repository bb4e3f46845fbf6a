package verify

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

// TestClientGoKubeVersion: the fallback Kubernetes version is the one of
// the k8s.io/client-go that go.mod requires, so findings read the same
// whatever the build information holds.
func TestClientGoKubeVersion(t *testing.T) {
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Require {
		if r.Mod.Path == "k8s.io/client-go" {
			if want := "v1." + strings.TrimPrefix(r.Mod.Version, "v0."); want != clientGoKubeVersion {
				t.Fatalf("clientGoKubeVersion = %s, go.mod's client-go is %s: want %s", clientGoKubeVersion, r.Mod.Version, want)
			}
			return
		}
	}
	t.Fatal("go.mod does not require k8s.io/client-go")
}
