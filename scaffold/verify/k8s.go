package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	kjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// A kobject is one Kubernetes object, from a plain manifest or from a
// rendered chart.
type kobject struct {
	File       string  // repository path: the manifest, or the chart's template
	Doc        yamlDoc // the document; for a chart, lines are the rendered file's
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	Labels     map[string]string

	render *chartRender           // nil for a plain manifest
	text   []byte                 // the whole file (for a chart object, as rendered)
	tmap   *templateMap           // its origins (chart objects; nil when unknown)
	json   func() ([]byte, error) // the object as JSON, converted once
}

// GroupKind is "kind.group" ("Deployment.apps", "Service").
func (o *kobject) group() string {
	g, _, ok := strings.Cut(o.APIVersion, "/")
	if !ok {
		return ""
	}
	return g
}

// finding makes a finding at node n (nil: the object) of the object. For
// a rendered chart object it is placed where the user edits: at the value
// in the values file that set it when a value wrote n (or n's value, for a
// key), else at the template line that wrote it (see templateMap).
func (o *kobject) finding(check string, n *yaml.Node, format string, args ...any) Finding {
	return o.findingAt(check, n, false, format, args...)
}

// keyFinding is finding for a problem with the key n itself (an unknown
// or repeated field), which the key's value does not explain.
func (o *kobject) keyFinding(check string, n *yaml.Node, format string, args ...any) Finding {
	return o.findingAt(check, n, true, format, args...)
}

func (o *kobject) findingAt(check string, n *yaml.Node, keyOnly bool, format string, args ...any) Finding {
	f := Finding{Path: o.File, Check: check, Message: fmt.Sprintf(format, args...)}
	f.Path, f.Line, f.Col = o.at(n, keyOnly)
	if o.render != nil {
		f.Variant = o.render.Variant
	}
	return f
}

// at places node n of the object: in a plain manifest, where it is; in a
// rendered chart object, where its origin is.
func (o *kobject) at(n *yaml.Node, keyOnly bool) (string, int, int) {
	if n == nil {
		n = o.Doc.Root
	}
	if o.render == nil {
		return o.File, n.Line, n.Column
	}
	keys, value := renderedPath(o.Doc.Root, n)
	cands := []*yaml.Node{n}
	if !keyOnly && value != nil && value.Kind == yaml.ScalarNode {
		cands = []*yaml.Node{value, n}
	}
	for _, c := range cands {
		or, ok := o.tmap.at(offsetOf(o.text, c.Line, c.Column))
		if !ok {
			continue
		}
		if pos, ok := o.render.values.origin(or.paths, keys); ok {
			if c == n {
				return pos.File, pos.Line, pos.Col
			}
			if pos, ok := pos.holding(c.Value); ok {
				return pos.File, pos.ValLine, pos.ValCol
			}
		}
		return o.File, or.line, or.col
	}
	return o.File, 1, 1
}

// renderedPath returns the keys from root to n (a sequence element by its
// index) and, when n is a mapping key, its value.
func renderedPath(root, n *yaml.Node) ([]string, *yaml.Node) {
	var keys []string
	var value *yaml.Node
	var find func(cur *yaml.Node) bool
	find = func(cur *yaml.Node) bool {
		if cur == n {
			return true
		}
		for i, c := range cur.Content {
			if cur.Kind == yaml.MappingNode && i%2 == 0 && c == n {
				keys = append(keys, c.Value)
				value = cur.Content[i+1]
				return true
			}
			if find(c) {
				switch cur.Kind {
				case yaml.MappingNode:
					keys = append(keys, cur.Content[i-i%2].Value)
				case yaml.SequenceNode:
					keys = append(keys, strconv.Itoa(i))
				}
				return true
			}
		}
		return false
	}
	if root == nil || !find(root) {
		return nil, nil
	}
	slices.Reverse(keys)
	return keys, value
}

// describe names the object in messages: Deployment payments.
func (o *kobject) describe() string {
	if o.Name == "" {
		return o.Kind
	}
	return o.Kind + " " + o.Name
}

