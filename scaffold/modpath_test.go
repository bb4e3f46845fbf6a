package scaffold

import (
	"strings"
	"testing"
)

func TestRewriteGoImports(t *testing.T) {
	const src, dst = "example.com/tmpl", "example.com/acme/payments"
	tests := []struct {
		name   string
		inRoot bool
		in     string
		want   string
	}{
		{"sub-package import", false,
			"package x\n\nimport (\n\t\"fmt\"\n\t\"example.com/tmpl/internal/a\"\n)\n",
			"package x\n\nimport (\n\t\"fmt\"\n\t\"example.com/acme/payments/internal/a\"\n)\n"},
		{"root import keeps its old name", false,
			"package x\n\nimport \"example.com/tmpl\"\n\nvar _ = tmpl.X\n",
			"package x\n\nimport tmpl \"example.com/acme/payments\"\n\nvar _ = tmpl.X\n"},
		{"named root import", false,
			"package x\n\nimport t \"example.com/tmpl\"\n",
			"package x\n\nimport t \"example.com/acme/payments\"\n"},
		{"root package renamed", true,
			"package tmpl\n",
			"package payments\n"},
		{"root test package renamed", true,
			"package tmpl_test\n\nimport \"example.com/tmpl\"\n",
			"package payments_test\n\nimport tmpl \"example.com/acme/payments\"\n"},
		{"other package in root untouched", true,
			"package main\n",
			"package main\n"},
		{"look-alike path untouched", false,
			"package x\n\nimport \"example.com/tmplx\"\n",
			"package x\n\nimport \"example.com/tmplx\"\n"},
		{"strings and comments untouched", false,
			"package x\n\n// example.com/tmpl/internal\nvar s = \"example.com/tmpl/internal\"\n",
			"package x\n\n// example.com/tmpl/internal\nvar s = \"example.com/tmpl/internal\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rewriteGoImports("f.go", []byte(tt.in), src, dst, tt.inRoot)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	if _, err := rewriteGoImports("bad.go", []byte("packag x"), src, dst, false); err == nil || !strings.Contains(err.Error(), "bad.go:1:1") {
		t.Errorf("syntax error not reported with its place: %v", err)
	}
}

func TestRewriteGoMod(t *testing.T) {
	got, err := rewriteGoMod("go.mod", []byte("module example.com/tmpl\n\ngo 1.26\n\nrequire example.com/dep v1.0.0\n"), "example.com/tmpl", "example.com/new/v2")
	if err != nil {
		t.Fatal(err)
	}
	if want := "module example.com/new/v2\n\ngo 1.26\n\nrequire example.com/dep v1.0.0\n"; string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	same, _ := rewriteGoMod("go.mod", []byte("module other.com/x\n"), "example.com/tmpl", "example.com/new")
	if string(same) != "module other.com/x\n" {
		t.Errorf("unrelated module rewritten: %s", same)
	}
}

// TestRewriteGoModLine: in a nested go.mod the module line is edited in
// place (the rest of the file byte for byte, even where the go command
// would format it), and one whose module line is not one plain line is
// still renamed; the root go.mod is formatted, as gonew does.
func TestRewriteGoModLine(t *testing.T) {
	const src, dst = "example.com/tmpl", "example.com/new"
	tests := []struct{ name, in, want string }{
		{"plain", "module example.com/tmpl\n\ngo 1.27\n", "module example.com/new\n\ngo 1.27\n"},
		{"nested", "module example.com/tmpl/tools // tools\n\nrequire (\n\ta.com/x   v1.0.0\n)\n", "module example.com/new/tools // tools\n\nrequire (\n\ta.com/x   v1.0.0\n)\n"},
		{"quoted", "// c\nmodule \"example.com/tmpl\"\n", "// c\nmodule example.com/new\n"},
		{"CRLF", "module example.com/tmpl\r\ngo 1.27\r\n", "module example.com/new\r\ngo 1.27\r\n"},
		{"block", "module (\n\texample.com/tmpl\n)\n\ngo 1.27\n", "module (\n\texample.com/new\n)\n\ngo 1.27\n"},
		{"unrelated", "module other.com/x\n", "module other.com/x\n"},
		{"prefix only", "module example.com/tmplx\n", "module example.com/tmplx\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rewriteGoMod("tools/go.mod", []byte(tt.in), src, dst)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	got, err := rewriteGoMod("go.mod", []byte("module example.com/tmpl\n\nrequire  a.com/x v1.0.0\n"), src, dst)
	if want := "module example.com/new\n\nrequire a.com/x v1.0.0\n"; err != nil || string(got) != want {
		t.Errorf("root go.mod: %q, %v; want %q (formatted)", got, err, want)
	}
}
