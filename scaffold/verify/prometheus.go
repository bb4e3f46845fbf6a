package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// prometheus checks alerting and recording rules, in plain rule files and
// in PrometheusRule objects (plain or rendered from a chart), with
// Prometheus's own rulefmt (unknown keys rejected, as promtool does) and
// PromQL parser, and checks that every metric a rule reads from the
// service is one the service's code exposes, where that can be known.
// Every Prometheus Operator object (PrometheusRule, ServiceMonitor, ...)
// is first decoded strictly into the operator's own API types.
type prometheus struct{}

func (prometheus) Name() string { return "prometheus" }

var monitoringScheme = sync.OnceValue(func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := monitoringv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
})

// A ruleSource is one set of rule groups: a plain rule file or the spec of
// a PrometheusRule.
type ruleSource struct {
	file string
	obj  *kobject   // nil for a plain file
	node *yaml.Node // the mapping that holds groups:
	src  []byte     // what rulefmt parses
	// orig maps a node of the parsed src (by line and column) to the node
	// of the original document, for a re-encoded PrometheusRule spec.
	orig map[[2]int]*yaml.Node
	line map[int]*yaml.Node
}

func (s *ruleSource) finding(check string, n *yaml.Node, line, col int, format string, args ...any) Finding {
	if s.obj != nil {
		if n == nil {
			n = s.node
		}
		return s.obj.finding(check, n, format, args...)
	}
	if n != nil {
		line, col = n.Line, n.Column
	}
	return Finding{Path: s.file, Line: max(line, 1), Col: max(col, 1), Check: check, Message: fmt.Sprintf(format, args...)}
}

// origNode returns the original node at a position of src.
func (s *ruleSource) origNode(line, col int) *yaml.Node {
	if s.orig == nil {
		return nil
	}
	if n := s.orig[[2]int{line, col}]; n != nil {
		return n
	}
	return s.line[line]
}

func (c prometheus) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	sources, err := ruleSources(ctx, r)
	if err != nil {
		return nil, err
	}
	var out []Finding
	// Prometheus Operator objects decode strictly into the operator's types
	// first; a PrometheusRule that does not is not checked further.
	skip := map[*kobject]bool{}
	objs, err := r.allObjects(ctx)
	if err != nil {
		return nil, err
	}
	monitoring := 0
	for _, o := range objs {
		if o.group() != "monitoring.coreos.com" {
			continue
		}
		monitoring++
		gv, _ := schema.ParseGroupVersion(o.APIVersion)
		obj, err := monitoringScheme().New(gv.WithKind(o.Kind))
		if err != nil {
			out = append(out, o.finding(c.Name(), yamlnode.Key(o.Doc.Root, "kind"), "%s: unknown Prometheus Operator kind %s in %s", o.describe(), o.Kind, o.APIVersion))
			skip[o] = true
			continue
		}
		if fs := decodeStrict(c.Name(), o, obj); len(fs) > 0 {
			out = append(out, fs...)
			skip[o] = true
			continue
		}
		// The CRDs' pattern for durations (interval, scrapeTimeout, ...).
		walkDurations(reflect.ValueOf(obj), "", func(path, d string) {
			if _, err := model.ParseDuration(d); err != nil {
				n, _ := lookup(o.Doc.Root, parseFieldPath(path))
				out = append(out, o.finding(c.Name(), n, "%s: %s: %v", o.describe(), path, err))
			}
		})
	}
	if len(sources) == 0 && monitoring == 0 {
		return nil, ErrNoInput
	}
	exposed := exposedMetrics(r)
	recorded := map[string]bool{}
	var ok []parsedRules
	p := parser.NewParser(parser.Options{})
	logger := slog.New(slog.DiscardHandler)
	for _, s := range sources {
		if s.obj != nil && skip[s.obj] {
			continue
		}
		if strict := s.strictFindings(c.Name()); len(strict) > 0 {
			out = append(out, strict...) // rulefmt would stop at the first
			continue
		}
		rgs, errs := rulefmt.Parse(s.src, false, model.UTF8Validation, p, logger)
		for _, e := range errs {
			out = append(out, ruleError(c.Name(), s, e))
		}
		if len(errs) == 0 && rgs != nil {
			ok = append(ok, parsedRules{s, rgs})
			for _, g := range rgs.Groups {
				for _, rl := range g.Rules {
					if rl.Record != "" {
						recorded[rl.Record] = true
					}
				}
			}
		}
	}
	out = append(out, sloChecks(c.Name(), p, ok)...)
	schema, fs := readMetricSchema(r)
	out = append(out, fs...)
	added := monitorLabels(objs)
	for _, pr := range ok {
		pr.eachRule(p, func(rl rulefmt.Rule, expr parser.Expr, at func(offset int) *yaml.Node) {
			for _, u := range unknownLabels(expr, schema, added, r.Service) {
				out = append(out, pr.s.finding(c.Name(), at(u.offset), 0, 0, "rule %q %s", cmp.Or(rl.Record, rl.Alert), u.message()))
			}
		})
	}
	if exposed == nil {
		return out, nil
	}
	for _, pr := range ok {
		pr.eachRule(p, func(rl rulefmt.Rule, expr parser.Expr, at func(offset int) *yaml.Node) {
			name := cmp.Or(rl.Record, rl.Alert)
			for _, m := range unexposedMetrics(expr, exposed, recorded, r.Service) {
				if strings.Contains(m.name, ":") {
					continue // a recording rule's name: unrecordedReads
				}
				out = append(out, pr.s.finding(c.Name(), at(m.offset), 0, 0, "rule %q reads %q, which the service does not expose (%s)", name, m.name, exposed.where))
			}
		})
	}
	return out, nil
}

