package verify

import (
	"strings"
	"testing"
	"text/template"

	networkingapi "istio.io/api/networking/v1alpha3"

	"go.yaml.in/yaml/v3"
)

// Fuzz targets for the parsers of outside input that are paved's own
// (everything else is parsed by the tools' libraries).

func FuzzParseUses(f *testing.F) {
	for _, s := range []string{
		"actions/checkout@v4",
		"actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
		"github/codeql-action/init@v3",
		"octo/repo/.github/workflows/build.yml@main",
		"./.github/actions/setup",
		"docker://alpine:3.20",
		"docker://alpine@sha256:0000000000000000000000000000000000000000000000000000000000000000",
		"a@b@c", "@", "/", "x/@v", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseUses(s)
		msg := checkUses(s)
		if err != nil {
			return
		}
		switch {
		case u.Local:
			if msg != "" {
				t.Fatalf("local %q reported: %s", s, msg)
			}
		case u.Docker != "":
		default:
			if u.Owner == "" || u.Repo == "" || u.Ref == "" || strings.Contains(u.Owner+u.Repo, "/") {
				t.Fatalf("parseUses(%q) = %+v", s, u)
			}
			rebuilt := u.Owner + "/" + u.Repo
			if u.Path != "" {
				rebuilt += "/" + u.Path
			}
			if rebuilt+"@"+u.Ref != s {
				t.Fatalf("parseUses(%q) does not round-trip: %+v", s, u)
			}
			pinned := shaRE.MatchString(u.Ref)
			if pinned == (msg != "") && !strings.Contains(s, "${{") {
				t.Fatalf("checkUses(%q) = %q, pinned %v", s, msg, pinned)
			}
		}
	})
}

func FuzzDependabot(f *testing.F) {
	f.Add([]byte("version: 2\nupdates:\n  - package-ecosystem: gomod\n    directory: /\n    schedule:\n      interval: weekly\n"))
	f.Add([]byte("version: 2\nupdates:\n  - package-ecosystem: gomod\n    directory: /\n    versioning-strategy: widen\n    schedule: {interval: daily, day: monday}\n"))
	f.Add([]byte("version: 2\nupdates:\n  - package-ecosystem: npm\n    directories: [\"/a\", \"/b/*\"]\n    registries: \"*\"\n    groups:\n      g: {patterns: [\"*\"], update-types: [minor]}\n    ignore:\n      - dependency-name: x\n        versions: \">1\"\n"))
	f.Add([]byte("version: 1\nupdates: 3\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, e := range checkDependabot(src, nil) {
			if e.Msg == "" || e.Line < 0 || e.Col < 0 {
				t.Fatalf("bad error %+v", e)
			}
		}
	})
}

func FuzzFindingText(f *testing.F) {
	f.Add("a/b.yaml", 3, 7, "helm", "x: y: z")
	f.Add("c:1:2: d", 0, 0, "workflows", "")
	f.Add("", 1, 1, "x", "m")
	f.Fuzz(func(t *testing.T, path string, line, col int, check, msg string) {
		// Whatever the input, ParseText must not panic.
		_, _ = ParseText(path + "\n" + msg)
		if line < 0 || col < 0 || line > 1e8 || col > 1e8 || path == "" || check == "" ||
			strings.ContainsAny(path+check+msg, "\n\r") || strings.ContainsAny(check, " \t:") {
			return
		}
		in := Finding{Path: path, Line: line, Col: col, Check: check, Message: msg}
		out, err := ParseText(in.String() + "\n")
		if err != nil {
			// Only a path that itself looks like "x:1:2: c: m" is ambiguous.
			if strings.Contains(path, ": ") {
				return
			}
			t.Fatalf("ParseText(%q): %v", in.String(), err)
		}
		if len(out) != 1 {
			t.Fatalf("ParseText(%q) = %v", in.String(), out)
		}
		if out[0] != in && !strings.Contains(path, ": ") {
			t.Fatalf("round trip: got %+v, want %+v", out[0], in)
		}
	})
}

func FuzzSplitYAML(f *testing.F) {
	f.Add([]byte("a: 1\n---\nb: 2\n--- # c\n\n---\nkind: X\n"))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("a: [\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		lines := strings.Count(string(src), "\n") + 1
		docs, errs := splitYAML(src)
		for _, d := range docs {
			if d.Root == nil || d.Root.Line < 1 || d.Root.Line > lines {
				t.Fatalf("bad doc %+v", d)
			}
		}
		for _, e := range errs {
			if e.Line < 1 || e.Line > lines+1 {
				t.Fatalf("error line %d outside 1..%d: %+v", e.Line, lines, e)
			}
		}
	})
}

