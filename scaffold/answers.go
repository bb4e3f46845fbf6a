package scaffold

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/module"
)

// AnswersFileName is the record of what a repository was generated from.
const AnswersFileName = ".paved-answers.yaml"

// AnswersFile is the content of .paved-answers.yaml.
type AnswersFile struct {
	Template string         `yaml:"template"`
	Version  string         `yaml:"version"`
	Commit   string         `yaml:"commit,omitempty"` // full hash, for a git directory template
	Module   string         `yaml:"module"`
	Answers  map[string]any `yaml:"answers"`
	// Verify holds paved verify's settings for the repository (skip,
	// invariant-values); paved keeps it as the user wrote it.
	Verify yaml.Node `yaml:"verify,omitempty"`
}

// ParseAnswersFile reads .paved-answers.yaml strictly.
func ParseAnswersFile(name string, data []byte) (*AnswersFile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var af AnswersFile
	if err := dec.Decode(&af); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty answers file", name)
		}
		return nil, fmt.Errorf("%s: %s", name, yamlErrorLine(err))
	}
	if err := singleDocument(dec); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if af.Template == "" || af.Module == "" {
		return nil, fmt.Errorf("%s: template and module are required", name)
	}
	if err := module.CheckPath(af.Module); err != nil {
		return nil, fmt.Errorf("%s: module: %w", name, err)
	}
	if af.Commit != "" && !isHash(af.Commit) {
		return nil, fmt.Errorf("%s: commit %q is not a full commit hash", name, af.Commit)
	}
	return &af, nil
}

// yamlErrorLine is a YAML decoding error on one line, without Go type names.
func yamlErrorLine(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			msgs[i] = strings.ReplaceAll(e, " in type scaffold.AnswersFile", "")
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// singleDocument refuses a YAML stream with more than one document: paved
// would read the first and silently ignore the rest.
func singleDocument(dec *yaml.Decoder) error {
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return fmt.Errorf("line %d: a second YAML document; the file holds one", extra.Line)
	}
	return nil
}

func isHash(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}