// eachRule calls f for every rule of the source whose expression parses,
// with a function that places an offset of the expression in the file.
func (pr parsedRules) eachRule(p parser.Parser, f func(rl rulefmt.Rule, expr parser.Expr, at func(offset int) *yaml.Node)) {
	var exprs []*yaml.Node
	collectExprNodes(pr.s.node, &exprs)
	i := 0
	for _, g := range pr.rgs.Groups {
		for _, rl := range g.Rules {
			var n *yaml.Node
			if i < len(exprs) {
				n = exprs[i]
			}
			i++
			expr, err := p.ParseExpr(rl.Expr)
			if err != nil {
				continue
			}
			f(rl, expr, func(offset int) *yaml.Node {
				if n != nil {
					if l, col, ok := exprOffset(n, pr.s, offset); ok {
						return &yaml.Node{Line: l, Column: col}
					}
				}
				return n
			})
		}
	}
}

// parsedRules are the rule groups of one source that rulefmt accepted.
type parsedRules struct {
	s   *ruleSource
	rgs *rulefmt.RuleGroups
}

// sloChecks checks every alerting rule that is an SLO burn-rate alert
// (see burnRateProblems), at the place in its expression.
func sloChecks(check string, p parser.Parser, sources []parsedRules) []Finding {
	var groups []*rulefmt.RuleGroups
	for _, pr := range sources {
		groups = append(groups, pr.rgs)
	}
	rules := recordingRules(p, groups)
	var out []Finding
	for _, pr := range sources {
		pr.eachRule(p, func(rl rulefmt.Rule, expr parser.Expr, at func(offset int) *yaml.Node) {
			problems := unrecordedReads(cmp.Or(rl.Alert, rl.Record), expr, rules)
			if rl.Alert != "" {
				problems = append(problems, burnRateProblems(rl, expr, rules)...)
			}
			for _, pb := range problems {
				out = append(out, pr.s.finding(check, at(pb.off), 0, 0, "%s", pb.msg))
			}
		})
	}
	return out
}