// FuzzWalkSpec: any YAML under a VirtualService spec is judged without a
// panic, each problem, misspelled name and mistyped integer at a node of
// the document.
func FuzzWalkSpec(f *testing.F) {
	f.Add([]byte("hosts: [a]\nhttp:\n  - route:\n      - destination: {host: a}\n        weight: hundred\n    timeout: 5x\n    bogus: 1\n"))
	f.Add([]byte("a: !!binary aGk=\nb: 1e3\nc: ~\nd: [true, 'x', 0x10]\n"))
	f.Add([]byte("http:\n  - retries: {attempts: '3', per_try_timeout: 2s}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		root, errs := parseYAML(src)
		if len(errs) > 0 || root == nil {
			return
		}
		md := (&networkingapi.VirtualService{}).ProtoReflect().Descriptor()
		walkSpec(md, root, specWalk{
			problem: func(n *yaml.Node, msg string) {
				if n == nil || n.Line < 1 || msg == "" {
					t.Fatalf("problem %q at %v", msg, n)
				}
			},
			badName: func(k *yaml.Node, got, want string) {
				if k == nil || k.Line < 1 || got == want {
					t.Fatalf("name %q (want %q) at %v", got, want, k)
				}
			},
			badType: func(n *yaml.Node, field string) {
				if n == nil || n.Line < 1 || field == "" {
					t.Fatalf("type of %q at %v", field, n)
				}
			},
		})
	})
}

func FuzzFieldPath(f *testing.F) {
	f.Add("spec.template.spec.containers[0].imagePullPolicyy", "spec:\n  template:\n    spec:\n      containers:\n        - name: a\n")
	f.Add("metadata.labels[app.kubernetes.io/name]", "metadata: {labels: {app.kubernetes.io/name: x}}")
	f.Add("[", "")
	f.Fuzz(func(t *testing.T, p, doc string) {
		elems := parseFieldPath(p)
		var n yaml.Node
		if yaml.Unmarshal([]byte(doc), &n) != nil {
			return
		}
		if at, _ := lookup(&n, elems); at == nil {
			t.Fatal("lookup returned nil")
		}
	})
}

func FuzzGoVersion(f *testing.F) {
	for _, s := range []string{"1.26.8", "1.26.8-bookworm", "1.26-alpine", "1.26.x", "stable", "go1.26.8", ">=1.26", "1", ""} {
		f.Add(s, "1.26.0")
	}
	f.Fuzz(func(t *testing.T, got, minimum string) {
		_ = goVersionProblem(goVersionFromTag(got), minimum, len(got)%2 == 0)
	})
}

// FuzzInstrumentTemplate: a template with markers around its text nodes
// renders, markers removed, to exactly what the template renders, and every
// byte of it has an origin.
func FuzzInstrumentTemplate(f *testing.F) {
	f.Add("a:\n  b: {{ .Values.b }}\n  c: 1\n")
	f.Add("{{- if .Values.on }}\nx:\n  {{- range $i, $v := .Values.l }}\n  - {{ $v }}  {{- end }}\n{{- end }}\n")
	f.Add("{{- with .Values.m -}}\n  k: {{ .k }}\n{{ end -}}\n{{/* c */}} t\n{{ define \"d\" }}in{{ end }}{{ template \"d\" }}")
	data := map[string]any{"Values": map[string]any{"b": 2, "on": true, "l": []any{"p", "q"}, "m": map[string]any{"k": "v"}}}
	f.Fuzz(func(t *testing.T, src string) {
		instr, m := instrumentTemplate("t.yaml", []byte(src))
		if m == nil {
			return
		}
		render := func(s string) (string, bool) {
			tp, err := template.New("t.yaml").Parse(s)
			if err != nil {
				return "", false
			}
			var b strings.Builder
			if tp.Execute(&b, data) != nil {
				return "", false
			}
			return b.String(), true
		}
		want, ok1 := render(src)
		got, ok2 := render(string(instr))
		if ok1 != ok2 {
			t.Fatalf("original renders: %v, instrumented: %v", ok1, ok2)
		}
		if !ok1 {
			return
		}
		plain := m.strip([]byte(got))
		if string(plain) != want {
			t.Fatalf("instrumented rendering %q, want %q", plain, want)
		}
		if len(m.origin) != len(plain) {
			t.Fatalf("%d origins for %d bytes", len(m.origin), len(plain))
		}
		for i := range plain {
			if _, ok := m.at(i); !ok && m.origin[i].text >= 0 {
				t.Fatalf("byte %d of text has no origin", i)
			}
		}
	})
}
