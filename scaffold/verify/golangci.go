package verify

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// golangciSchema is golangci-lint's own configuration schema: the file
// jsonschema/golangci.next.jsonschema.json of the module
// github.com/golangci/golangci-lint/v2 at v2.15.0, which that version embeds
// and uses for `golangci-lint config verify` (draft 7). Copied unchanged;
// to update, copy the file of the newer version and rename it.
//
//go:embed schema/golangci.v2.15.0.jsonschema.json
var golangciSchema []byte

const golangciSchemaURL = "https://json.schemastore.org/golangci-lint.json"

// golangci validates the golangci-lint configuration against the v2 JSON
// schema, as `golangci-lint config verify` does.
type golangci struct{}

func (golangci) Name() string { return "golangci" }

var golangciCompiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(golangciSchema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	if err := c.AddResource(golangciSchemaURL, doc); err != nil {
		return nil, err
	}
	return c.Compile(golangciSchemaURL)
})

func (c golangci) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	files := r.Glob(".golangci.yml", ".golangci.yaml", ".golangci.json", ".golangci.toml")
	workflows := r.Glob(workflowFiles...)
	sch, err := golangciCompiled()
	if err != nil {
		return nil, fmt.Errorf("golangci-lint schema: %w", err)
	}
	var out []Finding
	add := func(f string, errs []posError) { out = append(out, findingsIn(f, errs)...) }
	configV2, ran := false, len(files) > 0
	for _, f := range files {
		src, err := r.Read(f)
		if err != nil {
			return nil, err
		}
		add(f, validateGolangci(sch, f, src))
		if path.Ext(f) == ".toml" {
			continue
		}
		if root, errs := parseYAML(src); len(errs) == 0 && root != nil {
			if v := yamlnode.Value(root, "version"); v != nil && v.Value == "2" {
				configV2 = true
				add(f, golangciNameProblems(root))
			}
		}
	}
	for _, f := range workflows {
		src, err := r.Read(f)
		if err != nil {
			return nil, err
		}
		if !bytes.Contains(src, []byte("golangci/golangci-lint-action@")) {
			continue
		}
		ran = true
		if root, errs := parseYAML(src); len(errs) == 0 {
			add(f, golangciActionProblems(root, configV2))
		}
	}
	if !ran {
		return nil, ErrNoInput
	}
	return out, nil
}

func validateGolangci(sch *jsonschema.Schema, name string, src []byte) []posError {
	var inst any
	var root *yaml.Node
	if path.Ext(name) == ".toml" {
		if _, err := toml.Decode(string(src), &inst); err != nil {
			return []posError{{Line: 1, Col: 1, Msg: "TOML: " + err.Error()}}
		}
		inst = normalizeJSONTypes(inst)
	} else {
		var errs []posError
		if root, errs = parseYAML(src); len(errs) > 0 {
			return errs
		}
		if root == nil {
			return []posError{{Line: 1, Col: 1, Msg: "empty configuration"}}
		}
		if err := root.Decode(&inst); err != nil {
			return []posError{{Line: root.Line, Col: root.Column, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
		}
		inst = normalizeJSONTypes(inst)
	}
	err := sch.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []posError{{Line: 1, Col: 1, Msg: err.Error()}}
	}
	p := message.NewPrinter(language.English)
	var out []posError
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		msg := fmt.Sprintf("%s: %s", jsonPointerToDots(e.InstanceLocation), e.ErrorKind.LocalizedString(p))
		if seen[msg] {
			return
		}
		seen[msg] = true
		pe := posError{Line: 1, Col: 1, Msg: msg}
		if root != nil {
			n := nodeAtPointer(root, e.InstanceLocation)
			if ap, ok := e.ErrorKind.(*kind.AdditionalProperties); ok && len(ap.Properties) > 0 {
				if k := yamlnode.Key(n, ap.Properties[0]); k != nil {
					n = k
				}
			}
			pe.Line, pe.Col = n.Line, n.Column
		} else if len(e.InstanceLocation) > 0 {
			pe.Line, pe.Col = findWord(src, e.InstanceLocation[len(e.InstanceLocation)-1])
		}
		out = append(out, pe)
	}
	walk(ve)
	return out
}

// nodeAtPointer follows a JSON-pointer-like list of tokens through a YAML
// tree; numeric tokens index sequences. It returns the value node, or the
// deepest node found.
func nodeAtPointer(root *yaml.Node, tokens []string) *yaml.Node {
	cur := root
	for _, t := range tokens {
		switch cur.Kind {
		case yaml.MappingNode:
			v := yamlnode.Value(cur, t)
			if v == nil {
				return cur
			}
			cur = v
		case yaml.SequenceNode:
			i, ok := atoi(t)
			if !ok || i >= len(cur.Content) {
				return cur
			}
			cur = cur.Content[i]
		default:
			return cur
		}
	}
	return cur
}

func jsonPointerToDots(tokens []string) string {
	if len(tokens) == 0 {
		return "(root)"
	}
	return strings.Join(tokens, ".")
}

// normalizeJSONTypes turns what YAML and TOML decoders produce into the
// types a JSON decoder would: map[string]any, []any, float64 or int.
func normalizeJSONTypes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeJSONTypes(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalizeJSONTypes(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalizeJSONTypes(e)
		}
		return x
	case []map[string]any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = normalizeJSONTypes(e)
		}
		return l
	case int64:
		return int(x)
	case uint64:
		return float64(x)
	default:
		return v
	}
}

// findWord returns the line and column of the first occurrence of w, or 1, 1.
func findWord(src []byte, w string) (int, int) {
	for i, l := range strings.Split(string(src), "\n") {
		if c := strings.Index(l, w); c >= 0 {
			return i + 1, c + 1
		}
	}
	return 1, 1
}