// newObjects reads the Kubernetes objects of a parsed YAML stream: every
// mapping document with apiVersion and kind.
func newObjects(file string, docs []yamlDoc) []*kobject {
	var out []*kobject
	for _, d := range docs {
		if d.Root.Kind != yaml.MappingNode {
			continue
		}
		var head struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Metadata   struct {
				Name      string            `yaml:"name"`
				Namespace string            `yaml:"namespace"`
				Labels    map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
		}
		if err := d.Root.Decode(&head); err != nil || head.APIVersion == "" || head.Kind == "" {
			continue
		}
		o := &kobject{File: file, Doc: d, APIVersion: head.APIVersion, Kind: head.Kind,
			Name: head.Metadata.Name, Namespace: head.Metadata.Namespace, Labels: head.Metadata.Labels}
		o.json = sync.OnceValues(func() ([]byte, error) { return nodeJSON(o.Doc.Root) })
		out = append(out, o)
	}
	return out
}

// decodeStrict decodes a document as Kubernetes does with
// fieldValidation=Strict: YAML to JSON with sigs.k8s.io/yaml, then
// sigs.k8s.io/json with unknown and duplicate fields rejected. It returns
// one finding per problem, at the offending field.
func decodeStrict(check string, o *kobject, into any, skipFields ...string) []Finding {
	var dups []Finding
	duplicateKeys(o.Doc.Root, func(dup, first *yaml.Node) {
		dups = append(dups, o.keyFinding(check, dup, "%s: duplicate field %q (first at line %d)", o.describe(), dup.Value, first.Line))
	})
	if len(dups) > 0 {
		return dups
	}
	js, err := o.json()
	if err != nil {
		return []Finding{o.finding(check, nil, "%s: %v", o.describe(), err)}
	}
	if len(skipFields) > 0 {
		var m map[string]json.RawMessage
		if json.Unmarshal(js, &m) == nil {
			for _, f := range skipFields {
				delete(m, f)
			}
			if b, err := json.Marshal(m); err == nil {
				js = b
			}
		}
	}
	strictErrs, err := kjson.UnmarshalStrict(js, into)
	var out []Finding
	if err != nil {
		out = append(out, typeErrorFinding(check, o, err))
	}
	for _, e := range strictErrs {
		fp, ok := e.(interface{ FieldPath() string })
		if !ok {
			out = append(out, o.finding(check, nil, "%s: %v", o.describe(), e))
			continue
		}
		n, _ := lookup(o.Doc.Root, parseFieldPath(fp.FieldPath()))
		kind := "unknown"
		if strings.HasPrefix(e.Error(), "duplicate") {
			kind = "duplicate"
		}
		out = append(out, o.keyFinding(check, n, "%s: %s field %q", o.describe(), kind, fp.FieldPath()))
	}
	return out
}

// typeErrorFinding places a JSON type error (a string where
// spec.template.spec.containers.ports.containerPort wants an int32) at the
// first field on that path whose YAML value has the wrong kind.
func typeErrorFinding(check string, o *kobject, err error) Finding {
	got, field, want, ok := unmarshalTypeError(err)
	if !ok {
		return o.finding(check, nil, "%s: %s", o.describe(), strings.TrimPrefix(err.Error(), "json: "))
	}
	var at *yaml.Node
	for _, n := range findAll(o.Doc.Root, strings.Split(field, ".")) {
		if jsonKind(n) == got {
			at = n
			break
		}
		if at == nil {
			at = n
		}
	}
	return o.finding(check, at, "%s: %s is %s, want %s", o.describe(), field, got, want)
}

// unmarshalTypeError reads the fields of sigs.k8s.io/json's
// UnmarshalTypeError (encoding/json's, in an internal package of that
// module, so known by its shape): the JSON kind found, the field path and
// the Go type wanted.
func unmarshalTypeError(err error) (got, field, want string, ok bool) {
	v := reflect.ValueOf(err)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct || v.Type().Name() != "UnmarshalTypeError" {
		return "", "", "", false
	}
	value, f, t := v.FieldByName("Value"), v.FieldByName("Field"), v.FieldByName("Type")
	if value.Kind() != reflect.String || f.Kind() != reflect.String || !t.IsValid() || t.IsNil() {
		return "", "", "", false
	}
	typ, isType := t.Interface().(reflect.Type)
	if !isType || f.String() == "" {
		return "", "", "", false
	}
	return value.String(), f.String(), typ.String(), true
}

