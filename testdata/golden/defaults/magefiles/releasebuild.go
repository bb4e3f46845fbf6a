//go:build mage

package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// goreleaserConfig defines the release build; repro and build read its flags.
const goreleaserConfig = ".goreleaser.yaml"

// releaseBuild is the first (and only) entry of builds in .goreleaser.yaml:
// what GoReleaser passes to go build for every platform.
type releaseBuild struct {
	Main, Binary, Dir                            string
	Env, Flags, Ldflags, Tags, Gcflags, Asmflags []string
}

// goFlags are the go build flags GoReleaser derives from the entry, plus an
// explicit -buildvcs=auto: GoReleaser passes no -buildvcs, so go stamps the
// VCS state in a git checkout, and a GOFLAGS=-buildvcs=false of the machine
// must not make this build differ from that one.
func (b releaseBuild) goFlags() []string {
	flags := append([]string{}, b.Flags...)
	if len(b.Tags) > 0 {
		flags = append(flags, "-tags="+strings.Join(b.Tags, ","))
	}
	for _, f := range b.Gcflags {
		flags = append(flags, "-gcflags="+f)
	}
	for _, f := range b.Asmflags {
		flags = append(flags, "-asmflags="+f)
	}
	return append(flags, "-buildvcs=auto")
}

// templateVar is one GoReleaser template variable, {{ .Name }}.
var templateVar = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