// collectExprNodes lists the expr: values of the rules of a groups mapping,
// in order.
func collectExprNodes(groups *yaml.Node, out *[]*yaml.Node) {
	for _, g := range yamlnode.Items(yamlnode.Value(groups, "groups")) {
		for _, rl := range yamlnode.Items(yamlnode.Value(g, "rules")) {
			*out = append(*out, yamlnode.Value(rl, "expr"))
		}
	}
}

var posPrefixRE = regexp.MustCompile(`^(\d+):(\d+): (?:(\d+):(\d+): )?(.*)$`)

// ruleError places one rulefmt error: decoding errors carry "line N:",
// validation errors a "L:C: " prefix, and PromQL errors an offset within
// the expression, which is traced to the file.
func ruleError(check string, s *ruleSource, err error) Finding {
	msg := err.Error()
	line, col := 0, 0
	if m := posPrefixRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		col, _ = strconv.Atoi(m[2])
		msg = m[5]
	}
	var n *yaml.Node
	switch {
	case s.orig != nil && line > 0:
		n = s.origNode(line, col)
	case line > 0:
		n = &yaml.Node{Line: line, Column: col}
	}
	// A PromQL error: point into the expression.
	var perrs parser.ParseErrors
	if errors.As(err, &perrs) && len(perrs) > 0 && n != nil {
		if l, c, ok := exprOffset(n, s, int(perrs[0].PositionRange.Start)); ok {
			if s.obj == nil {
				return Finding{Path: s.file, Line: l, Col: c, Check: check, Message: msg}
			}
			n = &yaml.Node{Line: l, Column: c}
		}
	}
	return s.finding(check, n, line, col, "%s", msg)
}

// strictFindings reports every unknown key and mistyped value of the
// rule groups, each at its node (rulefmt reports the first, as text).
func (s *ruleSource) strictFindings(check string) []Finding {
	root, errs := parseYAML(s.src)
	if len(errs) > 0 {
		return []Finding{s.findingAt(check, errs[0].Line, errs[0].Col, "YAML: "+errs[0].Msg)}
	}
	var out []Finding
	strictYAML(root, reflect.TypeFor[rulefmt.RuleGroups](), func(n *yaml.Node, msg string) {
		out = append(out, s.findingAt(check, n.Line, n.Column, msg))
	})
	return out
}

// findingAt makes a finding at a position of s.src.
func (s *ruleSource) findingAt(check string, line, col int, msg string) Finding {
	if s.orig != nil {
		return s.finding(check, s.origNode(line, col), 0, 0, "%s", msg)
	}
	return s.finding(check, nil, line, col, "%s", msg)
}

// exprOffset maps a byte offset within an expr: value to a file position:
// in a literal block (|) the expression keeps its lines; a plain or
// quoted value is on one line.
func exprOffset(n *yaml.Node, s *ruleSource, off int) (int, int, bool) {
	if n.Kind != yaml.ScalarNode || off < 0 || off > len(n.Value) {
		return 0, 0, false
	}
	if off == len(n.Value) && strings.HasSuffix(n.Value, "\n") {
		off-- // the end of the expression, not the line after it
	}
	before := n.Value[:off]
	switch n.Style {
	case yaml.LiteralStyle:
		nl := strings.Count(before, "\n")
		line := n.Line + 1 + nl
		// The block's indentation is its first line's; deeper lines keep
		// the rest of their indentation in the value.
		src := s.src
		if s.obj != nil {
			src = s.obj.text
		}
		indent := indentOf(src, n.Line+1)
		return line, indent + off - (strings.LastIndexByte(before, '\n') + 1) + 1, true
	case 0:
		if !strings.Contains(before, "\n") {
			return n.Line, n.Column + off, true
		}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if !strings.Contains(before, "\n") {
			return n.Line, n.Column + 1 + off, true
		}
	}
	return 0, 0, false
}

func indentOf(src []byte, line int) int {
	lines := strings.Split(string(src), "\n")
	if line < 1 || line > len(lines) {
		return 0
	}
	return len(lines[line-1]) - len(strings.TrimLeft(lines[line-1], " "))
}

