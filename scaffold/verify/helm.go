package verify

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	v2util "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
)

// helm checks every chart (each Chart.yaml) with Helm's own lint package in
// strict mode (warnings count), renders it client-side with the default
// values and with each values-*.yaml beside them, decodes every rendered
// built-in object strictly into its Kubernetes type, evaluates every pod
// template at the restricted Pod Security Standard, and checks that probes
// target ports of the pod. Findings point into the chart's template files
// where the rendered line can be traced back.
type helm struct{}

func (helm) Name() string { return "helm" }

// chartInfo is one chart: its lint findings and its renderings.
type chartInfo struct {
	Dir      string // repository path of the chart directory
	Name     string
	Findings []Finding // lint, load and render problems (Check unset)
	Renders  []*chartRender
	schema   func() (*jsonschema.Schema, error) // values.schema.json, compiled once
}

// chartRender is one rendering of a chart: with the default values
// (Variant "") or with a values-*.yaml on top of them.
type chartRender struct {
	Chart   *chartInfo
	Variant string
	Objects []*kobject
	values  *valuesFiles // where the values of this rendering are set
}

// Release used for rendering: named after the chart, as the generated
// deploy workflow installs it.
const renderNamespace = "default"

// charts loads, lints and renders every chart of the repository, once.
func (r *Repo) charts(ctx context.Context) ([]*chartInfo, error) {
	return r.chartSet.get(ctx, func(ctx context.Context) ([]*chartInfo, error) {
		var out []*chartInfo
		for _, dir := range r.chartDirs() {
			out = append(out, r.loadChart(ctx, dir))
		}
		return out, nil
	})
}

// findChartDirs lists the directories of the repository's charts (each
// Chart.yaml not inside another chart).
func (r *Repo) findChartDirs() []string {
	var out []string
	for _, f := range r.Glob("**/Chart.yaml") {
		if dir := path.Dir(f); !isSubchart(dir) {
			out = append(out, dir)
		}
	}
	return out
}

// isSubchart reports whether a chart directory lies inside another chart
// (under its charts/ or templates/).
func isSubchart(dir string) bool {
	for _, seg := range strings.Split(dir, "/") {
		if seg == "charts" || seg == "templates" {
			return true
		}
	}
	return false
}

