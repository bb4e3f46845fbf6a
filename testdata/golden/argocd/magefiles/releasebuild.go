//go:build mage

package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
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

// readReleaseBuild reads builds[0] from path with a YAML parser, and fails,
// naming the line, on a second build entry and on a key of builds[0] that
// could change the binary but that it does not model, rather than build
// something GoReleaser would not.
func readReleaseBuild(path string) (releaseBuild, error) {
	data, err := os.ReadFile(path) //nolint:gosec // this repository's own GoReleaser configuration
	if err != nil {
		return releaseBuild{}, fmt.Errorf("the release build flags: %w", err)
	}
	fail := func(line int, format string, args ...any) (releaseBuild, error) {
		return releaseBuild{}, fmt.Errorf("%s:%d: %s", path, line, fmt.Sprintf(format, args...))
	}
	var cfg struct {
		Builds []yaml.Node `yaml:"builds"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return releaseBuild{}, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case len(cfg.Builds) == 0:
		return fail(1, "no top-level builds: (want one build entry)")
	case len(cfg.Builds) > 1:
		return fail(cfg.Builds[1].Line, "a second build entry: repro and build know one (GoReleaser builds[0])")
	case cfg.Builds[0].Kind != yaml.MappingNode:
		return fail(cfg.Builds[0].Line, "builds[0] is not a mapping")
	}
	b := releaseBuild{Dir: "."}
	lists := map[string]*[]string{"env": &b.Env, "flags": &b.Flags, "ldflags": &b.Ldflags, "tags": &b.Tags, "gcflags": &b.Gcflags, "asmflags": &b.Asmflags}
	scalars := map[string]*string{"main": &b.Main, "binary": &b.Binary, "dir": &b.Dir}
	entry := cfg.Builds[0].Content
	for i := 0; i+1 < len(entry); i += 2 {
		key, value := entry[i], entry[i+1]
		switch k := key.Value; {
		case ignoredKeys[k]:
		case scalars[k] != nil:
			if value.Kind != yaml.ScalarNode || value.Value == "" || value.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				return fail(value.Line, "builds[0].%s: want one plain or quoted value", k)
			}
			*scalars[k] = value.Value
		case lists[k] != nil:
			if value.Kind != yaml.SequenceNode {
				return fail(value.Line, "builds[0].%s: want a sequence", k)
			}
			for _, item := range value.Content {
				if item.Kind != yaml.ScalarNode {
					return fail(item.Line, "builds[0].%s: want a sequence of values", k)
				}
				*lists[k] = append(*lists[k], item.Value)
			}
		default:
			return fail(key.Line, "builds[0].%s may change the binary, and magefiles/releasebuild.go does not model it; teach it, so repro builds what GoReleaser builds", k)
		}
	}
	switch {
	case b.Main == "":
		return fail(cfg.Builds[0].Line, "builds[0] has no main")
	case b.Binary == "":
		return fail(cfg.Builds[0].Line, "builds[0] has no binary")
	case strings.Contains(strings.Join(b.Env, " ")+strings.Join(b.Flags, " "), "{{"):
		return fail(cfg.Builds[0].Line, "builds[0].env or flags hold a template; repro fills templates in ldflags only")
	}
	return b, nil
}