// jsonKind is the JSON kind name ("string", "number", ...) of a YAML value
// as sigs.k8s.io/yaml converts it.
func jsonKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "array"
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		return "number"
	case "!!bool":
		return "bool"
	case "!!null":
		return "null"
	}
	return "string"
}

// builtinObject returns a new typed object for a built-in Kubernetes kind,
// or nil for a kind the client-go scheme does not know (a custom resource).
func builtinObject(apiVersion, kind string) runtime.Object {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil
	}
	obj, err := clientgoscheme.Scheme.New(gv.WithKind(kind))
	if err != nil {
		return nil
	}
	return obj
}

// manifestCandidates lists the YAML files that may hold Kubernetes
// manifests: every .yaml/.yml file outside charts and .github, other than
// configurations that other checks own.
func manifestCandidates(r *Repo) ([]string, error) {
	chartDirs := slices.Clone(r.chartDirs())
	// Chart sources that are themselves templates (Chart.yaml.tmpl in a
	// template repository) hold Helm templates too: not plain manifests.
	for _, f := range r.Glob("**/Chart.yaml.*") {
		chartDirs = append(chartDirs, path.Dir(f))
	}
	var out []string
	for _, f := range r.Glob("**/*.yaml", "**/*.yml") {
		if strings.HasPrefix(f, ".github/") || f == AnswersFile {
			continue
		}
		base := path.Base(f)
		if strings.HasPrefix(base, ".") || base == "Chart.yaml" || base == "Chart.lock" || strings.HasPrefix(base, "values") {
			continue
		}
		inChart := false
		for _, d := range chartDirs {
			if d == "." || strings.HasPrefix(f, d+"/") {
				inChart = true
				break
			}
		}
		if !inChart {
			out = append(out, f)
		}
	}
	return out, nil
}

// manifests are the plain (non-chart) Kubernetes objects of the
// repository, and the YAML errors of files that look like manifests.
type manifestSet struct {
	Objects []*kobject
	Errors  []Finding // with Check unset
}

// readManifests reads the plain manifests (Repo.manifests, once).
func (r *Repo) readManifests() (*manifestSet, error) {
	candidates, err := manifestCandidates(r)
	if err != nil {
		return nil, err
	}
	ms := &manifestSet{}
	for _, f := range candidates {
		src, err := r.Read(f)
		if err != nil {
			return nil, err
		}
		if !strings.Contains(string(src), "apiVersion") {
			continue
		}
		docs, perrs := splitYAML(src)
		for _, e := range perrs {
			ms.Errors = append(ms.Errors, Finding{Path: f, Line: e.Line, Col: max(e.Col, 1), Message: "YAML: " + e.Msg})
		}
		for _, o := range newObjects(f, docs) {
			o.text = src
			ms.Objects = append(ms.Objects, o)
		}
	}
	return ms, nil
}

// deploySets are the sets of objects deployed together: each rendering of
// each chart with the plain manifests beside it, or the plain manifests
// alone when there is no chart.
func deploySets(ctx context.Context, r *Repo) ([][]*kobject, error) {
	ms, err := r.manifests()
	if err != nil {
		return nil, err
	}
	charts, err := r.charts(ctx)
	if err != nil {
		return nil, err
	}
	var sets [][]*kobject
	for _, ch := range charts {
		for _, rd := range ch.Renders {
			sets = append(sets, append(slices.Clone(rd.Objects), ms.Objects...))
		}
	}
	if len(sets) == 0 {
		sets = [][]*kobject{ms.Objects}
	}
	return sets, nil
}

// allObjects returns the plain objects and those of every chart rendering.
func (r *Repo) allObjects(ctx context.Context) ([]*kobject, error) {
	ms, err := r.manifests()
	if err != nil {
		return nil, err
	}
	charts, err := r.charts(ctx)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(ms.Objects)
	for _, c := range charts {
		for _, rd := range c.Renders {
			out = append(out, rd.Objects...)
		}
	}
	return out, nil
}

// sigsYAMLToJSON is sigs.k8s.io/yaml's conversion, which the API server's
// clients use.
func sigsYAMLToJSON(b []byte) ([]byte, error) { return sigsyaml.YAMLToJSON(b) }
