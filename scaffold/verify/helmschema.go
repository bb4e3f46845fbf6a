package verify

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// schemaFindings validates a rendering's coalesced values against the
// chart's values.schema.json as Helm does (the same library), and reports
// each failure at the key the user wrote: an unknown key at that key, a
// missing one at the map that lacks it, a wrong value at the value, each
// in the values file that sets it.
func schemaFindings(compile func() (*jsonschema.Schema, error), values map[string]any, vf *valuesFiles) []Finding {
	schemaFile := path.Join(vf.dir, "values.schema.json")
	sch, err := compile()
	if err != nil {
		return []Finding{{Path: schemaFile, Line: 1, Col: 1, Message: "values.schema.json: " + err.Error()}}
	}
	err = sch.Validate(values)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		if err != nil {
			return []Finding{{Path: schemaFile, Line: 1, Col: 1, Message: "values.schema.json: " + err.Error()}}
		}
		return nil
	}
	p := message.NewPrinter(language.English)
	var out []Finding
	for _, leaf := range schemaLeaves(ve) {
		loc := leaf.InstanceLocation
		msg := leaf.ErrorKind.LocalizedString(p)
		var keys []string
		if ap, ok := leaf.ErrorKind.(*kind.AdditionalProperties); ok {
			keys = ap.Properties
		}
		if len(keys) == 0 {
			keys = []string{""}
		}
		for _, k := range keys {
			at, shown := loc, loc
			text := msg
			if k != "" {
				at, shown = append(slices.Clone(loc), k), append(slices.Clone(loc), k)
				text = "unknown key (values.schema.json allows no other)"
			}
			f := Finding{Message: fmt.Sprintf("values: %s: %s", dotted(shown), text)}
			if pos, ok := vf.find(at); ok {
				f.Path, f.Line, f.Col = pos.File, pos.Line, pos.Col
				if k == "" && len(at) > 0 {
					f.Line, f.Col = pos.ValLine, pos.ValCol
				}
			} else {
				f.Path, f.Line, f.Col = path.Join(vf.dir, vf.order()[0]), 1, 1
			}
			out = append(out, f)
		}
	}
	return out
}

// compileValuesSchema compiles a chart's values.schema.json as Helm does,
// offline.
func compileValuesSchema(schemaJSON []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(offlineLoader{})
	if err := c.AddResource("file:///values.schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("file:///values.schema.json")
}

// schemaLeaves are the failures a validation error is made of: the errors
// without causes, and a failed oneOf or anyOf as a whole.
func schemaLeaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	switch e.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		// "none of the choices": the branches' own failures say less.
		return []*jsonschema.ValidationError{e}
	}
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, schemaLeaves(c)...)
	}
	return out
}

// dotted writes a values path as Helm users write it: image.tag, or
// "(the values)" for the root.
func dotted(p []string) string {
	if len(p) == 0 {
		return "(the values)"
	}
	return strings.Join(p, ".")
}

// offlineLoader refuses every schema reference outside values.schema.json:
// verify never reads the network or files outside the repository.
type offlineLoader struct{}

func (offlineLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s: verify reads no schema from outside the chart", url)
}