// ruleSources finds plain rule files and PrometheusRule objects.
func ruleSources(ctx context.Context, r *Repo) ([]*ruleSource, error) {
	var out []*ruleSource
	candidates, err := manifestCandidates(r)
	if err != nil {
		return nil, err
	}
	for _, f := range candidates {
		src, err := r.Read(f)
		if err != nil {
			return nil, err
		}
		s := string(src)
		if !strings.Contains(s, "groups:") || !strings.Contains(s, "rules:") || strings.Contains(s, "apiVersion:") {
			continue
		}
		var doc yaml.Node
		if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 || yamlnode.Value(doc.Content[0], "groups") == nil {
			continue
		}
		out = append(out, &ruleSource{file: f, node: doc.Content[0], src: src})
	}
	objs, err := r.allObjects(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if o.Kind != "PrometheusRule" || o.group() != "monitoring.coreos.com" {
			continue
		}
		spec := yamlnode.Value(o.Doc.Root, "spec")
		if spec == nil {
			continue
		}
		src, err := yaml.Marshal(spec)
		if err != nil {
			continue
		}
		s := &ruleSource{file: o.File, obj: o, node: spec, src: src, orig: map[[2]int]*yaml.Node{}, line: map[int]*yaml.Node{}}
		var re yaml.Node
		if yaml.Unmarshal(src, &re) == nil && len(re.Content) > 0 {
			pairNodes(re.Content[0], spec, s)
		}
		out = append(out, s)
	}
	return out, nil
}

// pairNodes walks a re-encoded tree and the original together (they have
// the same shape) and records where each re-encoded node came from.
func pairNodes(re, orig *yaml.Node, s *ruleSource) {
	if re == nil || orig == nil {
		return
	}
	s.orig[[2]int{re.Line, re.Column}] = orig
	if _, ok := s.line[re.Line]; !ok {
		s.line[re.Line] = orig
	}
	if len(re.Content) != len(orig.Content) {
		return
	}
	for i := range re.Content {
		pairNodes(re.Content[i], orig.Content[i], s)
	}
}

// unexposedMetrics lists the metrics an expression reads from the service
// (selectors with no job matcher or job="<service>") that are neither
// exposed nor recorded by a rule.
func unexposedMetrics(expr parser.Expr, exposed *metricSet, recorded map[string]bool, service string) []metricUse {
	var out []metricUse
	seen := map[string]bool{}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name, ours := serviceSeries(vs, service)
		if !ours || name == "" || recorded[name] || seen[name] || exposed.has(name) {
			return nil
		}
		seen[name] = true
		out = append(out, metricUse{name: name, offset: int(vs.PositionRange().Start)})
		return nil
	})
	return out
}

// serviceSeries returns the metric name a selector reads (its name, or an
// exact __name__ matcher) and whether the series are the service's own: no
// job matcher, or job="<service>" (another job's, or one not known
// statically, are not).
func serviceSeries(vs *parser.VectorSelector, service string) (name string, ours bool) {
	name = vs.Name
	for _, m := range vs.LabelMatchers {
		switch {
		case m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual:
			name = m.Value
		case m.Name == "job" && (m.Type != labels.MatchEqual || m.Value != service):
			return name, false
		}
	}
	return name, true
}

// metricUse is a metric an expression reads, at a byte offset in it.
type metricUse struct {
	name   string
	offset int
}

var durationType = reflect.TypeFor[monitoringv1.Duration]()

// walkDurations calls f with the JSON path and value of every non-empty
// monitoringv1.Duration in v.
func walkDurations(v reflect.Value, path string, f func(path, d string)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkDurations(v.Elem(), path, f)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			p := path
			if !sf.Anonymous && name != "" && name != "-" {
				p = strings.TrimPrefix(path+"."+name, ".")
			}
			walkDurations(v.Field(i), p, f)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkDurations(v.Index(i), fmt.Sprintf("%s[%d]", path, i), f)
		}
	case reflect.String:
		if v.Type() == durationType && v.String() != "" {
			f(path, v.String())
		}
	}
}
