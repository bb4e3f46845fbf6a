package verify

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// golangciNames are the linter and formatter names golangci-lint v2.15.0
// knows: the enums of its own schema (golangciSchema, the module's file),
// which the schema leaves open ("anyOf" with any string) so that editors
// complete names yet accept custom linters. golangci-lint itself refuses an
// unknown name unless linters.settings.custom defines it.
var golangciNames = sync.OnceValues(func() (linters, formatters []string) {
	var s struct {
		Definitions map[string]struct {
			AnyOf []struct {
				Enum []string `json:"enum"`
			} `json:"anyOf"`
			Enum []string `json:"enum"`
		} `json:"definitions"`
	}
	if json.Unmarshal(golangciSchema, &s) != nil {
		return nil, nil
	}
	names := func(def string) []string {
		d := s.Definitions[def]
		out := slices.Clone(d.Enum)
		for _, a := range d.AnyOf {
			out = append(out, a.Enum...)
		}
		slices.Sort(out)
		return out
	}
	return names("linter-names"), names("formatter-names")
})

// golangciNameProblems reports every linter or formatter name of a v2
// configuration that golangci-lint does not know.
func golangciNameProblems(root *yaml.Node) []posError {
	linters, formatters := golangciNames()
	if root == nil || len(linters) == 0 {
		return nil
	}
	custom := map[string]bool{}
	for _, k := range mapKeys(lookupValue(root, "linters", "settings", "custom")) {
		custom[k.Value] = true
	}
	var out []posError
	check := func(list *yaml.Node, known []string, what string) {
		for _, n := range seqItems(list) {
			if n.Kind != yaml.ScalarNode || custom[n.Value] {
				continue
			}
			if _, ok := slices.BinarySearch(known, n.Value); !ok {
				out = append(out, posError{Line: n.Line, Col: n.Column, Msg: fmt.Sprintf("unknown %s %q: golangci-lint v2.15.0 has no such %s (and linters.settings.custom does not define it)", what, n.Value, what)})
			}
		}
	}
	for _, k := range []string{"enable", "disable"} {
		check(lookupValue(root, "linters", k), linters, "linter")
		check(lookupValue(root, "formatters", k), formatters, "formatter")
	}
	both := append(slices.Clone(linters), formatters...)
	slices.Sort(both)
	for _, rule := range seqItems(lookupValue(root, "linters", "exclusions", "rules")) {
		check(mapValue(rule, "linters"), both, "linter")
	}
	return out
}

func mapKeys(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i])
	}
	return out
}

var actionMajorRE = regexp.MustCompile(`^v(\d+)(?:\.\d+){0,2}$`)

// golangciActionProblems checks each golangci/golangci-lint-action step of
// a workflow against the golangci-lint it installs and the configuration
// it reads: action v7 and later install golangci-lint v2 only, earlier
// ones v1 only, and a version: "2" configuration needs golangci-lint v2.
// The action's major is its ref (v8, v8.0.0) or, for a ref pinned by
// commit, the version in the comment after it.
func golangciActionProblems(root *yaml.Node, configV2 bool) []posError {
	var out []posError
	for _, job := range mapValues(mapValue(root, "jobs")) {
		for _, step := range seqItems(mapValue(job, "steps")) {
			uses := mapValue(step, "uses")
			if uses == nil || !strings.HasPrefix(uses.Value, "golangci/golangci-lint-action@") {
				continue
			}
			ref := strings.TrimPrefix(uses.Value, "golangci/golangci-lint-action@")
			if !actionMajorRE.MatchString(ref) {
				ref = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(uses.LineComment), "#"))
			}
			m := actionMajorRE.FindStringSubmatch(ref)
			if m == nil {
				continue // not a version we can read
			}
			major, _ := strconv.Atoi(m[1])
			version := lookupValue(step, "with", "version")
			lint := 0 // golangci-lint's major from with.version; 0: not given or "latest"
			if version != nil && strings.HasPrefix(version.Value, "v") && len(version.Value) > 1 {
				lint, _ = strconv.Atoi(strings.SplitN(version.Value[1:], ".", 2)[0])
			}
			switch {
			case major >= 7 && lint == 1:
				out = append(out, posError{Line: version.Line, Col: version.Column, Msg: fmt.Sprintf("golangci-lint-action v%d installs golangci-lint v2 only, not %s: use a v2 version (or the action v6 with v1)", major, version.Value)})
			case major < 7 && lint >= 2:
				out = append(out, posError{Line: uses.Line, Col: uses.Column, Msg: fmt.Sprintf("golangci-lint-action v%d cannot install golangci-lint %s: v2 needs the action v7 or later", major, version.Value)})
			case major < 7 && configV2:
				out = append(out, posError{Line: uses.Line, Col: uses.Column, Msg: fmt.Sprintf("golangci-lint-action v%d installs golangci-lint v1, which cannot read the version: \"2\" configuration: use the action v7 or later", major)})
			case lint == 1 && configV2:
				out = append(out, posError{Line: version.Line, Col: version.Column, Msg: fmt.Sprintf("golangci-lint %s cannot read the version: \"2\" configuration", version.Value)})
			}
		}
	}
	return out
}

func mapValues(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []*yaml.Node
	for i := 1; i < len(n.Content); i += 2 {
		out = append(out, n.Content[i])
	}
	return out
}
