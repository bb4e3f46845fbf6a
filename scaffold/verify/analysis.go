package verify

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// The Prometheus queries of AnalysisTemplates: each {{args.NAME}} is an
// argument the template declares; the query parses; it reads only metrics
// the service exposes (or rules record); and where the SLO rules deployed
// with it leave probe routes out of a metric (route!~...), the analysis
// leaves them out the same way: probes answer 503 on purpose while a pod
// starts or drains, and a canary judged on them fails for nothing.

type analysisTemplateShape struct {
	Spec struct {
		Args []struct {
			Name      string  `json:"name"`
			Value     *string `json:"value"`
			ValueFrom *struct {
				SecretKeyRef *struct{} `json:"secretKeyRef"`
				FieldRef     *struct{} `json:"fieldRef"`
			} `json:"valueFrom"`
		} `json:"args"`
		Metrics []struct {
			Name             string `json:"name"`
			SuccessCondition string `json:"successCondition"`
			FailureCondition string `json:"failureCondition"`
			Provider         struct {
				Prometheus *struct {
					Query string `json:"query"`
				} `json:"prometheus"`
			} `json:"provider"`
		} `json:"metrics"`
	} `json:"spec"`
}

// argRefRE matches the analysis's own templating ({{ args.NAME }}); other
// {{...}} (metric fields) are left as they are.
var (
	argRefRE   = regexp.MustCompile(`\{\{\s*args\.([^\s}]+)\s*\}\}`)
	templateRE = regexp.MustCompile(`\{\{[^}]*\}\}`)
)

func (rs *rolloutSet) queryFindings(ctx context.Context, check string) []Finding {
	exposed := exposedMetrics(rs.r)
	schema, _ := readMetricSchema(rs.r) // a schema that does not parse is the prometheus check's finding
	added := monitorLabels(rs.all)
	recorded, sloRoutes := rs.sloRules()
	p := parser.NewParser(parser.Options{})
	var out []Finding
	for _, t := range rs.templates {
		var ts analysisTemplateShape
		if t.decode(&ts) != nil {
			continue
		}
		o := t.o
		declared := map[string]bool{}
		for _, a := range ts.Spec.Args {
			declared[a.Name] = true
		}
		for i, m := range ts.Spec.Metrics {
			if m.Provider.Prometheus == nil {
				continue
			}
			q := m.Provider.Prometheus.Query
			qpath := fmt.Sprintf("spec.metrics[%d].provider.prometheus.query", i)
			qnode := yamlnode.At(o.Doc.Root, "spec", "metrics")
			if items := yamlnode.Items(qnode); i < len(items) {
				qnode = yamlnode.At(items[i], "provider", "prometheus", "query")
			} else {
				qnode = nodeAt(o, qpath)
			}
			at := func(off int) *yaml.Node {
				if qnode != nil {
					if l, c, ok := exprOffset(qnode, &ruleSource{obj: o}, off); ok {
						return &yaml.Node{Line: l, Column: c}
					}
				}
				return qnode
			}
			for _, ix := range argRefRE.FindAllStringSubmatchIndex(q, -1) {
				if name := q[ix[2]:ix[3]]; !declared[name] {
					out = append(out, o.finding(check, at(ix[0]), "%s: metric %q: {{args.%s}} is not an argument of the template (args: %s)", o.describe(), m.Name, name, strings.Join(sortedKeys(declared), ", ")))
				}
			}
			// Each {{...}} becomes as many x's, so offsets stay those of
			// the query (inside a label value, which is where the
			// arguments of these queries go).
			sub := templateRE.ReplaceAllStringFunc(q, func(s string) string { return strings.Repeat("x", len(s)) })
			expr, err := p.ParseExpr(sub)
			if err != nil {
				if sub == q {
					off := 0
					var perrs parser.ParseErrors
					if errors.As(err, &perrs) && len(perrs) > 0 {
						off = int(perrs[0].PositionRange.Start)
					}
					out = append(out, o.finding(check, at(off), "%s: metric %q: query: %v", o.describe(), m.Name, err))
				}
				continue
			}
			var mnode *yaml.Node
			if items := yamlnode.Items(yamlnode.At(o.Doc.Root, "spec", "metrics")); i < len(items) {
				mnode = items[i]
			}
			conds := conditionFindings(check, o, mnode, m.Name, m.SuccessCondition, m.FailureCondition, expr.Type())
			out = append(out, conds...)
			if len(conds) == 0 {
				out = append(out, canaryFindings(ctx, check, o, mnode, m.Name, sub, expr, m.SuccessCondition, m.FailureCondition, schema)...)
			}
			for _, u := range unknownLabels(expr, schema, added, rs.r.Service) {
				out = append(out, o.finding(check, at(u.offset), "%s: metric %q %s", o.describe(), m.Name, u.message()))
			}
			if exposed != nil {
				for _, u := range unexposedMetrics(expr, exposed, recorded, rs.r.Service) {
					out = append(out, o.finding(check, at(u.offset), "%s: metric %q reads %q, which the service does not expose (%s)", o.describe(), m.Name, u.name, exposed.where))
				}
			}
			hashReported, routeReported := false, map[string]bool{}
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				vs, ok := n.(*parser.VectorSelector)
				if !ok {
					return nil
				}
				if msg := rs.hashLabelProblem(vs); msg != "" && !hashReported {
					hashReported = true // once per query
					out = append(out, o.finding(check, at(int(vs.PosRange.Start)), "%s: metric %q: %s", o.describe(), m.Name, msg))
				}
				want, ok := sloRoutes[vs.Name]
				if !ok || routeReported[vs.Name] {
					return nil
				}
				for _, lm := range vs.LabelMatchers {
					if lm.Name == want.Name && lm.Type == want.Type && lm.Value == want.Value {
						return nil
					}
				}
				routeReported[vs.Name] = true // once per metric and query
				out = append(out, o.finding(check, at(int(vs.PosRange.Start)), "%s: metric %q reads %s without the SLO rules' %s: probe routes count against the canary", o.describe(), m.Name, vs.Name, want))
				return nil
			})
		}
	}
	return out
}

