package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/paved-dev/paved/scaffold"
)

// errPromptInterrupted is Ctrl-C (or Ctrl-D on an empty line) at a prompt:
// the terminal is raw while paved reads a line, so no SIGINT comes.
var errPromptInterrupted = errors.New("interrupted at a prompt")

// terminalPrompter asks the template's questions on the terminal: stdin,
// put in raw mode for x/term's line editor while a line is read, and
// stderr. Choices are numbered; an answer is a number or the choice itself.
//
// It is x/term rather than a prompt library on purpose: a library's
// package initialisation (terminal tables, colour maps, x/text's language
// tables) runs at every start of paved, `paved version` included, whether
// or not anything is asked.
type terminalPrompter struct{}

func (terminalPrompter) Ask(q scaffold.Question, def any) (answer any, err error) {
	fd := int(os.Stdin.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	defer func() {
		if restoreErr := term.Restore(fd, state); err == nil && restoreErr != nil {
			err = fmt.Errorf("restoring the terminal: %w", restoreErr)
		}
	}()
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{os.Stdin, os.Stderr}, "")
	return ask(func(prompt string) (string, error) {
		t.SetPrompt(prompt)
		line, err := t.ReadLine()
		if errors.Is(err, io.EOF) {
			return "", errPromptInterrupted
		}
		return line, err
	}, t, q, def)
}

// ask asks q until its answer passes the question's own rules, reading
// lines with readLine and writing the question and what was wrong to w.
// An empty line takes the default.
func ask(readLine func(prompt string) (string, error), w io.Writer, q scaffold.Question, def any) (any, error) {
	msg := q.Name
	if q.Help != "" {
		msg = fmt.Sprintf("%s (%s)", q.Name, q.Help)
	}
	if q.NewIn != "" {
		msg = fmt.Sprintf("[new in %s] %s", q.NewIn, msg)
	}
	fmt.Fprintln(w, msg)
	if q.Type == scaffold.TypeChoice || q.Type == scaffold.TypeMulti {
		for i, c := range q.Choices {
			fmt.Fprintf(w, "  %d) %s\n", i+1, c)
		}
	}
	prompt := "> "
	if d := defaultText(q, def); d != "" {
		prompt = "[" + d + "] > "
	}
	for {
		line, err := readLine(prompt)
		if err != nil {
			return nil, err
		}
		raw, err := parseAnswer(q, strings.TrimSpace(line), def)
		if err == nil {
			if _, err = q.Convert(raw); err == nil {
				return raw, nil
			}
		}
		fmt.Fprintf(w, "  %v\n", err)
	}
}

// defaultText is the default as the prompt shows it.
func defaultText(q scaffold.Question, def any) string {
	switch v := def.(type) {
	case bool:
		if v {
			return "Y/n"
		}
		return "y/N"
	case []string:
		if len(v) == 0 {
			return "none"
		}
		return strings.Join(v, ", ")
	case nil:
		if q.Type == scaffold.TypeBool {
			return "y/N"
		}
		return ""
	}
	return fmt.Sprint(def)
}

// parseAnswer turns a typed line into an answer for q.Convert; empty
// takes the default.
func parseAnswer(q scaffold.Question, line string, def any) (any, error) {
	if line == "" {
		if q.Type == scaffold.TypeBool && def == nil {
			return false, nil
		}
		return def, nil
	}
	switch q.Type {
	case scaffold.TypeBool:
		switch strings.ToLower(line) {
		case "y", "yes", "true":
			return true, nil
		case "n", "no", "false":
			return false, nil
		}
		return nil, fmt.Errorf("answer %s: %q: want y or n", q.Name, line)
	case scaffold.TypeChoice:
		return choice(q, line)
	case scaffold.TypeMulti:
		if line == "none" || line == "-" {
			return []string{}, nil
		}
		var items []string
		for item := range strings.FieldsFuncSeq(line, func(r rune) bool { return r == ',' || r == ' ' }) {
			c, err := choice(q, item)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(items, c) {
				items = append(items, c)
			}
		}
		return items, nil
	}
	return line, nil
}

// choice reads one of q's choices, by its number or itself.
func choice(q scaffold.Question, s string) (string, error) {
	if slices.Contains(q.Choices, s) {
		return s, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= len(q.Choices) {
		return q.Choices[n-1], nil
	}
	return "", fmt.Errorf("answer %s: %q is not one of the choices %s (or their numbers 1-%d)", q.Name, s, strings.Join(q.Choices, ", "), len(q.Choices))
}
