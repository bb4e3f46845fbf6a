package scaffold

import (
	"fmt"
	"strings"
)

// TemplateInfo is what `paved template list` shows of a template.
type TemplateInfo struct {
	Description string
	Questions   []QuestionInfo
}

// QuestionInfo is a question with its default as it renders.
type QuestionInfo struct {
	Name, Help, When string
	Type             QuestionType
	Choices          []string
	Default          string // rendered for ExampleModule, as the answers file would hold it
}

// DescribeTemplate reads a template's manifest and renders each default
// for ExampleModule (with the earlier defaults as answers), so a reader
// sees values, not template text.
func DescribeTemplate(t *Template, pavedVersion string) (*TemplateInfo, error) {
	m, err := ReadManifest(t.FS)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return &TemplateInfo{Description: "a plain Go module (no questions)"}, nil
	}
	answers, err := ResolveAnswers(m, RenderData(ExampleModule, t, pavedVersion), AnswerInput{})
	if err != nil {
		return nil, fmt.Errorf("defaults for module %s: %w", ExampleModule, err)
	}
	info := &TemplateInfo{Description: m.Description}
	for _, q := range m.Questions {
		d := answers[q.Name]
		s := fmt.Sprint(d)
		if list, ok := d.([]string); ok {
			s = strings.Join(list, ",")
		}
		info.Questions = append(info.Questions, QuestionInfo{Name: q.Name, Help: q.Help, When: q.When, Type: q.Type, Choices: q.Choices, Default: s})
	}
	return info, nil
}