// Marshal writes the answers file, answers in question order.
func (af *AnswersFile) Marshal(questions []Question) ([]byte, error) {
	answers := &yaml.Node{Kind: yaml.MappingNode}
	for _, name := range answerOrder(af.Answers, questions) {
		var v yaml.Node
		if err := v.Encode(af.Answers[name]); err != nil {
			return nil, fmt.Errorf("answer %s: %w", name, err)
		}
		answers.Content = append(answers.Content, scalar(name), &v)
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, HeadComment: "Written by paved. To change an answer, edit it here and run `paved update`:\nit re-renders with the new answer and merges the change (see .paved-lock)."}
	doc.Content = []*yaml.Node{
		scalar("template"), scalar(af.Template),
		scalar("version"), scalar(af.Version),
	}
	if af.Commit != "" {
		doc.Content = append(doc.Content, scalar("commit"), scalar(af.Commit))
	}
	doc.Content = append(doc.Content,
		scalar("module"), scalar(af.Module),
		scalar("answers"), answers,
	)
	if af.Verify.Kind != 0 {
		doc.Content = append(doc.Content, scalar("verify"), &af.Verify)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// answerOrder lists the answers' names: questions first in manifest order,
// then any others sorted.
func answerOrder(answers map[string]any, questions []Question) []string {
	var names []string
	for _, q := range questions {
		if _, ok := answers[q.Name]; ok {
			names = append(names, q.Name)
		}
	}
	var rest []string
	for name := range answers {
		if !slices.Contains(names, name) {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	return append(names, rest...)
}

// ParseAnswersInput reads a --answers file: a YAML mapping of question name to value.
func ParseAnswersInput(name string, data []byte) (map[string]any, error) {
	var m map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := singleDocument(dec); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// Prompter asks the user one question; def is the default answer, already
// typed. It returns the raw answer, which is converted and validated like any other.
type Prompter interface {
	Ask(q Question, def any) (any, error)
}

// AnswerInput is everything a user said about the answers.
type AnswerInput struct {
	Given    map[string]any // from --answers or a recorded answers file
	Set      []string       // KEY=VALUE, overriding Given
	Prompter Prompter       // nil: never prompt, take defaults
}

// ResolveAnswers answers every question of m, in order, from set values,
// given values, the prompter and defaults. data holds the render data that
// defaults and conditions may use (.Module, .Template, .Paved); answers are
// added to it as they are decided.
func ResolveAnswers(m *Manifest, data map[string]any, in AnswerInput) (map[string]any, error) {
	sets, err := parseSets(m, in.Set)
	if err != nil {
		return nil, err
	}
	for name := range in.Given {
		if m.question(name) == nil {
			return nil, fmt.Errorf("answer %s: the template has no such question (questions: %s)", name, m.questionNames())
		}
	}
	answers := map[string]any{}
	for _, q := range m.Questions {
		asked := true
		if q.When != "" {
			cond, err := renderString(m, "when of "+q.Name, q.When, data)
			if err != nil {
				return nil, err
			}
			asked = isTrue(cond)
		}
		var value any
		given, fromFile := in.Given[q.Name]
		switch raw, fromSet := sets[q.Name]; {
		case !asked && q.Type == TypeBool:
			value = false
		case !asked:
			value, err = q.defaultValue(m, data)
		case fromSet:
			value, err = q.Convert(raw)
		case fromFile:
			value, err = q.Convert(given)
		default:
			value, err = q.defaultValue(m, data)
			if err == nil && in.Prompter != nil {
				var raw any
				if raw, err = in.Prompter.Ask(q, value); err == nil {
					value, err = q.Convert(raw)
				}
			}
		}
		if err != nil {
			return nil, err
		}
		answers[q.Name] = value
		data[q.Name] = value
	}
	return answers, nil
}

func parseSets(m *Manifest, sets []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--set %q: want KEY=VALUE", kv)
		}
		if m.question(k) == nil {
			return nil, fmt.Errorf("--set %s: the template has no question %s (questions: %s)", kv, k, m.questionNames())
		}
		out[k] = v
	}
	return out, nil
}

func (m *Manifest) question(name string) *Question {
	for i := range m.Questions {
		if m.Questions[i].Name == name {
			return &m.Questions[i]
		}
	}
	return nil
}

func (m *Manifest) questionNames() string {
	if len(m.Questions) == 0 {
		return "none"
	}
	names := make([]string, len(m.Questions))
	for i, q := range m.Questions {
		names[i] = q.Name
	}
	return strings.Join(names, ", ")
}

// defaultValue is the question's default, rendered when it is a string.
func (q *Question) defaultValue(m *Manifest, data map[string]any) (any, error) {
	switch d := q.Default.(type) {
	case nil:
		return q.zero(), nil
	case string:
		s, err := renderString(m, "default of "+q.Name, d, data)
		if err != nil {
			return nil, err
		}
		return q.Convert(s)
	case []any:
		items := make([]any, len(d))
		for i, item := range d {
			s, ok := item.(string)
			if !ok {
				items[i] = item
				continue
			}
			r, err := renderString(m, "default of "+q.Name, s, data)
			if err != nil {
				return nil, err
			}
			items[i] = r
		}
		return q.Convert(items)
	default:
		return q.Convert(d)
	}
}

func (q *Question) zero() any {
	switch q.Type {
	case TypeBool:
		return false
	case TypeInt:
		return 0
	case TypeChoice:
		return q.Choices[0]
	case TypeMulti:
		return []string{}
	}
	return ""
}

// Convert turns a raw answer (a string from --set or a prompt, or a YAML
// value) into the question's type and checks its rules.
func (q *Question) Convert(raw any) (any, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("answer %s: %s", q.Name, fmt.Sprintf(format, args...))
	}
	switch q.Type {
	case TypeBool:
		switch v := raw.(type) {
		case bool:
			return v, nil
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return nil, bad("%q is not a bool (want true or false)", v)
			}
			return b, nil
		}
		return nil, bad("%v is not a bool (want true or false)", raw)
	case TypeInt:
		var n int
		switch v := raw.(type) {
		case int:
			n = v
		case string:
			var err error
			if n, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
				return nil, bad("%q is not an integer", v)
			}
		default:
			return nil, bad("%v is not an integer", raw)
		}
		return n, q.check(strconv.Itoa(n))
	case TypeMulti:
		var items []string
		switch v := raw.(type) {
		case string:
			for item := range strings.SplitSeq(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					items = append(items, item)
				}
			}
		case []string:
			items = v
		case []any:
			for _, item := range v {
				s, ok := item.(string)
				if !ok {
					return nil, bad("%v is not a string", item)
				}
				items = append(items, s)
			}
		default:
			return nil, bad("%v is not a list of choices", raw)
		}
		for _, item := range items {
			if !slices.Contains(q.Choices, item) {
				return nil, bad("%q is not one of the choices %s", item, strings.Join(q.Choices, ", "))
			}
		}
		if items == nil {
			items = []string{}
		}
		return items, nil
	default: // string, choice
		var s string
		switch v := raw.(type) {
		case string:
			s = v
		case int, bool, float64:
			s = fmt.Sprint(v)
		default:
			return nil, bad("%v is not a string", raw)
		}
		if q.Type == TypeChoice && !slices.Contains(q.Choices, s) {
			return nil, bad("%q is not one of the choices %s", s, strings.Join(q.Choices, ", "))
		}
		return s, q.check(s)
	}
}

// check applies the question's validate pattern.
func (q *Question) check(s string) error {
	if q.Validate != nil && !q.Validate.MatchString(s) {
		if q.Help != "" {
			return fmt.Errorf("answer %s: %q is not valid: want %s (pattern %s)", q.Name, s, q.Help, q.Validate)
		}
		return fmt.Errorf("answer %s: %q does not match validate pattern %s", q.Name, s, q.Validate)
	}
	return nil
}

func isTrue(s string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	return err == nil && b
}
