package verify

import (
	"bytes"
	"context"
	"fmt"
	"go/version"
	"path"
	"reflect"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/modfile"
)

// consistency checks what several files must agree on: the Go version of
// go.mod, of the Dockerfiles' golang builder images and of the workflows'
// setup-go steps; and, in each chart, the values that per-environment
// values files must not change (security contexts, the TLS minimum
// version, the image repository; configurable with verify.invariant-values
// in .paved-answers.yaml).
type consistency struct{}

func (consistency) Name() string { return "consistency" }

func (c consistency) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	var out []Finding
	ran := false
	if r.Exists("go.mod") {
		ran = true
		fs, err := goVersionAgreement(r)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	charts, err := r.charts(ctx)
	if err != nil {
		return nil, err
	}
	for _, ch := range charts {
		variants := r.Glob(ch.Dir+"/values-*.yaml", ch.Dir+"/values-*.yml")
		if len(variants) == 0 || !r.Exists(ch.Dir+"/values.yaml") {
			continue
		}
		ran = true
		fs, err := valuesDrift(r, ch.Dir+"/values.yaml", variants)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	if !ran {
		return nil, ErrNoInput
	}
	return out, nil
}

// goVersionAgreement compares go.mod with the golang builder images and
// the setup-go steps.
func goVersionAgreement(r *Repo) ([]Finding, error) {
	src, err := r.Read("go.mod")
	if err != nil {
		return nil, err
	}
	mf, err := parseGoMod("go.mod", src)
	if err != nil {
		return []Finding{{Path: "go.mod", Line: 1, Col: 1, Message: err.Error()}}, nil //nolint:nilerr // a go.mod that does not parse is a finding
	}
	if mf.Go == nil {
		return nil, nil
	}
	// The one Go version: the toolchain line when there is one (it is what
	// go and setup-go's go-version-file use), else the go line.
	minimum, want, exact := goModVersion(mf)
	var out []Finding
	check := func(file string, line, col int, got, where string) {
		if msg := goVersionProblem(got, minimum, exact); msg != "" {
			out = append(out, Finding{Path: file, Line: line, Col: col, Message: fmt.Sprintf("%s %s %s (%s)", where, got, msg, want)})
		}
	}

	for _, f := range r.dockerfiles() {
		b, err := r.Read(f)
		if err != nil {
			return nil, err
		}
		ast, err := parser.Parse(bytes.NewReader(b))
		if err != nil {
			continue
		}
		stages, _, err := instructions.Parse(ast.AST, nil)
		if err != nil {
			continue
		}
		for _, s := range stages {
			tag, ok := golangImageTag(s.BaseName)
			if !ok {
				continue
			}
			line := 1
			if len(s.Location) > 0 {
				line = s.Location[0].Start.Line
			}
			check(f, line, 1, goVersionFromTag(tag), "builder image golang")
		}
	}

	for _, f := range r.Glob(workflowFiles...) {
		b, err := r.Read(f)
		if err != nil {
			return nil, err
		}
		w, _ := actionlint.Parse(b)
		if w == nil {
			continue
		}
		for _, id := range sortedKeys(w.Jobs) {
			for _, st := range w.Jobs[id].Steps {
				ex, ok := st.Exec.(*actionlint.ExecAction)
				if !ok || ex.Uses == nil {
					continue
				}
				u, err := parseUses(ex.Uses.Value)
				if err != nil || u.Owner != "actions" || u.Repo != "setup-go" {
					continue
				}
				if in := ex.Inputs["go-version"]; in != nil && in.Value != nil && !strings.Contains(in.Value.Value, "${{") {
					check(f, in.Value.Pos.Line, in.Value.Pos.Col, in.Value.Value, "setup-go go-version")
				}
				if in := ex.Inputs["go-version-file"]; in != nil && in.Value != nil && !strings.Contains(in.Value.Value, "${{") {
					name := path.Clean(strings.TrimPrefix(in.Value.Value, "./"))
					if !r.Exists(name) {
						out = append(out, Finding{Path: f, Line: in.Value.Pos.Line, Col: in.Value.Pos.Col,
							Message: fmt.Sprintf("setup-go go-version-file %s does not exist", in.Value.Value)})
						continue
					}
					if path.Base(name) != "go.mod" || name == "go.mod" {
						continue
					}
					// Another module's go.mod (tools/go.mod): its version must be the same.
					if b, err := r.Read(name); err == nil {
						if omf, err := parseGoMod(name, b); err == nil && omf.Go != nil {
							if v, _, _ := goModVersion(omf); goVersionProblem(v, minimum, exact) != "" {
								check(f, in.Value.Pos.Line, in.Value.Pos.Col, v, "setup-go go-version-file "+name+" names Go")
							}
						}
					}
				}
			}
		}
	}
	return out, nil
}

// golangImageTag returns the tag of an official golang image reference.
func golangImageTag(name string) (string, bool) {
	ref, err := reference.ParseNormalizedNamed(name)
	if err != nil || reference.FamiliarName(ref) != "golang" {
		return "", false
	}
	t, ok := ref.(reference.Tagged)
	if !ok {
		return "", false
	}
	return t.Tag(), true
}

// goVersionFromTag returns the Go version at the start of an image tag or
// a setup-go version ("1.26.8-bookworm" -> "1.26.8", "1.26-alpine" ->
// "1.26", "1.27rc1" -> "1.27rc1", "1.26.x" -> "1.26.x"); the input itself
// when it has none.
func goVersionFromTag(tag string) string {
	v, _, _ := strings.Cut(tag, "-")
	if _, ok := goVersion(v); ok {
		return v
	}
	return tag
}

// goVersion is a Go version in go/version's form ("1.27.3" -> "go1.27.3";
// setup-go's "1.27.x" -> "go1.27", a release line), and whether it names
// a Go release at all.
func goVersion(s string) (string, bool) {
	v := "go" + strings.TrimPrefix(strings.TrimSuffix(s, ".x"), "go")
	return v, version.IsValid(v)
}

// parseGoMod parses a main module's go.mod (ParseLax would drop its
// toolchain line), and failing that leniently, as a dependency's.
func parseGoMod(name string, src []byte) (*modfile.File, error) {
	if mf, err := modfile.Parse(name, src, nil); err == nil {
		return mf, nil
	}
	return modfile.ParseLax(name, src, nil)
}

// goModVersion is a go.mod's Go version, how to name it in messages, and
// whether it is exact: the toolchain line's when there is one (the Go that
// go and setup-go's go-version-file then use), else the go line's, which
// is a minimum.
func goModVersion(mf *modfile.File) (string, string, bool) {
	if mf.Toolchain != nil && strings.HasPrefix(mf.Toolchain.Name, "go") {
		v := strings.TrimPrefix(mf.Toolchain.Name, "go")
		return v, "go.mod's toolchain go" + v, true
	}
	return mf.Go.Version, "go.mod's go " + mf.Go.Version, false
}

// goVersionProblem says how a Go version (an image tag's 1.27 or 1.27.3,
// setup-go's 1.27.x, stable) disagrees with go.mod's, or "". A version
// without a patch (1.27, 1.27.x) is compared on its release line only;
// with one, it must be the same release as an exact want (a toolchain
// line), and not older than a minimum (a go line). go/version orders
// release candidates before their release (1.27rc1 < 1.27.0).
func goVersionProblem(got, want string, exact bool) string {
	g, ok := goVersion(got)
	if !ok {
		return "does not name a Go release: use go-version-file: go.mod or an exact version"
	}
	w, ok := goVersion(want)
	if !ok {
		return ""
	}
	wantLang := strings.TrimPrefix(version.Lang(w), "go")
	if version.Lang(g) != version.Lang(w) {
		return "is another Go release line than " + wantLang
	}
	// A release line (1.27, 1.27.x) says nothing of the patch.
	if g == version.Lang(g) || w == version.Lang(w) {
		return ""
	}
	switch c := version.Compare(g, w); {
	case exact && c != 0:
		return "is not " + strings.TrimPrefix(w, "go")
	case !exact && c < 0:
		return "is older than " + strings.TrimPrefix(w, "go")
	}
	return ""
}

// valuesDrift reports per-environment values files that change an
// invariant value.
func valuesDrift(r *Repo, base string, variants []string) ([]Finding, error) {
	bsrc, err := r.Read(base)
	if err != nil {
		return nil, err
	}
	var bval map[string]any
	if err := yaml.Unmarshal(bsrc, &bval); err != nil {
		return nil, nil //nolint:nilerr // helm lint reports it
	}
	var out []Finding
	for _, v := range variants {
		src, err := r.Read(v)
		if err != nil {
			return nil, err
		}
		var doc yaml.Node
		var vval map[string]any
		if yaml.Unmarshal(src, &doc) != nil || yaml.Unmarshal(src, &vval) != nil || len(doc.Content) == 0 {
			continue
		}
		merged := coalesce(bval, vval)
		for _, key := range r.Config.InvariantValues {
			keys := strings.Split(key, ".")
			if yamlnode.At(doc.Content[0], keys...) == nil && !setsParent(doc.Content[0], keys) {
				continue
			}
			want, got := valueAt(bval, keys), valueAt(merged, keys)
			if reflect.DeepEqual(want, got) {
				continue
			}
			var pe []pathElem
			for _, k := range keys {
				pe = append(pe, pathElem{Key: k, Index: -1})
			}
			n, _ := lookup(doc.Content[0], pe)
			out = append(out, Finding{Path: v, Line: n.Line, Col: n.Column, Message: fmt.Sprintf(
				"%s changes %s from %s: it must be the same in every environment (verify.invariant-values in %s)",
				path.Base(v), key, path.Base(base), AnswersFile)})
		}
	}
	return out, nil
}

// setsParent reports whether a values file sets a prefix of keys to
// something that is not a mapping (e.g. image: "x" replacing image.repository).
func setsParent(root *yaml.Node, keys []string) bool {
	for i := 1; i < len(keys); i++ {
		if n := yamlnode.At(root, keys[:i]...); n != nil && n.Kind != yaml.MappingNode {
			return true
		}
	}
	return false
}

func valueAt(m map[string]any, keys []string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

// coalesce overlays values as Helm does: mappings merge, anything else
// replaces, null deletes.
func coalesce(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if v == nil {
			delete(out, k)
			continue
		}
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = coalesce(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}
