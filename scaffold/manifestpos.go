package scaffold

import "go.yaml.in/yaml/v3"

// The parser keeps the YAML nodes of paved.yaml's expressions and globs,
// so that template check reports each finding where its text is, without
// parsing the manifest again.

// manifestPos holds where paved.yaml's expressions and globs are; a
// node the parser did not see stays nil (reported at line 1).
type manifestPos struct {
	questions  []questionPos
	filesPath  map[int]*yaml.Node
	filesWhen  map[int]*yaml.Node
	renameFrom map[string]*yaml.Node
	renameTo   map[string]*yaml.Node
	exclude    map[int]*yaml.Node
}

type questionPos struct{ node, when, dflt *yaml.Node }

func (p *manifestPos) question(i int) questionPos {
	if i < len(p.questions) {
		return p.questions[i]
	}
	return questionPos{}
}
