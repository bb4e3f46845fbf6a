package templates_test

// The service chart's canary, checked on what Helm renders: the Rollout,
// the objects that point at its pods (Service, HPA, PDB, NetworkPolicy,
// topology spread), its Istio routing, its AnalysisTemplate and the
// ServiceMonitor the analysis reads all name one another as Argo Rollouts
// needs them to.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved/templates/templatetest"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// canaryHash stands for the canary ReplicaSet's rollouts-pod-template-hash.
const canaryHash = "6d4f8b9c7"

func checkRollout(t *testing.T, kinds map[string][]obj, ns string) {
	t.Helper()
	if len(kinds["Rollout"]) != 1 {
		t.Fatalf("%d Rollouts, want 1", len(kinds["Rollout"]))
	}
	ro := kinds["Rollout"][0]
	podLabels := stringMap(ro.get("spec", "template", "metadata", "labels"))
	selects := func(what string, sel any) {
		t.Helper()
		m := stringMap(sel)
		if len(m) == 0 {
			t.Errorf("%s selects every pod", what)
		}
		for k, v := range m {
			if podLabels[k] != v {
				t.Errorf("%s selects %s=%s, which %s's pods do not carry", what, k, v, ro.id())
			}
		}
		if _, ok := m["rollouts-pod-template-hash"]; ok {
			t.Errorf("%s selects one ReplicaSet's pods, not the stable and canary ones", what)
		}
	}
	selects(ro.id()+" selector", ro.get("spec", "selector", "matchLabels"))
	for _, svc := range kinds["Service"] {
		selects(svc.id(), svc.get("spec", "selector"))
	}
	for _, o := range kinds["PodDisruptionBudget"] {
		selects(o.id(), o.get("spec", "selector", "matchLabels"))
	}
	for _, o := range kinds["NetworkPolicy"] {
		selects(o.id(), o.get("spec", "podSelector", "matchLabels"))
	}
	for _, c := range anySlice(ro.get("spec", "template", "spec", "topologySpreadConstraints")) {
		tsc := obj(c.(map[string]any))
		selects("topologySpreadConstraint "+tsc.str("topologyKey"), tsc.get("labelSelector", "matchLabels"))
		// A Rollout's ReplicaSets label their pods rollouts-pod-template-hash;
		// pod-template-hash (the Deployment controller's) is on none of them.
		if keys := anyStrings(tsc.get("matchLabelKeys")); !slices.Equal(keys, []string{"rollouts-pod-template-hash"}) {
			t.Errorf("topologySpreadConstraint %s: matchLabelKeys %v, want [rollouts-pod-template-hash]", tsc.str("topologyKey"), keys)
		}
	}
	for _, h := range kinds["HorizontalPodAutoscaler"] {
		ref := obj(h.get("spec", "scaleTargetRef").(map[string]any))
		if ref.str("apiVersion") != "argoproj.io/v1alpha1" || ref.str("kind") != "Rollout" || ref.str("name") != ro.str("metadata", "name") {
			t.Errorf("%s scales %v, want %s", h.id(), ref, ro.id())
		}
	}
	canary, _ := ro.get("spec", "strategy", "canary").(map[string]any)
	if canary == nil {
		t.Fatalf("%s: no canary strategy", ro.id())
	}
	checkTrafficRouting(t, obj(canary), kinds)
	checkSteps(t, ro, kinds, ns)
}

