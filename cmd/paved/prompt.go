package main

import (
	"fmt"
	"strconv"

	"github.com/AlecAivazis/survey/v2"

	"github.com/paved-dev/paved/scaffold"
)

// surveyPrompter asks questions on the terminal.
type surveyPrompter struct{}

func (surveyPrompter) Ask(q scaffold.Question, def any) (any, error) {
	msg := q.Name
	if q.Help != "" {
		msg = fmt.Sprintf("%s (%s)", q.Name, q.Help)
	}
	if q.NewIn != "" {
		msg = fmt.Sprintf("[new in %s] %s", q.NewIn, msg)
	}
	// Ask again until the answer passes the question's own rules.
	validate := survey.WithValidator(func(ans any) error {
		if o, ok := ans.(survey.OptionAnswer); ok {
			ans = o.Value
		}
		if list, ok := ans.([]survey.OptionAnswer); ok {
			items := make([]string, len(list))
			for i, o := range list {
				items[i] = o.Value
			}
			ans = items
		}
		_, err := q.Convert(ans)
		return err
	})
	switch q.Type {
	case scaffold.TypeBool:
		b, _ := def.(bool)
		err := survey.AskOne(&survey.Confirm{Message: msg, Default: b}, &b)
		return b, err
	case scaffold.TypeChoice:
		var s string
		err := survey.AskOne(&survey.Select{Message: msg, Options: q.Choices, Default: def}, &s)
		return s, err
	case scaffold.TypeMulti:
		var list []string
		err := survey.AskOne(&survey.MultiSelect{Message: msg, Options: q.Choices, Default: def}, &list)
		return list, err
	case scaffold.TypeInt:
		s := strconv.Itoa(def.(int))
		err := survey.AskOne(&survey.Input{Message: msg, Default: s}, &s, validate)
		return s, err
	default:
		s, _ := def.(string)
		err := survey.AskOne(&survey.Input{Message: msg, Default: s}, &s, validate)
		return s, err
	}
}