func (r *Repo) loadChart(ctx context.Context, dir string) *chartInfo {
	ci := &chartInfo{Dir: dir, Name: path.Base(dir)}
	rel := func(p string) string { return path.Join(dir, p) }
	addAt := func(file string, line, col int, variant, format string, args ...any) {
		ci.Findings = append(ci.Findings, Finding{Path: file, Line: max(line, 1), Col: max(col, 1), Message: fmt.Sprintf(format, args...), Variant: variant})
	}
	add := func(file string, line int, variant, format string, args ...any) {
		addAt(file, line, 1, variant, format, args...)
	}
	for _, l := range r.Links {
		if strings.HasPrefix(l, dir+"/") {
			add(l, 1, "", "symbolic link to a file outside the repository (or to nothing): verify loads the chart without it, Helm would read its target")
		}
	}
	// Helm's loader and linter read the chart from disk and follow links:
	// they get a copy of the chart's files as the repository holds them.
	abs, remove, err := r.stage(dir, nil)
	if err != nil {
		add(rel("Chart.yaml"), 1, "", "cannot copy the chart: %v", err)
		return ci
	}
	defer remove()
	ch, err := loader.Load(abs)
	if err != nil {
		// A YAML file of the chart that does not parse is the usual cause:
		// say where.
		for _, f := range []string{"Chart.yaml", "values.yaml"} {
			if src, rerr := r.Read(rel(f)); rerr == nil {
				var probe any
				if yerr := yaml.Unmarshal(src, &probe); yerr != nil {
					pe := syntaxError(src, yerr)
					addAt(rel(f), pe.Line, pe.Col, "", "cannot load chart: YAML: %s", pe.Msg)
					return ci
				}
			}
		}
		add(rel("Chart.yaml"), 1, "", "cannot load chart: %v", err)
		return ci
	}
	ci.Name = ch.Name()
	schemaJSON := ch.Schema
	ci.schema = sync.OnceValues(func() (*jsonschema.Schema, error) { return compileValuesSchema(schemaJSON) })

	variants := []string{""}
	for _, f := range r.Glob(dir+"/values-*.yaml", dir+"/values-*.yml") {
		variants = append(variants, path.Base(f))
	}
	// Lint and render every variant at once; report in order, the
	// defaults first, so that a variant only adds what is its own.
	type result struct {
		readErr error
		lint    support.Linter
		render  *chartRender
		schema  []Finding
		err     error
	}
	results := make([]result, len(variants))
	var wg sync.WaitGroup
	for i, variant := range variants {
		wg.Go(func() {
			res := &results[i]
			vals := map[string]any{}
			if variant != "" {
				b, err := r.Read(rel(variant))
				if err == nil {
					vals, err = common.ReadValues(b)
				}
				if err != nil {
					res.readErr = err
					return
				}
			}
			// helm lint --strict [-f values-X.yaml]
			res.lint = lint.RunAll(abs, vals, renderNamespace, lint.WithKubeVersion(kubeVersion()))
			res.render, res.schema, res.err = renderChart(ctx, r, ci, abs, dir, variant, vals)
		})
	}
	wg.Wait()
	for i, variant := range variants {
		res := results[i]
		if res.readErr != nil {
			src, _ := r.Read(rel(variant))
			pe := syntaxError(src, res.readErr)
			addAt(rel(variant), pe.Line, pe.Col, "", "YAML: %s", pe.Msg)
			continue
		}
		lintErr := false
		for _, m := range res.lint.Messages {
			if m.Severity < support.WarningSev || isSchemaMessage(m) {
				continue // schema failures are placed by schemaFindings
			}
			lintErr = lintErr || m.Severity >= support.ErrorSev
			file, line := lintPosition(dir, m)
			msg := strings.TrimPrefix(m.Err.Error(), "error: ")
			if m.Severity == support.WarningSev {
				msg = "warning: " + msg
			}
			addAt(file, line, 1, variant, "%s", msg)
		}
		for _, f := range res.schema {
			addAt(f.Path, f.Line, f.Col, variant, "%s", f.Message)
		}

		rd, err := res.render, res.err
		if err != nil {
			// Template errors are what lint reports as well; keep one.
			if !lintErr {
				add(rel("Chart.yaml"), 1, variant, "render: %v", err)
			}
			continue
		}
		ci.Renders = append(ci.Renders, rd)
	}
	return ci
}

// isSchemaMessage reports whether a lint message is Helm's values schema
// failure ("- at '/path': ..." lines), which verify reports itself, one
// finding per failing value.
func isSchemaMessage(m support.Message) bool {
	return schemaErrRE.MatchString(m.Err.Error())
}

var schemaErrRE = regexp.MustCompile(`(?m)^\s*- at '(/[^']*)?': `)

var fileLineRE = regexp.MustCompile(`((?:[\w.-]+/)*[\w.-]+\.(?:yaml|yml|tpl|txt|json)):(\d+)`)

// lintPosition places a lint message: its path within the chart, and a line
// when the message names one for that file.
func lintPosition(dir string, m support.Message) (string, int) {
	p := strings.TrimSuffix(m.Path, "/")
	file := path.Join(dir, p)
	if p == "templates" || p == "" {
		file = path.Join(dir, "Chart.yaml")
	}
	line := 1
	for _, sm := range fileLineRE.FindAllStringSubmatch(m.Err.Error(), -1) {
		name := sm[1]
		// Template errors name chartname/templates/x.yaml.
		if i := strings.Index(name, "templates/"); i >= 0 {
			f := path.Join(dir, name[i:])
			if n, err := strconv.Atoi(sm[2]); err == nil {
				return f, n
			}
		}
		if strings.HasSuffix(file, name) {
			if n, err := strconv.Atoi(sm[2]); err == nil {
				line = n
			}
		}
	}
	return file, line
}

