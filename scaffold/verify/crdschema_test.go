package verify

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// TestCRDSchemasFresh regenerates the embedded CRD schemas from the
// modules' zips, when the module cache has them, and compares.
func TestCRDSchemasFresh(t *testing.T) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skip("no go command")
	}
	modCache := strings.TrimSpace(string(out))
	for _, m := range crdModules {
		zp, err := moduleZipPath(modCache, m)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(zp)
		if err != nil {
			t.Skipf("%s@%s is not in the module cache (go mod download -json %s@%s)", m.Path, m.Version, m.Path, m.Version)
		}
		got, err := CRDSchemaFile(data, m)
		if err != nil {
			t.Fatal(err)
		}
		want, err := crdSchemaFS.ReadFile("schema/" + m.Out)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("schema/%s is stale: go run ./scaffold/verify/internal/gencrd scaffold/verify/schema", m.Out)
		}
	}
}

// TestCRDSchemasHaveNoCreateRules: verify does not run CEL rules, because
// the embedded CRDs' only rules are transition rules (they read oldSelf),
// which the API server evaluates on update only. A rule that applies on
// create would be missed, so this fails when one appears.
func TestCRDSchemasHaveNoCreateRules(t *testing.T) {
	rules := 0
	var walk func(where string, s *apiextensionsv1.JSONSchemaProps)
	walk = func(where string, s *apiextensionsv1.JSONSchemaProps) {
		if s == nil {
			return
		}
		for _, r := range s.XValidations {
			rules++
			if !strings.Contains(r.Rule, "oldSelf") {
				t.Errorf("%s: CEL rule %q applies on create: verify must evaluate it", where, r.Rule)
			}
		}
		for k, p := range s.Properties {
			walk(where+"."+k, &p)
		}
		if s.Items != nil {
			walk(where+"[]", s.Items.Schema)
		}
		if s.AdditionalProperties != nil {
			walk(where+"{}", s.AdditionalProperties.Schema)
		}
	}
	for _, m := range crdModules {
		b, err := crdSchemaFS.ReadFile("schema/" + m.Out)
		if err != nil {
			t.Fatal(err)
		}
		var f crdFile
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		for _, c := range f.CRDs {
			walk(c.Kind, c.Schema)
		}
	}
	if rules == 0 {
		t.Fatal("no CEL rule found at all: the walk is broken (Rollout has one)")
	}
}

// TestCRDTypes: every embedded CRD builds into a validator.
func TestCRDTypes(t *testing.T) {
	types, err := crdTypes()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Rollout", "AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun", "Experiment", "Application", "AppProject"} {
		if len(crdKinds(types, "argoproj.io")[k]) == 0 {
			t.Errorf("no embedded CRD for %s", k)
		}
	}
	for gvk, e := range types {
		if _, err := e.build(); err != nil {
			t.Errorf("%s: %v", gvk, err)
		}
	}
}
