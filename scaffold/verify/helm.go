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
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
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
	// A values file that does not parse is a finding of its own; the
	// others are linted and rendered, the defaults first, so that a
	// variant only adds what is its own.
	var job chartJob
	var values []map[string]any
	for _, variant := range variants {
		vals := map[string]any{}
		if variant != "" {
			src, err := r.Read(rel(variant))
			if err == nil {
				vals, err = common.ReadValues(src)
			}
			if err != nil {
				pe := syntaxError(src, err)
				addAt(rel(variant), pe.Line, pe.Col, "", "YAML: %s", pe.Msg)
				continue
			}
		}
		job.Variants = append(job.Variants, variant)
		values = append(values, vals)
	}
	job.Dir = abs
	outcomes, err := r.runChart(ctx, job)
	if err != nil {
		add(rel("Chart.yaml"), 1, "", "chart %s: %v", ci.Name, err)
		return ci
	}
	for i, variant := range job.Variants {
		out := outcomes[i]
		lintErr := false
		for _, m := range out.Lint {
			if m.Severity < support.WarningSev || isSchemaMessage(m.Err) {
				continue // schema failures are placed by schemaFindings
			}
			lintErr = lintErr || m.Severity >= support.ErrorSev
			file, line := lintPosition(dir, m.Path, m.Err)
			msg := strings.TrimPrefix(m.Err, "error: ")
			if m.Severity == support.WarningSev {
				msg = "warning: " + msg
			}
			addAt(file, line, 1, variant, "%s", msg)
		}
		rd, schema, err := renderChart(r, ci, abs, dir, variant, values[i], out)
		for _, f := range schema {
			addAt(f.Path, f.Line, f.Col, variant, "%s", f.Message)
		}
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
func isSchemaMessage(msg string) bool {
	return schemaErrRE.MatchString(msg)
}

var schemaErrRE = regexp.MustCompile(`(?m)^\s*- at '(/[^']*)?': `)

var fileLineRE = regexp.MustCompile(`((?:[\w.-]+/)*[\w.-]+\.(?:yaml|yml|tpl|txt|json)):(\d+)`)

// lintPosition places a lint message: its path within the chart, and a line
// when the message names one for that file.
func lintPosition(dir, msgPath, msg string) (string, int) {
	p := strings.TrimSuffix(msgPath, "/")
	file := path.Join(dir, p)
	if p == "templates" || p == "" {
		file = path.Join(dir, "Chart.yaml")
	}
	line := 1
	for _, sm := range fileLineRE.FindAllStringSubmatch(msg, -1) {
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
