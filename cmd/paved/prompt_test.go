package main

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/paved-dev/paved/scaffold"
)

// TestAsk: the terminal prompter's answers, one typed line after another,
// until one passes the question's rules.
func TestAsk(t *testing.T) {
	choices := []string{"helm", "argocd", "none"}
	tests := []struct {
		name    string
		q       scaffold.Question
		def     any
		lines   []string
		want    any
		asked   int      // lines read
		printed []string // in what was written
	}{
		{"string default", scaffold.Question{Name: "Name", Type: scaffold.TypeString}, "app", []string{""}, "app", 1, []string{"Name\n", "[app] > "}},
		{"string typed", scaffold.Question{Name: "Name", Help: "the service's name", Type: scaffold.TypeString}, "app", []string{"  pay  "}, "pay", 1, []string{"Name (the service's name)"}},
		{"string validated", scaffold.Question{Name: "Name", Help: "lower case", Type: scaffold.TypeString, Validate: regexp.MustCompile(`^[a-z]+$`)}, "app", []string{"Pay", "pay"}, "pay", 2, []string{"want lower case"}},
		{"new in", scaffold.Question{Name: "Port", Type: scaffold.TypeInt, NewIn: "v1.2.0"}, 8080, []string{""}, 8080, 1, []string{"[new in v1.2.0] Port", "[8080] > "}},
		{"int retyped", scaffold.Question{Name: "Port", Type: scaffold.TypeInt}, 8080, []string{"eighty", "80"}, "80", 2, []string{"not an integer"}},
		{"bool default yes", scaffold.Question{Name: "K8s", Type: scaffold.TypeBool}, true, []string{""}, true, 1, []string{"[Y/n] > "}},
		{"bool no", scaffold.Question{Name: "K8s", Type: scaffold.TypeBool}, true, []string{"maybe", "N"}, false, 2, []string{"want y or n"}},
		{"choice by number", scaffold.Question{Name: "Delivery", Type: scaffold.TypeChoice, Choices: choices}, "helm", []string{"2"}, "argocd", 1, []string{"  1) helm\n  2) argocd\n  3) none\n", "[helm] > "}},
		{"choice by name", scaffold.Question{Name: "Delivery", Type: scaffold.TypeChoice, Choices: choices}, "helm", []string{"4", "flux", "none"}, "none", 3, []string{"numbers 1-3"}},
		{"choice default", scaffold.Question{Name: "Delivery", Type: scaffold.TypeChoice, Choices: choices}, "helm", []string{""}, "helm", 1, nil},
		{"multi", scaffold.Question{Name: "Extras", Type: scaffold.TypeMulti, Choices: choices}, []string{"helm"}, []string{"3, 1 helm"}, []string{"none", "helm"}, 1, []string{"[helm] > "}},
		{"multi none", scaffold.Question{Name: "Extras", Type: scaffold.TypeMulti, Choices: choices}, []string{"helm"}, []string{"none"}, []string{}, 1, nil},
		{"multi default empty", scaffold.Question{Name: "Extras", Type: scaffold.TypeMulti, Choices: choices}, []string{}, []string{""}, []string{}, 1, []string{"[none] > "}},
		{"multi bad", scaffold.Question{Name: "Extras", Type: scaffold.TypeMulti, Choices: choices}, []string{}, []string{"1,9", "1"}, []string{"helm"}, 2, []string{`"9" is not one of the choices`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			read := 0
			readLine := func(prompt string) (string, error) {
				out.WriteString(prompt)
				if read == len(tt.lines) {
					t.Fatalf("asked again after %q", tt.lines)
				}
				read++
				return tt.lines[read-1], nil
			}
			got, err := ask(readLine, &out, tt.q, tt.def)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("answer %#v, want %#v", got, tt.want)
			}
			if conv, err := tt.q.Convert(got); err != nil {
				t.Errorf("the answer does not convert: %v (%v)", err, conv)
			}
			if read != tt.asked {
				t.Errorf("%d lines read, want %d", read, tt.asked)
			}
			for _, p := range tt.printed {
				if !strings.Contains(out.String(), p) {
					t.Errorf("output %q does not say %q", out.String(), p)
				}
			}
		})
	}
}

// TestAskInterrupted: Ctrl-C at a prompt ends the questions with the
// error run turns into exit 130.
func TestAskInterrupted(t *testing.T) {
	readLine := func(string) (string, error) { return "", errPromptInterrupted }
	_, err := ask(readLine, &strings.Builder{}, scaffold.Question{Name: "Name", Type: scaffold.TypeString}, "app")
	if !errors.Is(err, errPromptInterrupted) {
		t.Fatalf("error %v, want the interrupt", err)
	}
}