// renderChart renders a chart as `helm install --dry-run=client` does:
// dependencies processed, values coalesced and checked against
// values.schema.json, kubeVersion checked, templates executed.
// staged is the chart's copy that stage made, dir its repository path.
func renderChart(ctx context.Context, r *Repo, ci *chartInfo, staged, dir, variant string, vals map[string]any) (*chartRender, []Finding, error) {
	ch, err := loader.Load(staged) // a fresh copy: rendering changes the chart's values
	if err != nil {
		return nil, nil, err
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kubeVersion()
	if ch.Metadata.KubeVersion != "" && !v2util.IsCompatibleRange(ch.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return nil, nil, fmt.Errorf("chart requires kubeVersion %s, incompatible with Kubernetes %s", ch.Metadata.KubeVersion, caps.KubeVersion.Version)
	}
	if err := v2util.ProcessDependencies(ch, vals); err != nil {
		return nil, nil, err
	}
	cvals, err := chartutil.CoalesceValues(ch, vals)
	if err != nil {
		return nil, nil, err
	}
	vf := newValuesFiles(r, dir, variant)
	// The schema is checked here rather than by Helm, so that every failing
	// value is a finding at its place and the rendering goes on: the
	// objects' own problems are reported in the same run.
	var schema []Finding
	if ch.Schema != nil {
		schema = schemaFindings(ci.schema, cvals, vf)
	}
	opts := common.ReleaseOptions{Name: ch.Name(), Namespace: renderNamespace, Revision: 1, IsInstall: true}
	rv, err := chartutil.ToRenderValuesWithSchemaValidation(ch, cvals, opts, caps, true)
	if err != nil {
		return nil, schema, err
	}
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
	var e engine.Engine
	files, err := e.RenderWithContext(ctx, ch, rv)
	if err != nil {
		return nil, schema, err
	}
	rd := &chartRender{Chart: ci, Variant: variant, values: vf}
	for _, key := range sortedKeys(files) {
		base := path.Base(key)
		if strings.HasPrefix(base, "_") || base == "NOTES.txt" {
			continue
		}
		if !isManifestName(base) {
			continue
		}
		text := []byte(files[key])
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

// isManifestName reports whether a template's output is Kubernetes objects.
func isManifestName(base string) bool {
	switch path.Ext(base) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// clientGoKubeVersion is the Kubernetes version of the k8s.io/client-go in
// go.mod (TestClientGoKubeVersion keeps it so), for builds whose build
// information lists no dependencies (test binaries before Go 1.27).
const clientGoKubeVersion = "v1.37.2"

// kubeVersion is the Kubernetes version charts are linted and rendered
// for: the one of the k8s.io/client-go paved is built with (v0.37.x ->
// v1.37.x), as Helm's own release builds set it.
var kubeVersion = sync.OnceValue(func() *common.KubeVersion {
	v := clientGoKubeVersion
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "k8s.io/client-go" && strings.HasPrefix(d.Version, "v0.") {
				v = "v1." + strings.TrimPrefix(d.Version, "v0.")
			}
		}
	}
	kv, err := common.ParseKubeVersion(v)
	if err != nil {
		kv, _ = common.ParseKubeVersion(clientGoKubeVersion)
	}
	return kv
})

func (c helm) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	charts, err := r.charts(ctx)
	if err != nil {
		return nil, err
	}
	if len(charts) == 0 {
		return nil, ErrNoInput
	}
	var out []Finding
	for _, ci := range charts {
		for _, f := range ci.Findings {
			f.Check = c.Name()
			out = append(out, f)
		}
		for _, rd := range ci.Renders {
			for _, o := range rd.Objects {
				out = append(out, checkBuiltin(c.Name(), o)...)
			}
		}
	}
	return out, nil
}

// checkBuiltin decodes a built-in object strictly and checks its pod
// template; custom resources are left to their own checks.
func checkBuiltin(check string, o *kobject) []Finding {
	obj := builtinObject(o.APIVersion, o.Kind)
	if obj == nil {
		return unknownBuiltin(check, o)
	}
	if fs := unknownBuiltin(check, o); len(fs) > 0 {
		return fs
	}
	out := decodeStrict(check, o, obj)
	if len(out) == 0 {
		out = apiValidation(check, o, obj)
	}
	return append(out, podChecks(check, o, obj)...)
}
