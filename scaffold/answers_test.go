package scaffold

import (
	"reflect"
	"strings"
	"testing"
)

func testManifest(t *testing.T) *Manifest {
	t.Helper()
	m, err := ParseManifest("paved.yaml", []byte(fullManifest))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fakePrompter answers from a map and records what it was asked.
type fakePrompter struct {
	answers map[string]any
	asked   []string
	defs    map[string]any
}

func (f *fakePrompter) Ask(q Question, def any) (any, error) {
	f.asked = append(f.asked, q.Name)
	if f.defs == nil {
		f.defs = map[string]any{}
	}
	f.defs[q.Name] = def
	if a, ok := f.answers[q.Name]; ok {
		return a, nil
	}
	return def, nil
}

func TestResolveAnswers(t *testing.T) {
	tests := []struct {
		name  string
		in    AnswerInput
		want  map[string]any
		asked []string
	}{
		{
			name: "defaults",
			want: map[string]any{"Name": "payments", "On": true, "Count": 3, "Color": "blue", "Tags": []string{"a"}},
		},
		{
			name: "set converts to the question's type",
			in:   AnswerInput{Set: []string{"Count=7", "On=false", "Color=red", "Name=orders"}},
			want: map[string]any{"Name": "orders", "On": false, "Count": 7, "Color": "red", "Tags": []string{"a"}},
		},
		{
			name: "set wins over given",
			in:   AnswerInput{Given: map[string]any{"Name": "given", "Count": 9, "Tags": []any{"b", "c"}}, Set: []string{"Name=set"}},
			want: map[string]any{"Name": "set", "On": true, "Count": 9, "Color": "blue", "Tags": []string{"b", "c"}},
		},
		{
			name: "multi from a comma list",
			in:   AnswerInput{Set: []string{"Tags=a, c"}},
			want: map[string]any{"Name": "payments", "On": true, "Count": 3, "Color": "blue", "Tags": []string{"a", "c"}},
		},
		{
			name:  "prompter asked only what is unanswered and wanted",
			in:    AnswerInput{Set: []string{"On=false"}, Prompter: &fakePrompter{answers: map[string]any{"Name": "typed"}}},
			want:  map[string]any{"Name": "typed", "On": false, "Count": 3, "Color": "blue", "Tags": []string{"a"}},
			asked: []string{"Name", "Count", "Color"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := map[string]any{"Module": "example.com/acme/payments/v2"}
			got, err := ResolveAnswers(testManifest(t), data, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("answers = %#v\nwant %#v", got, tt.want)
			}
			if p, ok := tt.in.Prompter.(*fakePrompter); ok && !reflect.DeepEqual(p.asked, tt.asked) {
				t.Errorf("asked %v, want %v", p.asked, tt.asked)
			}
			if data["Name"] != got["Name"] {
				t.Errorf("answers not added to render data")
			}
		})
	}
}

func TestResolveAnswersErrors(t *testing.T) {
	tests := []struct {
		name string
		in   AnswerInput
		want string
	}{
		{"unknown set key", AnswerInput{Set: []string{"Nmae=x"}}, "--set Nmae=x: the template has no question Nmae (questions: Name, On, Count, Color, Tags)"},
		{"set without =", AnswerInput{Set: []string{"Name"}}, `--set "Name": want KEY=VALUE`},
		{"unknown given key", AnswerInput{Given: map[string]any{"Bogus": 1}}, "answer Bogus: the template has no such question"},
		{"validate", AnswerInput{Set: []string{"Name=Bad Name"}}, `answer Name: "Bad Name" is not valid: want the name (pattern ^[a-z]+$)`},
		{"bool", AnswerInput{Set: []string{"On=maybe"}}, `answer On: "maybe" is not a bool`},
		{"int", AnswerInput{Set: []string{"Count=three"}}, `answer Count: "three" is not an integer`},
		{"choice", AnswerInput{Set: []string{"Color=green"}}, `answer Color: "green" is not one of the choices red, blue`},
		{"multi", AnswerInput{Set: []string{"Tags=a,z"}}, `answer Tags: "z" is not one of the choices a, b, c`},
		{"given wrong type", AnswerInput{Given: map[string]any{"Count": []any{1}}}, "answer Count: [1] is not an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ResolveAnswers(testManifest(t), map[string]any{"Module": "example.com/x"}, tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestResolveAnswersTemplateErrors(t *testing.T) {
	m, err := ParseManifest("paved.yaml", []byte("questions:\n  - name: A\n    default: '{{ env \"HOME\" }}'\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ResolveAnswers(m, map[string]any{}, AnswerInput{})
	if err == nil || !strings.Contains(err.Error(), `function "env" is refused: it reads the environment`) {
		t.Fatalf("host-reading function reachable from a default: %v", err)
	}
	m, _ = ParseManifest("paved.yaml", []byte("questions:\n  - name: A\n    default: '{{ .Missing }}'\n"))
	if _, err = ResolveAnswers(m, map[string]any{}, AnswerInput{}); err == nil || !strings.Contains(err.Error(), "Missing") {
		t.Fatalf("missing key not an error: %v", err)
	}
}

func TestAnswersFileRoundTrip(t *testing.T) {
	m := testManifest(t)
	af := &AnswersFile{Template: "service", Version: "v1.2.0", Module: "example.com/acme/payments",
		Answers: map[string]any{"Tags": []string{"a"}, "Name": "payments", "Count": 3, "On": true, "Color": "blue", "Extra": "x"}}
	data, err := af.Marshal(m.Questions)
	if err != nil {
		t.Fatal(err)
	}
	want := "# Written by paved. To change an answer, edit it here and run `paved update`:\n# it re-renders with the new answer and merges the change (see .paved-lock).\n" +
		"template: service\nversion: v1.2.0\nmodule: example.com/acme/payments\nanswers:\n" +
		"  Name: payments\n  On: true\n  Count: 3\n  Color: blue\n  Tags:\n    - a\n  Extra: x\n"
	if string(data) != want {
		t.Fatalf("answers file:\n%s\nwant:\n%s", data, want)
	}
	back, err := ParseAnswersFile(AnswersFileName, data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Version != "v1.2.0" || back.Answers["Count"] != 3 || back.Answers["On"] != true {
		t.Errorf("round trip lost data: %+v", back)
	}
}

func TestAnswersFileKeepsVerifySettings(t *testing.T) {
	in := "template: service\nversion: v1\nmodule: example.com/x\nanswers:\n  Name: x\nverify:\n  skip: [chaos]\n"
	af, err := ParseAnswersFile(AnswersFileName, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := af.Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(out), "verify:\n  skip: [chaos]\n") {
		t.Errorf("verify settings not kept:\n%s", out)
	}
}

func TestParseAnswersFileErrors(t *testing.T) {
	for _, tt := range []struct{ data, want string }{
		{"", "empty answers file"},
		{"template: s\nmodule: m\nextra: 1\n", "field extra not found"},
		{"version: v1\n", "template and module are required"},
		{"template: [\n", ".paved-answers.yaml:"},
	} {
		if _, err := ParseAnswersFile(AnswersFileName, []byte(tt.data)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseAnswersFile(%q) = %v, want %q", tt.data, err, tt.want)
		}
	}
}

func FuzzParseAnswersFile(f *testing.F) {
	f.Add([]byte("template: service\nversion: v1\nmodule: example.com/x\nanswers:\n  Name: x\n"))
	f.Add([]byte("template: s\nmodule: m\nanswers: [1]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		af, err := ParseAnswersFile(AnswersFileName, data)
		if err != nil {
			return
		}
		out, err := af.Marshal(nil)
		if err != nil {
			return // answers YAML cannot always be re-encoded (e.g. odd keys); never a panic
		}
		again, err := ParseAnswersFile(AnswersFileName, out)
		if err != nil {
			t.Fatalf("re-reading what we wrote: %v\n%s", err, out)
		}
		if again.Template != af.Template || again.Module != af.Module || again.Version != af.Version {
			t.Fatalf("round trip changed the header: %+v vs %+v", af, again)
		}
	})
}

func FuzzParseAnswersInput(f *testing.F) {
	f.Add([]byte("Name: payments\nKubernetes: false\n"))
	f.Add([]byte("- a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseAnswersInput("answers.yaml", data)
		if err == nil && m == nil {
			t.Fatal("nil map without an error")
		}
	})
}