// ldflags joins the entry's ldflags as GoReleaser does, its template
// variables filled from vars. Any other template is an error: a value this
// build cannot reproduce must not be guessed.
func (b releaseBuild) ldflags(vars map[string]string) (string, error) {
	joined := strings.Join(b.Ldflags, " ")
	var missing []string
	filled := templateVar.ReplaceAllStringFunc(joined, func(m string) string {
		name := templateVar.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%s: builds[0].ldflags use {{ .%s }}, which magefiles/releasebuild.go cannot fill", goreleaserConfig, missing[0])
	}
	if strings.Contains(filled, "{{") {
		return "", fmt.Errorf("%s: builds[0].ldflags hold a template magefiles/releasebuild.go cannot fill: %s", goreleaserConfig, joined)
	}
	return filled, nil
}

// ignoredKeys choose platforms or name outputs: they do not change what the
// go command makes for the host platform.
var ignoredKeys = map[string]bool{
	"id": true, "goos": true, "goarch": true, "goarm": true, "goarm64": true, "ignore": true,
	"targets": true, "mod_timestamp": true, "no_unique_dist_dir": true, "skip": true,
}

// readReleaseBuild reads builds[0] from path. It knows the block style that
// .goreleaser.yaml is written in (mappings, block and flow sequences of
// scalars, plain or quoted, comments) and fails, naming the line, on
// anything else, and on a key of builds[0] that could change the binary
// but that it does not model, rather than build something GoReleaser
// would not.
func readReleaseBuild(path string) (releaseBuild, error) {
	data, err := os.ReadFile(path) //nolint:gosec // this repository's own GoReleaser configuration
	if err != nil {
		return releaseBuild{}, fmt.Errorf("the release build flags: %w", err)
	}
	lines := strings.Split(string(data), "\n")
	b := releaseBuild{Dir: "."}
	lists := map[string]*[]string{"env": &b.Env, "flags": &b.Flags, "ldflags": &b.Ldflags, "tags": &b.Tags, "gcflags": &b.Gcflags, "asmflags": &b.Asmflags}
	scalars := map[string]*string{"main": &b.Main, "binary": &b.Binary, "dir": &b.Dir}
	fail := func(n int, format string, args ...any) (releaseBuild, error) {
		return releaseBuild{}, fmt.Errorf("%s:%d: %s", path, n+1, fmt.Sprintf(format, args...))
	}

	i := 0
	for i < len(lines) && stripComment(lines[i]) != "builds:" {
		i++
	}
	if i == len(lines) {
		return fail(0, "no top-level builds: (want one build entry)")
	}
	i++
	itemIndent, keyIndent := -1, -1
	for ; i < len(lines); i++ {
		text := stripComment(lines[i])
		if strings.TrimSpace(text) == "" {
			continue
		}
		indent := len(text) - len(strings.TrimLeft(text, " "))
		if indent == 0 {
			break // the next top-level key
		}
		body := text[indent:]
		if strings.HasPrefix(body, "- ") && (itemIndent < 0 || indent == itemIndent) {
			if itemIndent >= 0 {
				return fail(i, "a second build entry: repro and build know one (GoReleaser builds[0])")
			}
			itemIndent, keyIndent = indent, indent+2
			body, indent = body[2:], indent+2
		}
		if itemIndent < 0 || indent != keyIndent {
			return fail(i, "unexpected line in builds[0] (indent %d, want %d)", indent, keyIndent)
		}
		key, value, ok := strings.Cut(body, ":")
		if !ok || strings.ContainsAny(key, " \"'{[") {
			return fail(i, "want KEY: VALUE in builds[0], got %q", body)
		}
		value = strings.TrimSpace(value)
		// Lines below the key, indented deeper (or block sequence items at
		// the key's own indent), belong to its value.
		var nested []int
		for j := i + 1; j < len(lines); j++ {
			t := stripComment(lines[j])
			if strings.TrimSpace(t) == "" {
				continue
			}
			ind := len(t) - len(strings.TrimLeft(t, " "))
			if ind > keyIndent || (ind == keyIndent && strings.HasPrefix(t[ind:], "- ")) {
				nested = append(nested, j)
				i = j
				continue
			}
			break
		}
		switch {
		case ignoredKeys[key]:
		case scalars[key] != nil:
			if len(nested) > 0 {
				return fail(nested[0], "builds[0].%s: want one scalar", key)
			}
			s, err := yamlScalar(value)
			if err != nil {
				return fail(i, "builds[0].%s: %v", key, err)
			}
			*scalars[key] = s
		case lists[key] != nil:
			items, err := yamlList(value, nested, lines)
			if err != nil {
				return fail(i, "builds[0].%s: %v", key, err)
			}
			*lists[key] = items
		default:
			return fail(i, "builds[0].%s may change the binary, and magefiles/releasebuild.go does not model it; teach it, so repro builds what GoReleaser builds", key)
		}
	}
	switch {
	case b.Main == "":
		return fail(0, "builds[0] has no main")
	case b.Binary == "":
		return fail(0, "builds[0] has no binary")
	case strings.Contains(strings.Join(b.Env, " ")+strings.Join(b.Flags, " "), "{{"):
		return fail(0, "builds[0].env or flags hold a template; repro fills templates in ldflags only")
	}
	return b, nil
}

// yamlList reads a flow sequence written on the key's line, or the block
// sequence on the nested lines.
func yamlList(value string, nested []int, lines []string) ([]string, error) {
	var items []string
	if value != "" {
		if len(nested) > 0 || !strings.HasPrefix(value, "[") || !strings.HasSuffix(value, "]") {
			return nil, fmt.Errorf("want a sequence, got %q", value)
		}
		inner := strings.TrimSpace(value[1 : len(value)-1])
		if inner == "" {
			return nil, nil
		}
		if strings.ContainsAny(inner, "\"'[]{}") {
			return nil, errors.New("a flow sequence of quoted or nested values; write it one item a line")
		}
		for part := range strings.SplitSeq(inner, ",") {
			items = append(items, strings.TrimSpace(part))
		}
		return items, nil
	}
	for _, n := range nested {
		t := strings.TrimSpace(stripComment(lines[n]))
		item, ok := strings.CutPrefix(t, "- ")
		if !ok {
			return nil, fmt.Errorf("line %d: want a sequence item (- VALUE), got %q", n+1, t)
		}
		s, err := yamlScalar(strings.TrimSpace(item))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		items = append(items, s)
	}
	return items, nil
}

// yamlScalar reads a plain, single- or double-quoted scalar.
func yamlScalar(v string) (string, error) {
	switch {
	case strings.HasPrefix(v, `"`):
		return strconv.Unquote(v)
	case strings.HasPrefix(v, "'"):
		if len(v) < 2 || !strings.HasSuffix(v, "'") {
			return "", fmt.Errorf("unterminated quoted value %s", v)
		}
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'"), nil
	case v == "" || strings.ContainsAny(v[:1], "|>&*!{[%@`"):
		return "", fmt.Errorf("value %q is not a plain scalar (block scalars, anchors, tags and flow mappings are not read here)", v)
	}
	return v, nil
}

// stripComment drops a # comment that starts a line or follows a space
// outside quotes, and trailing spaces.
func stripComment(line string) string {
	quote := byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' {
				i++
			}
		case (c == '"' || c == '\'') && startsValue(line[:i]):
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return strings.TrimRight(line[:i], " \t\r")
		}
	}
	return strings.TrimRight(line, " \t\r")
}

// startsValue says whether a quote after before opens a quoted scalar (and
// is not an apostrophe inside a plain one).
func startsValue(before string) bool {
	t := strings.TrimRight(before, " \t")
	return t == "" || strings.ContainsAny(t[len(t)-1:], ":-[,")
}
