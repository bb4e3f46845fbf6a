package scaffold

import (
	"errors"
	"strings"
	"testing"
)

const fullManifest = `description: demo
delims: ["<%", "%>"]
questions:
  - name: Name
    help: the name
    type: string
    default: '<% .Module | moduleBase %>'
    validate: '^[a-z]+$'
  - name: On
    type: bool
    default: true
  - name: Count
    type: int
    default: 3
  - name: Color
    type: choice
    choices: [red, blue]
    default: blue
  - name: Tags
    type: multi
    choices: [a, b, c]
    default: [a]
    when: '<% .On %>'
files:
  - path: 'deploy/**'
    when: '<% .On %>'
rename:
  cmd/app: 'cmd/<% .Name %>'
exclude: ['x.go']
tasks:
  - [go, mod, tidy]
migrations:
  - version: v2.0.0
    run: [[echo, hi]]
`

func TestParseManifestFull(t *testing.T) {
	m, err := ParseManifest("paved.yaml", []byte(fullManifest))
	if err != nil {
		t.Fatal(err)
	}
	if m.Delims != [2]string{"<%", "%>"} || len(m.Questions) != 5 || len(m.Files) != 1 ||
		m.Rename["cmd/app"] != "cmd/<% .Name %>" || len(m.Exclude) != 1 || len(m.Tasks) != 1 || len(m.Migrations) != 1 {
		t.Fatalf("parsed wrong: %+v", m)
	}
	q := m.Questions[0]
	if q.Name != "Name" || q.Type != TypeString || q.Validate.String() != "^[a-z]+$" || q.Line != 4 {
		t.Errorf("question 0 = %+v", q)
	}
	if m.Questions[2].Default != 3 || m.Questions[1].Default != true {
		t.Errorf("typed defaults lost: %#v %#v", m.Questions[2].Default, m.Questions[1].Default)
	}
}

func TestParseManifestDefaults(t *testing.T) {
	m, err := ParseManifest("paved.yaml", []byte("questions:\n  - name: A\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Delims != [2]string{"{{", "}}"} || m.Questions[0].Type != TypeString {
		t.Errorf("defaults not applied: %+v", m)
	}
}

func TestParseManifestErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown top key", "descripton: x\n", `paved.yaml:1: unknown key "descripton" in manifest`},
		{"unknown question key", "questions:\n  - name: A\n    defualt: x\n", `paved.yaml:3: unknown key "defualt" in question`},
		{"wrong type of description", "description: [a]\n", "paved.yaml:1: description must be a string"},
		{"questions not a list", "questions: {a: 1}\n", "paved.yaml:1: questions must be a list"},
		{"bad question type", "questions:\n  - name: A\n    type: float\n", `paved.yaml:3: type "float" is not one of`},
		{"nameless question", "questions:\n  - help: x\n", "paved.yaml:2: question without a name"},
		{"bad question name", "questions:\n  - name: my-name\n", "must be a Go identifier"},
		{"reserved name", "questions:\n  - name: Module\n", `question name "Module" is reserved`},
		{"duplicate question", "questions:\n  - name: A\n  - name: A\n", `paved.yaml:3: question "A" asked twice`},
		{"bad regexp", "questions:\n  - name: A\n    validate: '('\n", "paved.yaml:3: question A: validate: error parsing regexp"},
		{"choice without choices", "questions:\n  - name: A\n    type: choice\n", "type choice needs choices"},
		{"choices on string", "questions:\n  - name: A\n    choices: [a]\n", "choices only go with type choice or multi"},
		{"one delim", "delims: ['<%']\n", "paved.yaml:1: delims must be two non-empty strings"},
		{"files without when", "files:\n  - path: a\n", "paved.yaml:2: files entry needs both path and when"},
		{"bad glob", "files:\n  - path: 'a/[b'\n    when: x\n", "invalid glob"},
		{"rename escapes", "rename:\n  ../x: y\n", `paved.yaml:2: rename: "../x" is not a relative path`},
		{"task not a list", "tasks:\n  - go mod tidy\n", "paved.yaml:2: tasks command must be a list of strings"},
		{"empty task", "tasks:\n  - []\n", "paved.yaml:2: tasks: empty command"},
		{"repeated key", "description: a\ndescription: b\n", `paved.yaml:2: key "description" repeated in manifest`},
		{"migration bad version", "migrations:\n  - version: 2.0\n    run: [[x]]\n", `paved.yaml:2: migration version "2.0" is not a semantic version`},
		{"syntax error", "questions:\n  - name: [\n", "paved.yaml:"},
		{"empty", "", "paved.yaml: empty manifest"},
		{"not a mapping", "- a\n", "paved.yaml:1: manifest must be a mapping"},
		{"migration without run", "migrations:\n  - version: v2.0.0\n", "paved.yaml:2: migration needs a version and run commands"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseManifest("paved.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(fullManifest))
	f.Add([]byte("questions:\n  - name: A\n    type: multi\n    choices: [a]\n    default: [a, b]\n"))
	f.Add([]byte("rename: {a: b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest("paved.yaml", data)
		if err != nil {
			if !errors.As(err, new(*ManifestError)) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, q := range m.Questions {
			if q.Name == "" || (q.Type == TypeChoice || q.Type == TypeMulti) && len(q.Choices) == 0 {
				t.Fatalf("accepted an invalid question: %+v", q)
			}
		}
	})
}
