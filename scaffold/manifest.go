package scaffold

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/semver"
)

// ManifestName is the file at a template's root that makes it a paved template.
const ManifestName = "paved.yaml"

// Manifest is a parsed paved.yaml.
type Manifest struct {
	Description string
	Delims      [2]string
	Questions   []Question
	Files       []FileRule
	// Rename maps a template path prefix to a templated output path, so a
	// template that is a working Go module can keep buildable directory names
	// (cmd/service) and still produce cmd/<Name>.
	Rename map[string]string
	// Exclude lists globs of template paths that are never written: stand-ins
	// that let the template compile in place.
	Exclude    []string
	Tasks      [][]string
	Migrations []Migration

	pos manifestPos // where its expressions and globs are, for template check

	templates *template.Template // the set every template of a render joins
	// eval bounds everything the manifest and the files evaluate; mu
	// guards it and which templates of the set are instrumented.
	mu           sync.Mutex
	eval         *evaluation
	instrumented map[*parse.Tree]bool
}

// QuestionType is the type of a question's answer.
type QuestionType string

const (
	TypeString QuestionType = "string"
	TypeBool   QuestionType = "bool"
	TypeInt    QuestionType = "int"
	TypeChoice QuestionType = "choice"
	TypeMulti  QuestionType = "multi"
)

// Question is one thing a template asks.
type Question struct {
	Name     string
	Help     string
	Type     QuestionType
	Default  any // a YAML scalar or list; strings are templates
	Validate *regexp.Regexp
	Choices  []string
	When     string // a template that must render "true" for the question to be asked
	Line     int    // where the question starts in paved.yaml
	// NewIn names the template version that added the question, when an
	// update asks it for the first time; prompts say so.
	NewIn string
}

// FileRule keeps the files matching Path only when When renders "true".
type FileRule struct {
	Path string
	When string
}

// Migration is a list of commands run when an update crosses Version.
type Migration struct {
	Version string
	Run     [][]string
}

// ManifestError is a problem at a place in paved.yaml.
type ManifestError struct {
	File string
	Line int
	Msg  string
}

func (e *ManifestError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

var identRE = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedNames are render data keys that answers must not shadow.
var reservedNames = []string{"Module", "Template", "Paved"}

// ParseManifest parses paved.yaml strictly: unknown keys and wrong types are
// errors naming the file, line and key.
func ParseManifest(file string, data []byte) (*Manifest, error) {
	p := &manifestParser{file: file}
	m, err := p.parse(data)
	if err != nil {
		return nil, err
	}
	return m, nil
}

type manifestParser struct{ file string }

func (p *manifestParser) errorf(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &ManifestError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (p *manifestParser) parse(data []byte) (*Manifest, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ManifestError{File: p.file, Msg: "empty manifest"}
		}
		return nil, p.yamlError(err)
	}
	m := &Manifest{Delims: [2]string{"{{", "}}"}, pos: manifestPos{
		filesPath: map[int]*yaml.Node{}, filesWhen: map[int]*yaml.Node{}, exclude: map[int]*yaml.Node{},
		renameFrom: map[string]*yaml.Node{}, renameTo: map[string]*yaml.Node{},
	}}
	root := doc.Content[0]
	err := p.mapping(root, "manifest", map[string]func(*yaml.Node) error{
		"description": func(n *yaml.Node) error { return p.str(n, "description", &m.Description) },
		"delims":      func(n *yaml.Node) error { return p.delims(n, &m.Delims) },
		"questions":   func(n *yaml.Node) error { return p.questions(n, m) },
		"files":       func(n *yaml.Node) error { return p.files(n, m) },
		"rename":      func(n *yaml.Node) error { return p.rename(n, m) },
		"exclude": func(n *yaml.Node) error {
			for i, e := range n.Content {
				m.pos.exclude[i] = e
			}
			return p.globs(n, "exclude", &m.Exclude)
		},
		"tasks":      func(n *yaml.Node) error { return p.commands(n, "tasks", &m.Tasks) },
		"migrations": func(n *yaml.Node) error { return p.migrations(n, m) },
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// yamlError turns a yaml syntax error ("yaml: line 3: ...") into file:line: msg.
func (p *manifestParser) yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if line, convErr := strconv.Atoi(num); convErr == nil {
				return &ManifestError{File: p.file, Line: line, Msg: tail}
			}
		}
	}
	return &ManifestError{File: p.file, Msg: msg}
}

