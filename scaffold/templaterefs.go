package scaffold

import (
	"slices"
	"strconv"
	"text/template"
	"text/template/parse"
)

// What a template reads of its render data, from its parse tree: the
// answers it uses, for paved template check.

// parseTemplate parses text with the manifest's delimiters and functions,
// outside the manifest's template set; refused functions are defined
// (refusedStubs), so that check finds every call of one (refusedCalls).
func parseTemplate(m *Manifest, name, text string) (*template.Template, error) {
	return template.New(name).Delims(m.Delims[0], m.Delims[1]).Funcs(funcMap(newFuncBudget())).Funcs(refusedStubs()).Parse(text)
}

func refNames(t *template.Template) []string {
	var names []string
	for _, r := range fieldRefs(t.Tree) {
		if !slices.Contains(names, r.name) {
			names = append(names, r.name)
		}
	}
	return names
}

// fieldRef is a use of a render data name: .Name or $.Name.
type fieldRef struct {
	name string
	node parse.Node
}

// fieldRefs walks a parse tree for the top-level names it reads. Inside
// range and with, dot is another value, so only $.Name counts there.
func fieldRefs(tree *parse.Tree) []fieldRef {
	var refs []fieldRef
	var walk func(n parse.Node, root bool)
	walkList := func(l *parse.ListNode, root bool) {
		if l != nil {
			walk(l, root)
		}
	}
	walk = func(n parse.Node, root bool) {
		switch n := n.(type) {
		case *parse.ListNode:
			for _, c := range n.Nodes {
				walk(c, root)
			}
		case *parse.ActionNode:
			walk(n.Pipe, root)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c, root)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a, root)
			}
		case *parse.FieldNode:
			if root {
				refs = append(refs, fieldRef{n.Ident[0], n})
			}
		case *parse.VariableNode:
			if n.Ident[0] == "$" && len(n.Ident) > 1 {
				refs = append(refs, fieldRef{n.Ident[1], n})
			}
		case *parse.ChainNode:
			walk(n.Node, root)
		case *parse.IfNode:
			walk(n.Pipe, root)
			walkList(n.List, root)
			walkList(n.ElseList, root)
		case *parse.RangeNode:
			walk(n.Pipe, root)
			walkList(n.List, false)
			walkList(n.ElseList, root)
		case *parse.WithNode:
			walk(n.Pipe, root)
			walkList(n.List, false)
			walkList(n.ElseList, root)
		case *parse.TemplateNode:
			walk(n.Pipe, root)
		}
	}
	if tree != nil && tree.Root != nil {
		walk(tree.Root, true)
	}
	return refs
}

// hasAction reports whether a parse tree holds anything but text.
func hasAction(l *parse.ListNode) bool {
	return slices.ContainsFunc(l.Nodes, func(n parse.Node) bool { return n.Type() != parse.NodeText })
}

// nodePlace is a node's line and column.
func nodePlace(tree *parse.Tree, n parse.Node) (int, int) {
	loc, _ := tree.ErrorContext(n)
	rest, colStr, _ := cutLast(loc, ":")
	_, lineStr, _ := cutLast(rest, ":")
	line, _ := strconv.Atoi(lineStr)
	col, _ := strconv.Atoi(colStr)
	return max(line, 1), max(col, 1)
}