// checkTrafficRouting: with the chart's VirtualService the canary routes
// through it (every one of its HTTP routes, so none sends canary requests
// around the weights) and its DestinationRule's subsets; without one, the
// canary is weighted by replicas.
func checkTrafficRouting(t *testing.T, canary obj, kinds map[string][]obj) {
	t.Helper()
	vss, drs := kinds["VirtualService"], kinds["DestinationRule"]
	istio, _ := canary.get("trafficRouting", "istio").(map[string]any)
	if len(vss) == 0 {
		if canary.get("trafficRouting") != nil {
			t.Errorf("trafficRouting %v without a VirtualService", canary.get("trafficRouting"))
		}
		return
	}
	if istio == nil || len(vss) != 1 || len(drs) != 1 {
		t.Fatalf("%d VirtualServices, %d DestinationRules, trafficRouting.istio %v: want the Rollout to route through the chart's", len(vss), len(drs), istio)
	}
	is := obj(istio)
	if got, want := is.str("virtualService", "name"), vss[0].str("metadata", "name"); got != want {
		t.Errorf("trafficRouting names VirtualService %q, the chart renders %q", got, want)
	}
	var routes []string
	for _, r := range anySlice(vss[0].get("spec", "http")) {
		routes = append(routes, obj(r.(map[string]any)).str("name"))
	}
	if got := anyStrings(is.get("virtualService", "routes")); !slices.Equal(got, routes) || !slices.Equal(got, []string{"idempotent", "default"}) {
		t.Errorf("trafficRouting routes %v, the VirtualService's are %v, want [idempotent default]", got, routes)
	}
	dr := obj(is.get("destinationRule").(map[string]any))
	if got, want := dr.str("name"), drs[0].str("metadata", "name"); got != want {
		t.Errorf("trafficRouting names DestinationRule %q, the chart renders %q", got, want)
	}
	if dr.str("stableSubsetName") != "stable" || dr.str("canarySubsetName") != "canary" {
		t.Errorf("subsets %q/%q, want stable/canary", dr.str("stableSubsetName"), dr.str("canarySubsetName"))
	}
}

// checkSteps: the weights rise below 100, each is held for a pause, and,
// when the chart renders its AnalysisTemplate, judged by it with the
// canary's hash before the next; the template's queries select the
// canary's series, which the ServiceMonitor labels with the hash.
func checkSteps(t *testing.T, ro obj, kinds map[string][]obj, ns string) {
	t.Helper()
	ats := kinds["AnalysisTemplate"]
	if len(ats) > 1 {
		t.Fatalf("%d AnalysisTemplates", len(ats))
	}
	var steps []obj
	for _, s := range anySlice(ro.get("spec", "strategy", "canary", "steps")) {
		steps = append(steps, obj(s.(map[string]any)))
	}
	prev := 0
	for i := 0; i < len(steps); {
		w, ok := steps[i].get("setWeight").(int)
		if !ok || w <= prev || w >= 100 {
			t.Fatalf("step %d: %v, want a setWeight above %d and below 100", i, steps[i], prev)
		}
		prev = w
		i++
		var paused, analysed bool
		for ; i < len(steps) && steps[i].get("setWeight") == nil; i++ {
			paused = paused || steps[i].get("pause") != nil
			if a, ok := steps[i].get("analysis").(map[string]any); ok {
				analysed = true
				checkStepAnalysis(t, obj(a), ats)
			}
		}
		if !paused || analysed != (len(ats) == 1) {
			t.Errorf("weight %d%%: paused %v, analysed %v (AnalysisTemplates: %d)", w, paused, analysed, len(ats))
		}
	}
	if prev == 0 {
		t.Error("no canary step")
	}
	if len(ats) == 0 {
		return
	}
	sms := kinds["ServiceMonitor"]
	if len(sms) != 1 || !slices.Contains(anyStrings(sms[0].get("spec", "podTargetLabels")), "rollouts-pod-template-hash") {
		t.Errorf("the analysis selects rollouts_pod_template_hash, which no ServiceMonitor copies onto the series (podTargetLabels)")
	}
	at := ats[0]
	checkPageThreshold(t, at, kinds["PrometheusRule"])
	if args := anySlice(at.get("spec", "args")); len(args) != 1 || obj(args[0].(map[string]any)).str("name") != "canary-hash" {
		t.Errorf("%s args %v, want [canary-hash]", at.id(), args)
	}
	p := parser.NewParser(parser.Options{})
	for _, m := range anySlice(at.get("spec", "metrics")) {
		metric := obj(m.(map[string]any))
		name := at.id() + " " + metric.str("name")
		if metric.str("successCondition") == "" || metric.str("failureCondition") == "" {
			t.Errorf("%s: a success and a failure condition are needed, else no data counts as one of them", name)
		}
		q := metric.str("provider", "prometheus", "query")
		expr, err := p.ParseExpr(strings.ReplaceAll(q, "{{args.canary-hash}}", canaryHash))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				checkSelector(t, name, vs, ns)
				if !slices.ContainsFunc(vs.LabelMatchers, func(m *labels.Matcher) bool {
					return m.Name == "rollouts_pod_template_hash" && m.Type == labels.MatchEqual && m.Value == canaryHash
				}) {
					t.Errorf("%s: %s reads more than the canary's pods", name, vs)
				}
			}
			return nil
		})
	}
}

