//go:build apiserver

package verify_test

// What a repository would send to a cluster: every chart rendered as
// `helm template --kube-version <server's> [-f values-X.yaml]` would render it
// (with Helm's Go API), once with the default values and once per
// values-*.yaml beside them, and every plain manifest (Istio, Chaos Mesh,
// Prometheus Operator, Argo CD resources) outside the charts.

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	v2util "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	sigsyaml "sigs.k8s.io/yaml"
)

// A manifestDoc is one YAML document bound for the server.
type manifestDoc struct {
	Source string // repository path; for a chart, the template and the values file
	Doc    []byte
}

// repoObjects collects the documents of the repository in dir; renderErrs
// are charts (and values files) that Helm refuses to render, which never
// reach a server.
func repoObjects(ctx context.Context, dir, namespace, kubeVersion string) (docs []manifestDoc, renderErrs []string, err error) {
	var charts, yamls []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			if p != dir && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "Chart.yaml")); err == nil {
				charts = append(charts, rel)
				return filepath.SkipDir // the chart is rendered, not read
			}
			return nil
		}
		if ext := path.Ext(rel); ext == ".yaml" || ext == ".yml" {
			yamls = append(yamls, rel)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, c := range charts {
		d, errs, err := renderChartDocs(ctx, dir, c, namespace, kubeVersion)
		if err != nil {
			return nil, nil, err
		}
		docs = append(docs, d...)
		renderErrs = append(renderErrs, errs...)
	}
	for _, f := range yamls {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return nil, nil, err
		}
		split, err := splitDocs(data)
		if err != nil {
			renderErrs = append(renderErrs, fmt.Sprintf("%s: YAML: %v", f, err))
			continue
		}
		for _, doc := range split {
			var head objectHead
			if sigsyaml.Unmarshal(doc, &head) != nil || head.APIVersion == "" || head.Kind == "" {
				if looksLikeObject(doc) {
					// A broken object (kubectl would refuse the file).
					docs = append(docs, manifestDoc{Source: f, Doc: doc})
				}
				continue // some other YAML file (workflow, config)
			}
			docs = append(docs, manifestDoc{Source: f, Doc: doc})
		}
	}
	return docs, renderErrs, nil
}

// looksLikeObject reports whether a document that did not decode as an
// object still starts like one.
func looksLikeObject(doc []byte) bool {
	s := string(doc)
	return strings.Contains(s, "\napiVersion:") || strings.HasPrefix(s, "apiVersion:")
}

// renderChartDocs renders the chart in dir/chartRel with its default values
// and with each values-*.yaml, as `helm template` does for release NAME (the
// chart's name, as the generated deploy workflow names it) in namespace.
func renderChartDocs(ctx context.Context, dir, chartRel, namespace, kubeVersion string) (docs []manifestDoc, renderErrs []string, err error) {
	abs := filepath.Join(dir, filepath.FromSlash(chartRel))
	variants := []string{""}
	for _, pat := range []string{"values-*.yaml", "values-*.yml"} {
		m, _ := filepath.Glob(filepath.Join(abs, pat))
		for _, f := range m {
			variants = append(variants, filepath.Base(f))
		}
	}
	slices.Sort(variants[1:])
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		return nil, nil, err
	}
	for _, variant := range variants {
		label := "default values"
		vals := map[string]any{}
		if variant != "" {
			label = variant
			v, err := common.ReadValuesFile(filepath.Join(abs, variant))
			if err != nil {
				renderErrs = append(renderErrs, fmt.Sprintf("%s/%s: %v", chartRel, variant, err))
				continue
			}
			vals = v
		}
		files, err := renderChart(ctx, abs, vals, namespace, kv)
		if err != nil {
			renderErrs = append(renderErrs, fmt.Sprintf("%s (%s): helm template: %v", chartRel, label, err))
			continue
		}
		for _, name := range sortedNames(files) {
			base := path.Base(name)
			if strings.HasPrefix(base, "_") || base == "NOTES.txt" {
				continue
			}
			split, err := splitDocs([]byte(files[name]))
			_, within, _ := strings.Cut(name, "/")
			src := fmt.Sprintf("%s/%s (%s)", chartRel, within, label)
			if err != nil {
				renderErrs = append(renderErrs, fmt.Sprintf("%s: rendered YAML: %v", src, err))
				continue
			}
			for _, doc := range split {
				docs = append(docs, manifestDoc{Source: src, Doc: doc})
			}
		}
	}
	return docs, renderErrs, nil
}

// renderChart is `helm template NAME CHART --namespace NS --kube-version V
// -f VALUES`: values coalesced and checked against values.schema.json, the
// chart's kubeVersion constraint checked, every template executed.
func renderChart(ctx context.Context, abs string, vals map[string]any, namespace string, kv *common.KubeVersion) (map[string]string, error) {
	ch, err := loader.Load(abs)
	if err != nil {
		return nil, err
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	if ch.Metadata.KubeVersion != "" && !v2util.IsCompatibleRange(ch.Metadata.KubeVersion, kv.String()) {
		return nil, fmt.Errorf("chart requires kubeVersion %s, incompatible with %s", ch.Metadata.KubeVersion, kv.String())
	}
	if err := v2util.ProcessDependencies(ch, vals); err != nil {
		return nil, err
	}
	cvals, err := chartutil.CoalesceValues(ch, vals)
	if err != nil {
		return nil, err
	}
	opts := common.ReleaseOptions{Name: ch.Name(), Namespace: namespace, Revision: 1, IsInstall: true}
	rv, err := chartutil.ToRenderValuesWithSchemaValidation(ch, cvals, opts, caps, false)
	if err != nil {
		return nil, err
	}
	var e engine.Engine
	return e.RenderWithContext(ctx, ch, rv)
}

func sortedNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
