package scaffold

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/module"
)

// TestsFileName is the cases file of `paved template test`, at a template's
// root beside paved.yaml. Like the manifest it is never rendered into a
// repository.
const TestsFileName = "paved-tests.yaml"

// DefaultGoldenDir is where golden trees live, relative to the template's
// root, when the cases file does not say: testdata/golden/<case>/. A golden
// directory inside the template must be excluded in paved.yaml so that it is
// never rendered (`paved template check` says so).
const DefaultGoldenDir = "testdata/golden"

// DefaultCaseTimeout bounds each command of a case that names no timeout.
const DefaultCaseTimeout = 10 * time.Minute

// TestCases is a parsed paved-tests.yaml:
//
//	golden: testdata/golden      # optional; relative to the template's root
//	cases:
//	  - name: defaults
//	    module: example.com/acme/payments
//	    answers: {Kubernetes: false}
//	    commands:                # optional, run in the rendered repository
//	      - [go, build, ./...]
//	    timeout: 5m              # optional, per command; default 10m
type TestCases struct {
	Golden string
	Cases  []TestCase
}

// TestCase is one answer set of a template and what must hold for it.
type TestCase struct {
	Name     string
	Module   string
	Answers  map[string]any
	Commands [][]string
	Timeout  time.Duration
	Line     int // where the case starts in the cases file
	Col      int
}

// goTypeRE matches the Go type names in the YAML decoder's messages.
var goTypeRE = lazyRegexp(` in type scaffold\.\w+`)

var caseNameRE = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

type testCasesYAML struct {
	Golden string         `yaml:"golden"`
	Cases  []testCaseYAML `yaml:"cases"`
}

type testCaseYAML struct {
	Name     string         `yaml:"name"`
	Module   string         `yaml:"module"`
	Answers  map[string]any `yaml:"answers"`
	Commands [][]string     `yaml:"commands"`
	Timeout  string         `yaml:"timeout"`
	line     int
	col      int
}

// caseKeys are the keys of a case; the decoder's KnownFields does not reach
// into a custom unmarshaler, so they are checked here.
var caseKeys = []string{"name", "module", "answers", "commands", "timeout"}

func (c *testCaseYAML) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a case must be a mapping", n.Line)
	}
	for _, k := range yamlnode.Keys(n) {
		if !slices.Contains(caseKeys, k.Value) {
			return fmt.Errorf("line %d: unknown key %q in case (known: %s)", k.Line, k.Value, strings.Join(caseKeys, ", "))
		}
	}
	type plain testCaseYAML
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*c = testCaseYAML(p)
	c.line, c.col = n.Line, n.Column
	return nil
}

// ReadTestCases reads the cases file at a template's root; it reports
// fs.ErrNotExist when there is none.
func ReadTestCases(fsys fs.FS) (*TestCases, error) {
	if fi, err := fs.Lstat(fsys, TestsFileName); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", TestsFileName)
	}
	data, err := fs.ReadFile(fsys, TestsFileName)
	if err != nil {
		return nil, err
	}
	return ParseTestCases(TestsFileName, data)
}

// ParseTestCases parses a cases file strictly: unknown keys, wrong types,
// repeated or unsafe case names and invalid module paths are errors naming
// the file and line.
func ParseTestCases(file string, data []byte) (*TestCases, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var raw testCasesYAML
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty cases file", file)
		}
		return nil, fmt.Errorf("%s: %s", file, goTypeRE().ReplaceAllString(yamlErrorLine(err), ""))
	}
	if err := singleDocument(dec); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	tc := &TestCases{Golden: raw.Golden}
	if tc.Golden == "" {
		tc.Golden = DefaultGoldenDir
	}
	if !validGoldenDir(tc.Golden) {
		return nil, fmt.Errorf("%s: golden %q must be a relative, slash-separated directory", file, raw.Golden)
	}
	if len(raw.Cases) == 0 {
		return nil, fmt.Errorf("%s: no cases", file)
	}
	seen := map[string]bool{}
	for _, rc := range raw.Cases {
		errorf := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", file, rc.line, fmt.Sprintf(format, args...))
		}
		c := TestCase{Name: rc.Name, Module: rc.Module, Answers: rc.Answers, Commands: rc.Commands, Timeout: DefaultCaseTimeout, Line: rc.line, Col: rc.col}
		switch {
		case !caseNameRE().MatchString(c.Name):
			return nil, errorf("case name %q must be letters, digits, '.', '_' or '-' (it names a golden directory)", c.Name)
		case seen[c.Name]:
			return nil, errorf("case %q repeated", c.Name)
		}
		seen[c.Name] = true
		if err := module.CheckPath(c.Module); err != nil {
			return nil, errorf("case %s: module %q: %v", c.Name, c.Module, err)
		}
		for _, argv := range c.Commands {
			if len(argv) == 0 || argv[0] == "" {
				return nil, errorf("case %s: empty command", c.Name)
			}
		}
		if rc.Timeout != "" {
			d, err := time.ParseDuration(rc.Timeout)
			if err != nil || d <= 0 {
				return nil, errorf("case %s: timeout %q is not a positive duration like 5m", c.Name, rc.Timeout)
			}
			c.Timeout = d
		}
		tc.Cases = append(tc.Cases, c)
	}
	return tc, nil
}

// validGoldenDir accepts a relative slash path; ".." is allowed (golden
// trees may live beside the template, as paved's own do), nothing else
// unusual is.
func validGoldenDir(p string) bool {
	if p == "" || p[0] == '/' || bytes.ContainsAny([]byte(p), "\\\x00") {
		return false
	}
	for _, seg := range bytes.Split([]byte(p), []byte("/")) {
		if len(seg) == 0 || string(seg) == "." {
			return false
		}
	}
	return true
}
