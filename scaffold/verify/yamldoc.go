package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	goccy "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

// A yamlDoc is one document of a YAML stream; its nodes' positions are the
// stream's (line numbers are the file's).
type yamlDoc struct {
	Root *yaml.Node // the document's content (mapping, sequence or scalar)
}

// A posError is a message at a line (0: unknown) and column of a file.
type posError struct {
	Line, Col int
	Msg       string
}

// splitYAML reads the documents of a stream with yaml.v3's decoder, which
// keeps each node's position in the stream. Empty documents are dropped.
// A stream that does not parse yields the documents before the error and
// the error, placed by syntaxError.
func splitYAML(data []byte) ([]yamlDoc, []posError) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []yamlDoc
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, []posError{syntaxError(data, err)}
		}
		if n.Kind != yaml.DocumentNode || len(n.Content) == 0 {
			continue
		}
		root := n.Content[0]
		if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" && root.Value == "" {
			continue // an empty document
		}
		docs = append(docs, yamlDoc{Root: root})
	}
}

// parseYAML parses a file that holds one YAML document (a configuration).
// It returns nil and no error for an empty file.
func parseYAML(data []byte) (*yaml.Node, []posError) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, []posError{syntaxError(data, err)}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// syntaxError places a YAML syntax error that yaml.v3 found. yaml.v3's
// errors carry their line only in their text (and for some errors the line
// before the problem), so the position and message are those of goccy's
// parser, whose errors carry the offending token; yaml.v3's message at the
// file's start is the fallback when goccy accepts what yaml.v3 does not.
func syntaxError(data []byte, err error) posError {
	_, perr := parser.ParseBytes(data, 0)
	var se *goccy.SyntaxError
	if errors.As(perr, &se) && se.Token != nil {
		tk := se.Token
		if open := unclosedFlow(tk); open != nil && strings.ContainsAny(se.Message, "]}") {
			tk = open // the bracket left open says more than where it was noticed
		}
		return posError{Line: max(tk.Position.Line, 1), Col: max(tk.Position.Column, 1), Msg: se.Message}
	}
	return posError{Line: 1, Col: 1, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
}

// duplicateKeys reports every mapping key under n that repeats an earlier
// key of the same mapping (the API server rejects them, as
// fieldValidation=Strict does).
func duplicateKeys(n *yaml.Node, report func(dup, first *yaml.Node)) {
	if n == nil {
		return
	}
	if n.Kind == yaml.MappingNode {
		seen := map[string]*yaml.Node{}
		for _, k := range yamlnode.Keys(n) {
			if first, ok := seen[k.Value]; ok && k.Kind == yaml.ScalarNode {
				report(k, first)
			} else {
				seen[k.Value] = k
			}
		}
	}
	for _, c := range n.Content {
		duplicateKeys(c, report)
	}
}

// nodeJSON converts a node to JSON as Kubernetes tools convert YAML
// (sigs.k8s.io/yaml), by way of the node's own YAML text.
func nodeJSON(n *yaml.Node) ([]byte, error) {
	b, err := yaml.Marshal(n)
	if err != nil {
		return nil, err
	}
	js, err := sigsYAMLToJSON(b)
	if err != nil {
		return nil, fmt.Errorf("converting to JSON: %w", err)
	}
	return js, nil
}

// unclosedFlow returns the [ or { left open before tk, when tk is where
// the parser found a flow collection unterminated, or nil.
func unclosedFlow(tk *token.Token) *token.Token {
	depth := 0
	for t := tk.Prev; t != nil; t = t.Prev {
		switch t.Type {
		case token.SequenceEndType, token.MappingEndType:
			depth++
		case token.SequenceStartType, token.MappingStartType:
			if depth == 0 {
				return t
			}
			depth--
		}
	}
	return nil
}

// decodeFindings places the error of a strict yaml.v3 decode of file: a
// syntax error where it is, and each unknown field or wrong type at its
// line ("line N: ..." in a yaml.TypeError), without Go's type names.
func decodeFindings(file string, src []byte, err error) []Finding {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		pe := syntaxError(src, err)
		return []Finding{{Path: file, Line: max(pe.Line, 1), Col: max(pe.Col, 1), Message: pe.Msg}}
	}
	var out []Finding
	for _, msg := range te.Errors {
		line := 1
		if m := typeErrLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		msg = typeNameRE.ReplaceAllString(msg, "")
		out = append(out, Finding{Path: file, Line: line, Col: 1, Message: msg})
	}
	return out
}

var (
	typeErrLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)
	typeNameRE    = regexp.MustCompile(` in type [\w.\[\]*]+$`)
)