// checkPageThreshold: out of the box, the analysis fails a canary where
// the PrometheusRule would page: above the fast burn alert's multiplier
// over its short window.
func checkPageThreshold(t *testing.T, at obj, rules []obj) {
	t.Helper()
	if len(rules) != 1 {
		t.Fatalf("%d PrometheusRules", len(rules))
	}
	p := parser.NewParser(parser.Options{})
	pageAt := map[string]float64{} // short window -> multiplier
	for _, g := range anySlice(rules[0].get("spec", "groups")) {
		for _, r := range anySlice(obj(g.(map[string]any)).get("rules")) {
			rule := obj(r.(map[string]any))
			if rule.str("labels", "severity") != "critical" {
				continue
			}
			expr, err := p.ParseExpr(rule.str("expr"))
			if err != nil {
				t.Fatal(err)
			}
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				b, ok := n.(*parser.BinaryExpr)
				if !ok || b.Op != parser.GTR {
					return nil
				}
				vs, _ := b.LHS.(*parser.VectorSelector)
				mul, _ := b.RHS.(*parser.ParenExpr)
				if vs == nil || mul == nil {
					return nil
				}
				// (14.4 * (100 - objective) / 100): the leftmost number.
				e := mul.Expr
				for {
					if b, ok := e.(*parser.BinaryExpr); ok {
						e = b.LHS
						continue
					}
					break
				}
				if x, ok := e.(*parser.NumberLiteral); ok {
					pageAt[strings.TrimPrefix(vs.Name, "slo:sli_error:ratio_rate")] = x.Val
				}
				return nil
			})
		}
	}
	shortest, multiplier := time.Duration(0), 0.0
	for w, x := range pageAt {
		d, err := time.ParseDuration(w)
		if err == nil && (shortest == 0 || d < shortest) {
			shortest, multiplier = d, x
		}
	}
	if shortest == 0 {
		t.Fatalf("no page threshold found in the PrometheusRule")
	}
	for _, m := range anySlice(at.get("spec", "metrics")) {
		metric := obj(m.(map[string]any))
		want := fmt.Sprintf("result[0] > %v", multiplier)
		if !strings.HasSuffix(metric.str("failureCondition"), want) {
			t.Errorf("%s failureCondition %q, want it to end %q (the page threshold)", metric.str("name"), metric.str("failureCondition"), want)
		}
		expr, err := p.ParseExpr(strings.ReplaceAll(metric.str("provider", "prometheus", "query"), "{{args.canary-hash}}", canaryHash))
		if err != nil {
			t.Fatal(err)
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			if ms, ok := n.(*parser.MatrixSelector); ok && ms.Range != shortest {
				t.Errorf("%s reads %v of series, want the page's short window %v", metric.str("name"), ms.Range, shortest)
			}
			return nil
		})
	}
}

func checkStepAnalysis(t *testing.T, a obj, ats []obj) {
	t.Helper()
	tmpls := anySlice(a.get("templates"))
	if len(tmpls) != 1 || len(ats) != 1 || obj(tmpls[0].(map[string]any)).str("templateName") != ats[0].str("metadata", "name") {
		t.Errorf("analysis step names %v, the chart renders %d AnalysisTemplates", tmpls, len(ats))
	}
	args := anySlice(a.get("args"))
	if len(args) != 1 || obj(args[0].(map[string]any)).str("name") != "canary-hash" || obj(args[0].(map[string]any)).str("valueFrom", "podTemplateHashValue") != "Latest" {
		t.Errorf("analysis step args %v, want canary-hash from podTemplateHashValue Latest", args)
	}
}

func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := map[string]string{}
	for k, x := range m {
		s, _ := x.(string)
		out[k] = s
	}
	return out
}

