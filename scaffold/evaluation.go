package scaffold

import (
	"context"
	"errors"
	"sync"
	"text/template"
	"text/template/parse"
	"time"
)

// evaluation bounds everything one template evaluates, its manifest's
// expressions (defaults, conditions, paths) and its files alike: one
// deadline for the time all of them take together (time a person spends
// at a prompt between them is not counted), one cap on the bytes they
// write, one on what their functions return. When the deadline passes, or
// the caller stops waiting, the evaluation is over: nothing more starts,
// and what is running stops at its next loop iteration, template call or
// write (see instrument), rather than running on unseen.
type evaluation struct {
	lim    Limits
	funcs  *funcBudget
	output *outputBudget

	stop     chan struct{} // closed when the evaluation is over
	stopOnce sync.Once

	mu    sync.Mutex
	spent time.Duration
}

func newEvaluation(lim Limits) *evaluation {
	lim = lim.withDefaults()
	e := &evaluation{lim: lim, stop: make(chan struct{})}
	e.funcs = &funcBudget{max: maxFuncBytes, stop: e.stop}
	e.output = newOutputBudget(lim, e.stop)
	return e
}

// end stops the evaluation for good.
func (e *evaluation) end() { e.stopOnce.Do(func() { close(e.stop) }) }

func (e *evaluation) over() bool {
	select {
	case <-e.stop:
		return true
	default:
		return false
	}
}

// left is the evaluation time not yet spent.
func (e *evaluation) left() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lim.Timeout - e.spent
}

func (e *evaluation) charge(d time.Duration) {
	e.mu.Lock()
	e.spent += d
	e.mu.Unlock()
}

// evaluate runs fn as part of e, within the time e has left; at the
// deadline (errRenderTimeout) or when ctx ends, e is over.
func evaluate[T any](ctx context.Context, e *evaluation, fn func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	left := e.left()
	if e.over() || left <= 0 {
		e.end()
		return zero, errRenderTimeout
	}
	start := time.Now()
	v, err := runBounded(ctx, left, fn)
	e.charge(time.Since(start))
	if errors.Is(err, errRenderTimeout) || ctx.Err() != nil {
		e.end()
	}
	return v, err
}

// deadlineFunc is the function instrument calls at the start of every
// range body and every template (funcBudget.deadline): it fails once the
// evaluation is over.
const deadlineFunc = "pavedDeadline"

// instrument makes every template of the set that is not yet instrumented
// call deadlineFunc first, and at the start of each range body. A
// text/template execution can loop for ever without calling a function or
// writing a byte (`{{ range 1000000000 }}{{ range 1000000000 }}{{ end }}{{ end }}`,
// or a template that calls itself twice); with these calls every loop and
// every recursion checks the deadline, so an abandoned execution ends at
// once instead of burning a core until the process exits.
func (m *Manifest) instrument() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.instrumented == nil {
		m.instrumented = map[*parse.Tree]bool{}
	}
	for _, t := range m.templates.Templates() {
		tr := t.Tree
		if tr == nil || tr.Root == nil || m.instrumented[tr] {
			continue
		}
		m.instrumented[tr] = true
		instrumentList(tr, tr.Root)
		tr.Root.Nodes = append([]parse.Node{deadlineAction(tr, tr.Root.Pos)}, tr.Root.Nodes...)
	}
}

func instrumentList(tr *parse.Tree, list *parse.ListNode) {
	if list == nil {
		return
	}
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.IfNode:
			instrumentList(tr, n.List)
			instrumentList(tr, n.ElseList)
		case *parse.WithNode:
			instrumentList(tr, n.List)
			instrumentList(tr, n.ElseList)
		case *parse.RangeNode:
			instrumentList(tr, n.List)
			instrumentList(tr, n.ElseList)
			n.List.Nodes = append([]parse.Node{deadlineAction(tr, n.Position())}, n.List.Nodes...)
		}
	}
}

// deadlineAction is the action {{ pavedDeadline }}, which prints nothing.
func deadlineAction(tr *parse.Tree, pos parse.Pos) *parse.ActionNode {
	id := parse.NewIdentifier(deadlineFunc).SetTree(tr).SetPos(pos)
	cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{id}}
	pipe := &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Cmds: []*parse.CommandNode{cmd}}
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Pipe: pipe}
}

// evaluation is m's evaluation; the first use without limits set takes
// the defaults.
func (m *Manifest) evaluation() *evaluation {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.eval == nil {
		m.eval = newEvaluation(Limits{})
	}
	return m.eval
}

// bound starts m's evaluation with lim, before anything of it is
// evaluated (the template set's functions are bound to it).
func (m *Manifest) bound(lim Limits) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.eval = newEvaluation(lim)
	m.templates, m.instrumented = nil, nil
}

func (m *Manifest) bounded() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.eval != nil
}

// parse parses text as the template name of m's set, instrumented.
func (m *Manifest) parse(name, text string) (*template.Template, error) {
	t, err := newTemplate(m, name).Parse(text)
	if err != nil {
		return nil, err
	}
	m.instrument()
	return t, nil
}
