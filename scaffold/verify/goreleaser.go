package verify

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/goreleaser/goreleaser/v2/pkg/config"
	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

// goreleaser loads .goreleaser.yaml with GoReleaser's own configuration
// package (github.com/goreleaser/goreleaser/v2/pkg/config, LoadReader: a
// strict load, unknown keys rejected, as `goreleaser check` does), and
// reports the keys that its types mark deprecated (their jsonschema
// "deprecated" tag, the same keys `goreleaser check` warns about), plus the
// two deprecations that check reports without a tag: dockers and
// docker_manifests giving way to dockers_v2, and an nfpm without a
// maintainer.
type goreleaser struct{}

func (goreleaser) Name() string { return "goreleaser" }

func (c goreleaser) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	return r.eachFile([]string{".goreleaser.yml", ".goreleaser.yaml", "goreleaser.yml", "goreleaser.yaml"}, func(f string, src []byte) ([]Finding, error) {
		return findingsIn(f, checkGoreleaser(src)), nil
	})
}

func checkGoreleaser(src []byte) []posError {
	root, errs := parseYAML(src)
	if len(errs) > 0 {
		return errs
	}
	if root == nil {
		return []posError{{Line: 1, Col: 1, Msg: "empty configuration"}}
	}
	// LoadReader only warns (on stderr) about another version and then
	// fails; say it here instead.
	var versioned struct {
		Version int `yaml:"version"`
	}
	_ = root.Decode(&versioned)
	if versioned.Version != 2 {
		n := yamlnode.Key(root, "version")
		if n == nil {
			n = root
		}
		return []posError{{Line: n.Line, Col: n.Column, Msg: fmt.Sprintf("version: %d: only version: 2 configurations are supported", versioned.Version)}}
	}
	// Every unknown key and mistyped value, each at its node; then
	// GoReleaser's own loader, for what only it knows.
	var strict []posError
	strictYAML(root, reflect.TypeFor[config.Project](), func(n *yaml.Node, msg string) {
		strict = append(strict, posError{Line: n.Line, Col: n.Column, Msg: msg})
	})
	proj, err := config.LoadReader(bytes.NewReader(src))
	if len(strict) > 0 {
		return strict
	}
	if err != nil {
		return []posError{{Line: root.Line, Col: root.Column, Msg: strings.ReplaceAll(strings.TrimPrefix(err.Error(), "yaml: "), "config.", "")}}
	}
	var out []posError
	deprecatedFields(reflect.TypeOf(proj), root, "", func(n *yaml.Node, p, note string) {
		msg := fmt.Sprintf("%s is deprecated (goreleaser check fails on it)", p)
		if note != "" && note != "true" {
			msg += ": " + note
		}
		out = append(out, posError{Line: n.Line, Col: n.Column, Msg: msg})
	})
	for _, key := range []string{"dockers", "docker_manifests"} {
		if k := yamlnode.Key(root, key); k != nil && !taggedDeprecated(reflect.TypeOf(proj), key) {
			out = append(out, posError{Line: k.Line, Col: k.Column, Msg: key + " is being phased out: use dockers_v2"})
		}
	}
	for i, n := range proj.NFPMs {
		if n.Maintainer == "" {
			item := yamlnode.Items(yamlnode.Value(root, "nfpms"))
			at := root
			if i < len(item) {
				at = item[i]
			}
			out = append(out, posError{Line: at.Line, Col: at.Column, Msg: "nfpms.maintainer should always be set"})
		}
	}
	return out
}

// taggedDeprecated reports whether a top-level key's field is tagged
// deprecated (then deprecatedFields has reported it).
func taggedDeprecated(t reflect.Type, key string) bool {
	f, ok := fieldByYAMLName(t, key)
	return ok && strings.Contains(f.Tag.Get("jsonschema"), "deprecated")
}

// deprecatedFields walks a YAML mapping alongside a Go struct type and
// reports the keys whose field is tagged jsonschema:"deprecated...".
func deprecatedFields(t reflect.Type, n *yaml.Node, prefix string, report func(n *yaml.Node, path, note string)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		for _, item := range yamlnode.Items(n) {
			deprecatedFields(t.Elem(), item, prefix, report)
		}
		return
	case reflect.Map:
		if n != nil && n.Kind == yaml.MappingNode {
			for _, v := range yamlnode.Values(n) {
				deprecatedFields(t.Elem(), v, prefix, report)
			}
		}
		return
	case reflect.Struct:
	default:
		return
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for k, v := range yamlnode.Pairs(n) {
		f, ok := fieldByYAMLName(t, k.Value)
		if !ok {
			continue
		}
		p := k.Value
		if prefix != "" {
			p = prefix + "." + k.Value
		}
		if tag := f.Tag.Get("jsonschema"); strings.Contains(tag, "deprecated") {
			note := ""
			for _, part := range strings.Split(tag, ",") {
				if v, ok := strings.CutPrefix(part, "deprecated="); ok {
					note = v
				}
			}
			report(k, p, note)
		}
		deprecatedFields(f.Type, v, p, report)
	}
}

// fieldByYAMLName finds the struct field a YAML key decodes into,
// looking through inline (embedded) fields.
func fieldByYAMLName(t reflect.Type, name string) (reflect.StructField, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		key, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			if g, ok := fieldByYAMLName(f.Type, name); ok {
				return g, true
			}
			continue
		}
		if key == "-" || !f.IsExported() {
			continue
		}
		if key == "" {
			key = strings.ToLower(f.Name)
		}
		if key == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
