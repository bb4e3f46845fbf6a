package scaffold

import (
	"cmp"
	"fmt"
	"slices"
	"text/template"
	"text/template/parse"
)

// Where a template calls a refused function, for paved template check. A
// render finds only the first such call, as a parse error (refusedError
// says why); check parses with the refused functions defined
// (refusedStubs) and reports every one at its place.

// refusedCall is a call of a refused function.
type refusedCall struct {
	why       string // refusedReason's
	line, col int
}

// refusedCalls lists t's calls of refused functions, in its own tree and
// in those it defines, in the order they appear. t is parsed with
// refusedStubs (parseTemplate), or a refused call would not parse.
func refusedCalls(t *template.Template) []refusedCall {
	var calls []refusedCall
	for _, tmpl := range t.Templates() {
		tree := tmpl.Tree
		if tree == nil || tree.Root == nil {
			continue
		}
		walkIdentifiers(tree.Root, func(id *parse.IdentifierNode) {
			if why, ok := refusedReason(id.Ident); ok {
				line, col := nodePlace(tree, id)
				calls = append(calls, refusedCall{why: why, line: line, col: col})
			}
		})
	}
	slices.SortFunc(calls, func(a, b refusedCall) int {
		return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.col, b.col))
	})
	return slices.Compact(calls)
}

// walkIdentifiers calls f for each function name (identifier) under n.
func walkIdentifiers(n parse.Node, f func(*parse.IdentifierNode)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkIdentifiers(c, f)
		}
	case *parse.ActionNode:
		walkIdentifiers(n.Pipe, f)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkIdentifiers(c, f)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walkIdentifiers(a, f)
		}
	case *parse.ChainNode:
		walkIdentifiers(n.Node, f)
	case *parse.IdentifierNode:
		f(n)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, f)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, f)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, f)
	case *parse.TemplateNode:
		walkIdentifiers(n.Pipe, f)
	}
}

func walkBranch(b *parse.BranchNode, f func(*parse.IdentifierNode)) {
	walkIdentifiers(b.Pipe, f)
	walkIdentifiers(b.List, f)
	walkIdentifiers(b.ElseList, f)
}

// reportRefused reports each refused call of t through report; it says
// whether there was any.
func reportRefused(t *template.Template, report func(call refusedCall)) bool {
	calls := refusedCalls(t)
	for _, call := range calls {
		report(call)
	}
	return len(calls) > 0
}

// refusedStubs defines every refused function as one that fails, for
// paved template check: its parse goes on past a refused call, so that it
// finds each one where it is. A render never holds them.
func refusedStubs() template.FuncMap {
	fm := template.FuncMap{}
	for _, row := range funcTable {
		if row.class != refused {
			continue
		}
		for _, name := range row.names {
			why, _ := refusedReason(name)
			fm[name] = func(...any) (string, error) { return "", fmt.Errorf("%s", why) }
		}
	}
	return fm
}
