package scaffold_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/paved-dev/paved/scaffold"
	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// TestModuleVersions lists a module template's versions from the proxy,
// newest first, and marks the one a repository records.
func TestModuleVersions(t *testing.T) {
	src := t.TempDir()
	scaffoldtest.WriteTree(t, src, map[string]string{
		"go.mod":     "module example.com/tmpl\n\ngo 1.26\n",
		"paved.yaml": "questions:\n  - name: Name\n",
	})
	proxy := scaffoldtest.NewProxy(t)
	for _, v := range []string{"v1.0.0", "v1.10.0", "v1.2.0", "v1.11.0-rc.1"} {
		proxy.Add(t, "example.com/tmpl", v, src)
	}
	r := &scaffold.Resolver{Env: proxy.GoEnv(t)}
	vs, source, err := r.Versions(t.Context(), "example.com/tmpl//sub")
	if err != nil {
		t.Fatal(err)
	}
	want := []scaffold.Version{{Name: "v1.11.0-rc.1"}, {Name: "v1.10.0"}, {Name: "v1.2.0"}, {Name: "v1.0.0"}}
	if diff := cmp.Diff(want, vs); diff != "" {
		t.Fatalf("versions (-want +got):\n%s", diff)
	}
	repo := t.TempDir()
	scaffoldtest.WriteTree(t, repo, map[string]string{
		filepath.Base(scaffold.AnswersFileName): "template: example.com/tmpl//sub\nversion: v1.2.0\nmodule: example.com/acme/x\nanswers:\n  Name: x\n",
	})
	if _, ok, err := scaffold.MarkRecorded(vs, source, repo); err != nil || !ok || !vs[2].Recorded {
		t.Fatalf("MarkRecorded: ok %v, err %v, versions %+v", ok, err, vs)
	}
}
