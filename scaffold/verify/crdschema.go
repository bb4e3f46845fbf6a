package verify

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/module"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// The custom resources verify validates as the API server does, from the
// CRDs their projects publish in their Go module zips. paved's go.mod does
// not require those modules (they need a newer Go and pull in large
// trees); internal/gencrd extracts the served versions' OpenAPI schemas
// into schema/, and TestCRDSchemasFresh compares them with the zips when
// the module cache has them.

// A crdModule is a Go module whose zip carries CRDs.
type crdModule struct {
	Path    string   // module path
	Version string   // module version
	Files   []string // CRD files in the zip, relative to the module root
	Out     string   // the embedded file under schema/
}

// crdModules are the modules verify embeds CRD schemas from.
var crdModules = []crdModule{
	{
		Path: "github.com/argoproj/argo-rollouts", Version: "v1.10.2",
		Files: []string{
			"manifests/crds/analysis-run-crd.yaml",
			"manifests/crds/analysis-template-crd.yaml",
			"manifests/crds/cluster-analysis-template-crd.yaml",
			"manifests/crds/experiment-crd.yaml",
			"manifests/crds/rollout-crd.yaml",
		},
		Out: "argo-rollouts.crds.json",
	},
	{
		Path: "github.com/argoproj/argo-cd/v3", Version: "v3.6.1",
		Files: []string{
			"manifests/crds/application-crd.yaml",
			"manifests/crds/appproject-crd.yaml",
		},
		Out: "argo-cd.crds.json",
	},
}

// crdFile is the form of an embedded schema file: per CRD its group, kind,
// scope and the schema of each served version, descriptions removed (the
// API server does not validate with them).
type crdFile struct {
	Module string       `json:"module"` // path@version
	CRDs   []crdVersion `json:"crds"`
}

type crdVersion struct {
	Source  string                           `json:"source"` // file in the module zip
	Group   string                           `json:"group"`
	Kind    string                           `json:"kind"`
	Scope   string                           `json:"scope"`
	Version string                           `json:"version"`
	Schema  *apiextensionsv1.JSONSchemaProps `json:"schema"`
}

// CRDSchemaFile reads the CRDs of module m from its zip and returns the
// content of its embedded schema file.
func CRDSchemaFile(zipData []byte, m crdModule) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil {
		return nil, fmt.Errorf("%s@%s: %w", m.Path, m.Version, err)
	}
	prefix := m.Path + "@" + m.Version + "/"
	out := crdFile{Module: m.Path + "@" + m.Version}
	for _, name := range m.Files {
		i := slices.IndexFunc(zr.File, func(f *zip.File) bool { return f.Name == prefix+name })
		if i < 0 {
			return nil, fmt.Errorf("%s@%s: no %s in the module zip", m.Path, m.Version, name)
		}
		rc, err := zr.File[i].Open()
		if err != nil {
			return nil, err
		}
		src, err := io.ReadAll(io.LimitReader(rc, 64<<20))
		rc.Close()
		if err != nil {
			return nil, err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := sigsyaml.UnmarshalStrict(src, &crd); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			s := v.Schema.OpenAPIV3Schema
			stripDescriptions(s)
			out.CRDs = append(out.CRDs, crdVersion{Source: name, Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind,
				Scope: string(crd.Spec.Scope), Version: v.Name, Schema: s})
		}
	}
	slices.SortFunc(out.CRDs, func(a, b crdVersion) int {
		return strings.Compare(a.Group+"/"+a.Kind+"/"+a.Version, b.Group+"/"+b.Kind+"/"+b.Version)
	})
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// stripDescriptions removes the descriptions of a schema and of every
// schema within it.
func stripDescriptions(s *apiextensionsv1.JSONSchemaProps) {
	if s == nil {
		return
	}
	s.Description = ""
	for _, m := range []map[string]apiextensionsv1.JSONSchemaProps{s.Properties, s.PatternProperties, s.Definitions} {
		for k, v := range m {
			stripDescriptions(&v)
			m[k] = v
		}
	}
	for _, l := range [][]apiextensionsv1.JSONSchemaProps{s.AllOf, s.OneOf, s.AnyOf} {
		for i := range l {
			stripDescriptions(&l[i])
		}
	}
	stripDescriptions(s.Not)
	if s.Items != nil {
		stripDescriptions(s.Items.Schema)
		for i := range s.Items.JSONSchemas {
			stripDescriptions(&s.Items.JSONSchemas[i])
		}
	}
	for _, b := range []*apiextensionsv1.JSONSchemaPropsOrBool{s.AdditionalProperties, s.AdditionalItems} {
		if b != nil {
			stripDescriptions(b.Schema)
		}
	}
	for k, d := range s.Dependencies {
		stripDescriptions(d.Schema)
		s.Dependencies[k] = d
	}
}

// GenerateCRDSchemas reads each module's zip from the module cache
// modCache and returns the embedded schema files by name.
func GenerateCRDSchemas(modCache string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, m := range crdModules {
		zp, err := moduleZipPath(modCache, m)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(zp)
		if err != nil {
			return nil, err
		}
		b, err := CRDSchemaFile(data, m)
		if err != nil {
			return nil, err
		}
		out[m.Out] = b
	}
	return out, nil
}

// moduleZipPath is where the module cache keeps a module's zip.
func moduleZipPath(modCache string, m crdModule) (string, error) {
	esc, err := module.EscapePath(m.Path)
	if err != nil {
		return "", err
	}
	return filepath.Join(modCache, "cache", "download", filepath.FromSlash(esc), "@v", m.Version+".zip"), nil
}