// TestRolloutValues renders the chart with values a team may set and
// checks the canary each gives, or the one line the chart refuses it with.
func TestRolloutValues(t *testing.T) {
	t.Parallel()
	chart := writeChart(t, templatetest.ServiceCases[0])
	const ns = "team-x-7"
	set := func(kv ...any) map[string]any {
		vals := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			cur := vals
			keys := strings.Split(kv[i].(string), ".")
			for _, k := range keys[:len(keys)-1] {
				if cur[k] == nil {
					cur[k] = map[string]any{}
				}
				cur = cur[k].(map[string]any)
			}
			cur[keys[len(keys)-1]] = kv[i+1]
		}
		return vals
	}
	tests := []struct {
		name    string
		vals    map[string]any
		kinds   []string // kinds rendered beside the always-present ones
		wantErr string
	}{
		{name: "defaults", vals: set(), kinds: []string{"AnalysisTemplate", "DestinationRule", "VirtualService"}},
		{name: "without Istio the canary is weighted by replicas", vals: set("istio.enabled", false), kinds: []string{"AnalysisTemplate"}},
		{name: "analysis off", vals: set("rollout.analysis.enabled", false), kinds: []string{"DestinationRule", "VirtualService"}},
		{name: "a step waits to be promoted", vals: set("rollout.steps", []any{map[string]any{"weight": 20, "pause": ""}}), kinds: []string{"AnalysisTemplate", "DestinationRule", "VirtualService"}},
		{name: "no ServiceMonitor to read", vals: set("serviceMonitor.enabled", false), wantErr: "rollout.analysis.enabled: the analysis reads the series the ServiceMonitor scrapes"},
		{name: "no traffic would pass", vals: set("rollout.analysis.inconclusiveLimit", 5), wantErr: "rollout.analysis.inconclusiveLimit must be below rollout.analysis.count"},
		{name: "weight 100 is not a step", vals: set("rollout.steps", []any{map[string]any{"weight": 100, "pause": "1m"}}), wantErr: "/rollout/steps/0/weight"},
		{name: "a pause is a duration", vals: set("rollout.steps", []any{map[string]any{"weight": 10, "pause": "2"}}), wantErr: "/rollout/steps/0/pause"},
		{name: "unknown analysis key", vals: set("rollout.analysis.dryRun", true), wantErr: "dryRun"},
	}
	always := []string{"HorizontalPodAutoscaler", "NetworkPolicy", "PodDisruptionBudget", "PrometheusRule", "Rollout", "Service", "ServiceAccount", "ServiceMonitor"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files, err := helmRender(t, chart, tt.vals, ns)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string][]obj{}
			for _, o := range renderedObjects(t, files) {
				kinds[o.str("kind")] = append(kinds[o.str("kind")], o)
			}
			want := slices.Sorted(slices.Values(append(slices.Clone(always), tt.kinds...)))
			if got := slices.Sorted(maps.Keys(kinds)); !slices.Equal(got, want) {
				t.Errorf("kinds %v, want %v", got, want)
			}
			checkRollout(t, kinds, ns)
			checkRouting(t, kinds)
		})
	}
}

// TestUpgradeStartsCanaryOnlyForPods: the Rollout's pod template, whose
// every change starts a canary, does not change when an upgrade changes
// only what no pod carries (here the HPA's bound), and changes with the
// image; so a values-only `helm upgrade` costs no 20-minute canary.
func TestUpgradeStartsCanaryOnlyForPods(t *testing.T) {
	t.Parallel()
	chart := writeChart(t, templatetest.ServiceCases[0])
	podTemplate := func(revision int, vals map[string]any) string {
		t.Helper()
		files, err := helmRenderRevision(t, chart, vals, "payments", revision)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range renderedObjects(t, files) {
			if o.str("kind") == "Rollout" {
				b, err := yaml.Marshal(o.get("spec", "template"))
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
		}
		t.Fatal("no Rollout rendered")
		return ""
	}
	installed := podTemplate(1, map[string]any{"image": map[string]any{"tag": "1.2.3"}})
	hpaOnly := podTemplate(2, map[string]any{"image": map[string]any{"tag": "1.2.3"}, "autoscaling": map[string]any{"maxReplicas": 7}})
	if installed != hpaOnly {
		t.Errorf("an upgrade that changes only the HPA changes the pod template (a canary starts):\n%s\nvs\n%s", installed, hpaOnly)
	}
	if newImage := podTemplate(3, map[string]any{"image": map[string]any{"tag": "1.2.4"}}); newImage == installed {
		t.Error("a new image leaves the pod template as it was: no canary would start")
	}
}
