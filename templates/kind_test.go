package templates_test

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/paved-dev/paved/templates/templatetest"
	"go.yaml.in/yaml/v3"
)

// helmSet is one value a helm command of a workflow sets.
var helmSet = regexp.MustCompile(`--set(?:-string|-json)? '?([A-Za-z][A-Za-z0-9.]*)=`)

// TestKindValues: every value kind.yml and deploy.yml set on the chart is
// one the chart has (values.schema.json rejects any other, so a renamed key
// would break the workflow only in a real cluster), and the canary runs in
// kind with the analysis off and one step that waits to be promoted.
func TestKindValues(t *testing.T) {
	t.Parallel()
	for _, c := range templatetest.ServiceCases {
		if slices.Contains(c.Set, "Kubernetes=false") {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			out := rendered(renderCase(t, "service", c))
			wf := out[".github/workflows/kind.yml"]
			var chart string
			for p := range out {
				if strings.HasPrefix(p, "deploy/helm/") && filepath.Base(p) == "values.yaml" {
					chart = filepath.Dir(p)
				}
			}
			var values map[string]any
			if err := yaml.Unmarshal([]byte(out[chart+"/values.yaml"]), &values); err != nil {
				t.Fatal(err)
			}
			if len(helmSet.FindAllStringSubmatch(wf, -1)) == 0 {
				t.Fatal("kind.yml sets no chart values")
			}
			for _, name := range []string{"kind.yml", "deploy.yml"} {
				for _, m := range helmSet.FindAllStringSubmatch(out[".github/workflows/"+name], -1) {
					if !hasPath(values, m[1]) {
						t.Errorf("%s sets %s, which %s/values.yaml does not have", name, m[1], chart)
					}
				}
			}
			for _, want := range []string{"--set rollout.analysis.enabled=false", `--set-json 'rollout.steps=[{"weight": 10, "pause": ""}]'`, "kubectl argo rollouts promote"} {
				if !strings.Contains(wf, want) {
					t.Errorf("kind.yml lacks %q", want)
				}
			}
		})
	}
}

func hasPath(m map[string]any, path string) bool {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = mm[k]; !ok {
			return false
		}
	}
	return true
}