// mapping calls the handler of each key of n and rejects unknown and repeated keys.
func (p *manifestParser) mapping(n *yaml.Node, what string, handlers map[string]func(*yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return p.errorf(n, "%s must be a mapping", what)
	}
	seen := map[string]bool{}
	for key, val := range yamlnode.Pairs(n) {
		h, ok := handlers[key.Value]
		if !ok {
			known := make([]string, 0, len(handlers))
			for k := range handlers {
				known = append(known, k)
			}
			slices.Sort(known)
			return p.errorf(key, "unknown key %q in %s (known: %s)", key.Value, what, strings.Join(known, ", "))
		}
		if seen[key.Value] {
			return p.errorf(key, "key %q repeated in %s", key.Value, what)
		}
		seen[key.Value] = true
		if err := h(val); err != nil {
			return err
		}
	}
	return nil
}

func (p *manifestParser) str(n *yaml.Node, key string, out *string) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return p.errorf(n, "%s must be a string", key)
	}
	*out = n.Value
	return nil
}

func (p *manifestParser) strList(n *yaml.Node, key string) ([]string, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errorf(n, "%s must be a list of strings", key)
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		var s string
		if err := p.str(c, key+" entry", &s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (p *manifestParser) delims(n *yaml.Node, out *[2]string) error {
	list, err := p.strList(n, "delims")
	if err != nil {
		return err
	}
	if len(list) != 2 || list[0] == "" || list[1] == "" {
		return p.errorf(n, "delims must be two non-empty strings, like [\"<%%\", \"%%>\"]")
	}
	*out = [2]string{list[0], list[1]}
	return nil
}

func (p *manifestParser) globs(n *yaml.Node, key string, out *[]string) error {
	list, err := p.strList(n, key)
	if err != nil {
		return err
	}
	for i, g := range list {
		if !doublestar.ValidatePattern(g) {
			return p.errorf(n.Content[i], "%s: invalid glob %q", key, g)
		}
	}
	*out = list
	return nil
}

func (p *manifestParser) commands(n *yaml.Node, key string, out *[][]string) error {
	if n.Kind != yaml.SequenceNode {
		return p.errorf(n, "%s must be a list of commands, each a list of strings", key)
	}
	for _, c := range n.Content {
		argv, err := p.strList(c, key+" command")
		if err != nil {
			return err
		}
		if len(argv) == 0 || argv[0] == "" {
			return p.errorf(c, "%s: empty command", key)
		}
		*out = append(*out, argv)
	}
	return nil
}

func (p *manifestParser) questions(n *yaml.Node, m *Manifest) error {
	if n.Kind != yaml.SequenceNode {
		return p.errorf(n, "questions must be a list")
	}
	names := map[string]bool{}
	for _, qn := range n.Content {
		q := Question{Type: TypeString, Line: qn.Line}
		pos := questionPos{node: qn}
		var validate string
		var validateNode *yaml.Node
		err := p.mapping(qn, "question", map[string]func(*yaml.Node) error{
			"name": func(v *yaml.Node) error { return p.str(v, "name", &q.Name) },
			"help": func(v *yaml.Node) error { return p.str(v, "help", &q.Help) },
			"type": func(v *yaml.Node) error {
				var t string
				if err := p.str(v, "type", &t); err != nil {
					return err
				}
				q.Type = QuestionType(t)
				switch q.Type {
				case TypeString, TypeBool, TypeInt, TypeChoice, TypeMulti:
					return nil
				}
				return p.errorf(v, "type %q is not one of string, bool, int, choice, multi", t)
			},
			"default": func(v *yaml.Node) error {
				pos.dflt = v
				var d any
				if err := v.Decode(&d); err != nil {
					return p.errorf(v, "default: %v", err)
				}
				q.Default = d
				return nil
			},
			"validate": func(v *yaml.Node) error {
				validateNode = v
				return p.str(v, "validate", &validate)
			},
			"choices": func(v *yaml.Node) error {
				c, err := p.strList(v, "choices")
				q.Choices = c
				return err
			},
			"when": func(v *yaml.Node) error {
				pos.when = v
				return p.str(v, "when", &q.When)
			},
		})
		if err != nil {
			return err
		}
		switch {
		case q.Name == "":
			return p.errorf(qn, "question without a name")
		case !identRE().MatchString(q.Name):
			return p.errorf(qn, "question name %q must be a Go identifier (letters, digits, _)", q.Name)
		case slices.Contains(reservedNames, q.Name):
			return p.errorf(qn, "question name %q is reserved for render data", q.Name)
		case names[q.Name]:
			return p.errorf(qn, "question %q asked twice", q.Name)
		}
		names[q.Name] = true
		if validate != "" {
			re, err := regexp.Compile(validate)
			if err != nil {
				return p.errorf(validateNode, "question %s: validate: %v", q.Name, err)
			}
			q.Validate = re
		}
		needsChoices := q.Type == TypeChoice || q.Type == TypeMulti
		if needsChoices && len(q.Choices) == 0 {
			return p.errorf(qn, "question %s: type %s needs choices", q.Name, q.Type)
		}
		if !needsChoices && len(q.Choices) > 0 {
			return p.errorf(qn, "question %s: choices only go with type choice or multi", q.Name)
		}
		m.Questions = append(m.Questions, q)
		m.pos.questions = append(m.pos.questions, pos)
	}
	return nil
}

func (p *manifestParser) files(n *yaml.Node, m *Manifest) error {
	if n.Kind != yaml.SequenceNode {
		return p.errorf(n, "files must be a list")
	}
	for _, fn := range n.Content {
		var r FileRule
		i := len(m.Files)
		err := p.mapping(fn, "files entry", map[string]func(*yaml.Node) error{
			"path": func(v *yaml.Node) error { m.pos.filesPath[i] = v; return p.str(v, "path", &r.Path) },
			"when": func(v *yaml.Node) error { m.pos.filesWhen[i] = v; return p.str(v, "when", &r.When) },
		})
		if err != nil {
			return err
		}
		if r.Path == "" || r.When == "" {
			return p.errorf(fn, "files entry needs both path and when")
		}
		if !doublestar.ValidatePattern(r.Path) {
			return p.errorf(fn, "files entry: invalid glob %q", r.Path)
		}
		m.Files = append(m.Files, r)
	}
	return nil
}

func (p *manifestParser) rename(n *yaml.Node, m *Manifest) error {
	if n.Kind != yaml.MappingNode {
		return p.errorf(n, "rename must be a mapping of template path to output path")
	}
	m.Rename = map[string]string{}
	for from, to := range yamlnode.Pairs(n) {
		var dst string
		if err := p.str(to, "rename target", &dst); err != nil {
			return err
		}
		if !validTemplatePath(from.Value) {
			return p.errorf(from, "rename: %q is not a relative path inside the template", from.Value)
		}
		m.Rename[from.Value] = dst
		m.pos.renameFrom[from.Value], m.pos.renameTo[from.Value] = from, to
	}
	return nil
}

func (p *manifestParser) migrations(n *yaml.Node, m *Manifest) error {
	if n.Kind != yaml.SequenceNode {
		return p.errorf(n, "migrations must be a list")
	}
	for _, mn := range n.Content {
		var mig Migration
		err := p.mapping(mn, "migration", map[string]func(*yaml.Node) error{
			"version": func(v *yaml.Node) error { return p.str(v, "version", &mig.Version) },
			"run":     func(v *yaml.Node) error { return p.commands(v, "run", &mig.Run) },
		})
		if err != nil {
			return err
		}
		if mig.Version == "" || len(mig.Run) == 0 {
			return p.errorf(mn, "migration needs a version and run commands")
		}
		if !semver.IsValid(mig.Version) {
			return p.errorf(mn, "migration version %q is not a semantic version like v2.0.0", mig.Version)
		}
		m.Migrations = append(m.Migrations, mig)
	}
	return nil
}

// validTemplatePath reports whether p is a clean, slash-separated relative path
// that stays inside the tree.
func validTemplatePath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return false
	}
	for elem := range strings.SplitSeq(p, "/") {
		if elem == "" || elem == "." || elem == ".." {
			return false
		}
	}
	return true
}
