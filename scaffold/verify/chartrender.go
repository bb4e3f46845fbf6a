package verify

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	v2util "helm.sh/helm/v4/pkg/chart/v2/util"
)

// prepareRender loads the staged chart and computes what
// `helm install --dry-run=client` renders it with: dependencies processed,
// values coalesced (cvals, also when what follows fails) and checked
// against values.schema.json, kubeVersion checked. It executes no template.
func prepareRender(staged string, vals map[string]any) (ch *chart.Chart, cvals, rv common.Values, err error) {
	ch, err = loader.Load(staged) // a fresh copy: rendering changes the chart's values
	if err != nil {
		return nil, nil, nil, err
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kubeVersion()
	if ch.Metadata.KubeVersion != "" && !v2util.IsCompatibleRange(ch.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return nil, nil, nil, fmt.Errorf("chart requires kubeVersion %s, incompatible with Kubernetes %s", ch.Metadata.KubeVersion, caps.KubeVersion.Version)
	}
	if err := v2util.ProcessDependencies(ch, vals); err != nil {
		return nil, nil, nil, err
	}
	cvals, err = chartutil.CoalesceValues(ch, vals)
	if err != nil {
		return nil, nil, nil, err
	}
	opts := common.ReleaseOptions{Name: ch.Name(), Namespace: renderNamespace, Revision: 1, IsInstall: true}
	rv, err = chartutil.ToRenderValuesWithSchemaValidation(ch, cvals, opts, caps, true)
	return ch, cvals, rv, err
}

// instrumentChart marks the text of the chart's manifest templates for
// templateMap (see instrumentTemplate) and returns their maps by the names
// Helm renders them under.
func instrumentChart(ch *chart.Chart) map[string]*templateMap {
	maps := map[string]*templateMap{}
	for _, t := range ch.Templates {
		if base := path.Base(t.Name); strings.HasPrefix(base, "_") || !isManifestName(base) {
			continue
		}
		key := path.Join(ch.Name(), t.Name)
		if data, m := instrumentTemplate(key, t.Data); m != nil {
			t.Data, maps[key] = data, m
		}
	}
	return maps
}

// renderChart turns one variant's outcome (the files the child rendered)
// into the rendering's objects, each knowing where its text came from, and
// places values that fail the chart's schema. staged is the chart's copy
// that stage made, dir its repository path.
func renderChart(r *Repo, ci *chartInfo, staged, dir, variant string, vals map[string]any, out chartOutcome) (*chartRender, []Finding, error) {
	ch, cvals, _, err := prepareRender(staged, vals)
	vf := newValuesFiles(r, dir, variant)
	// The schema is checked here rather than by Helm, so that every failing
	// value is a finding at its place and the rendering goes on: the
	// objects' own problems are reported in the same run.
	var schema []Finding
	if ch != nil && ch.Schema != nil && cvals != nil {
		schema = schemaFindings(ci.schema, cvals, vf)
	}
	if err != nil {
		return nil, schema, err
	}
	if out.Err != "" {
		return nil, schema, errors.New(out.Err)
	}
	maps := instrumentChart(ch)
	rd := &chartRender{Chart: ci, Variant: variant, values: vf}
	for _, key := range sortedKeys(out.Files) {
		base := path.Base(key)
		if strings.HasPrefix(base, "_") || base == "NOTES.txt" || !isManifestName(base) {
			continue
		}
		text := []byte(out.Files[key])
		m := maps[key]
		if m != nil {
			text = m.strip(text)
		}
		_, within, _ := strings.Cut(key, "/") // drop the chart name
		file := path.Join(dir, within)
		docs, _ := splitYAML(text) // YAML errors in rendered output are lint's
		for _, o := range newObjects(file, docs) {
			o.render, o.text, o.tmap = rd, text, m
			rd.Objects = append(rd.Objects, o)
		}
	}
	return rd, schema, nil
}