// sloRules reads the PrometheusRules of the set: the names their rules
// record, and per metric the route matcher their expressions exclude
// routes with (the first one found).
func (rs *rolloutSet) sloRules() (map[string]bool, map[string]*labels.Matcher) {
	recorded := map[string]bool{}
	routes := map[string]*labels.Matcher{}
	p := parser.NewParser(parser.Options{})
	for _, o := range rs.all {
		if o.Kind != "PrometheusRule" || o.group() != "monitoring.coreos.com" {
			continue
		}
		var pr struct {
			Spec struct {
				Groups []struct {
					Rules []struct {
						Record string `json:"record"`
						Expr   string `json:"expr"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"spec"`
		}
		if decodeObject(o, &pr) != nil {
			continue
		}
		for _, g := range pr.Spec.Groups {
			for _, rl := range g.Rules {
				if rl.Record != "" {
					recorded[rl.Record] = true
				}
				expr, err := p.ParseExpr(rl.Expr)
				if err != nil {
					continue
				}
				parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
					vs, ok := n.(*parser.VectorSelector)
					if !ok || vs.Name == "" {
						return nil
					}
					for _, lm := range vs.LabelMatchers {
						if lm.Name == "route" && (lm.Type == labels.MatchNotRegexp || lm.Type == labels.MatchNotEqual) {
							if _, seen := routes[vs.Name]; !seen {
								routes[vs.Name] = lm
							}
						}
					}
					return nil
				})
			}
		}
	}
	return recorded, routes
}

// hashLabel is the series label the Prometheus Operator makes of the pod
// label rollouts-pod-template-hash when a ServiceMonitor lists it in
// podTargetLabels.
const hashLabel = "rollouts_pod_template_hash"

// hashLabelProblem: a selector on rollouts_pod_template_hash finds series
// only when a ServiceMonitor deployed with it copies the pod label onto
// them; without one the analysis never has data.
func (rs *rolloutSet) hashLabelProblem(vs *parser.VectorSelector) string {
	uses := false
	for _, lm := range vs.LabelMatchers {
		uses = uses || lm.Name == hashLabel
	}
	if !uses {
		return ""
	}
	monitors := 0
	for _, o := range rs.all {
		if o.Kind != "ServiceMonitor" || o.group() != "monitoring.coreos.com" {
			continue
		}
		monitors++
		var sm struct {
			Spec struct {
				PodTargetLabels []string `json:"podTargetLabels"`
			} `json:"spec"`
		}
		if decodeObject(o, &sm) == nil && slices.Contains(sm.Spec.PodTargetLabels, "rollouts-pod-template-hash") {
			return ""
		}
	}
	if monitors == 0 {
		return "" // scraped some other way: not known here
	}
	return fmt.Sprintf("selects %s, which no ServiceMonitor copies from the pods (podTargetLabels: [rollouts-pod-template-hash]): the analysis never has data", hashLabel)
}

// conditionFindings evaluates a metric's conditions on a measurement with
// data (a typo in them errors on every measurement) and on what the query
// returns without traffic (see analysiscond.go).
func conditionFindings(check string, o *kobject, metric *yaml.Node, name, success, failure string, t parser.ValueType) []Finding {
	if success == "" && failure == "" {
		return nil
	}
	at := func(err error) *yaml.Node {
		key := "successCondition"
		if err != nil && strings.HasPrefix(err.Error(), "failureCondition") || success == "" {
			key = "failureCondition"
		}
		if n := yamlnode.Value(metric, key); n != nil {
			return n
		}
		return metric
	}
	var sample any = []float64{1}
	if t == parser.ValueTypeScalar {
		sample = 1.0
	}
	if phase, err := analysisPhase(sample, success, failure); phase == "Error" {
		return []Finding{o.finding(check, at(err), "%s: metric %q: %v, for any result such as %s", o.describe(), name, err, resultString(sample))}
	}
	for _, r := range noTrafficResults(t) {
		phase, err := analysisPhase(r, success, failure)
		switch phase {
		case "Successful":
			return []Finding{o.finding(check, at(nil), "%s: metric %q: with no traffic (result %s) the measurement is Successful: a canary that serves nothing passes; make it Inconclusive (e.g. len(result) > 0 && !isNaN(result[0]) && ...)", o.describe(), name, resultString(r))}
		case "Error":
			return []Finding{o.finding(check, at(err), "%s: metric %q: with no traffic (result %s) the measurement is an Error (%v), which counts towards aborting the rollout; make it Inconclusive (e.g. len(result) > 0 && ...)", o.describe(), name, resultString(r), err)}
		}
	}
	return nil
}
