package templates_test

// The service chart's promises, checked on what Helm renders for every
// case and every values file, in a namespace the chart has never heard of:
// every object follows the release's namespace, every subset a route names
// exists, the canary and its analysis name what the chart renders (see
// rollout_test.go), chaos is paused and staging-only, retries are safe for any method, the
// pod's stop sequence fits its grace period, /metrics has its own port
// everywhere it is named, staging keeps a pod, and the SLIs leave out the
// probe routes and keep to (and by) the namespace.

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/paved-dev/paved/scaffold"
	"github.com/paved-dev/paved/templates/templatetest"
)

// writeChart renders the template case and writes its chart directory.
func writeChart(t *testing.T, c templatetest.Case) string {
	t.Helper()
	dir := t.TempDir()
	var chart string
	for _, f := range renderCase(t, "service", c) {
		if !strings.HasPrefix(f.Path, "deploy/helm/") {
			continue
		}
		if path.Base(f.Path) == "Chart.yaml" {
			chart = filepath.Join(dir, filepath.FromSlash(path.Dir(f.Path)))
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if chart == "" {
		t.Fatal("the case renders no chart")
	}
	return chart
}

// helmTemplate renders the chart as `helm template NAME CHART -n namespace
// [-f valuesFile]` does for the release named after the chart (as the deploy
// workflow names it): values checked against the schema. The result is
// keyed by path within the chart (templates/x.yaml).
func helmTemplate(t *testing.T, chartDir, valuesFile, namespace string) map[string]string {
	t.Helper()
	vals := map[string]any{}
	if valuesFile != "" {
		var err error
		if vals, err = common.ReadValuesFile(filepath.Join(chartDir, valuesFile)); err != nil {
			t.Fatal(err)
		}
	}
	files, err := helmRender(t, chartDir, vals, namespace)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// helmRender is helmTemplate with the user's values given (as -f and
// --set would give them), returning the chart's own refusals (schema,
// `fail`) as an error.
func helmRender(t *testing.T, chartDir string, vals map[string]any, namespace string) (map[string]string, error) {
	t.Helper()
	return helmRenderRevision(t, chartDir, vals, namespace, 1)
}

// helmRenderRevision is helmRender for the release's given revision (1:
// the install; later ones: upgrades).
func helmRenderRevision(t *testing.T, chartDir string, vals map[string]any, namespace string, revision int) (map[string]string, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	cvals, err := chartutil.CoalesceValues(ch, vals)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := chartutil.ToRenderValuesWithSchemaValidation(ch, cvals,
		common.ReleaseOptions{Name: ch.Name(), Namespace: namespace, Revision: revision, IsInstall: revision == 1, IsUpgrade: revision > 1}, common.DefaultCapabilities.Copy(), false)
	if err != nil {
		return nil, err
	}
	var e engine.Engine
	files, err := e.RenderWithContext(t.Context(), ch, rv)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range files {
		out[strings.TrimPrefix(k, ch.Name()+"/")] = v
	}
	return out, nil
}

// obj is one rendered object, decoded loosely.
type obj map[string]any

func (o obj) get(keys ...string) any {
	var v any = map[string]any(o)
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func (o obj) str(keys ...string) string { s, _ := o.get(keys...).(string); return s }

func (o obj) id() string { return o.str("kind") + " " + o.str("metadata", "name") }

func renderedObjects(t *testing.T, files map[string]string) []obj {
	t.Helper()
	var out []obj
	for name, text := range files {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		dec := yaml.NewDecoder(strings.NewReader(text))
		for {
			var m map[string]any // nested maps decode as map[string]any
			err := dec.Decode(&m)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("%s: %v", name, err)
				}
				break
			}
			if m != nil {
				out = append(out, obj(m))
			}
		}
	}
	slices.SortFunc(out, func(a, b obj) int { return strings.Compare(a.id(), b.id()) })
	return out
}

func TestChartPromises(t *testing.T) {
	t.Parallel()
	const ns = "team-x-7" // no file of the template names it
	for _, c := range templatetest.ServiceCases {
		if slices.Contains(c.Set, "Kubernetes=false") {
			continue
		}
		chaosAnswer := !slices.Contains(c.Set, "Chaos=false")
		chart := writeChart(t, c)
		for _, variant := range []string{"", "values-staging.yaml", "values-prod.yaml"} {
			t.Run(c.Name+"/"+cmpOr(variant, "defaults"), func(t *testing.T) {
				t.Parallel()
				objs := renderedObjects(t, helmTemplate(t, chart, variant, ns))
				kinds := map[string][]obj{}
				for _, o := range objs {
					kinds[o.str("kind")] = append(kinds[o.str("kind")], o)
					if n := o.str("metadata", "namespace"); n != "" {
						t.Errorf("%s: metadata.namespace %q: objects must follow the release's namespace", o.id(), n)
					}
				}
				checkChaos(t, kinds, ns, chaosAnswer && variant == "values-staging.yaml")
				checkRouting(t, kinds)
				checkRollout(t, kinds, ns)
				checkPod(t, kinds, variant)
				checkMetricsPort(t, kinds)
				checkSLIs(t, kinds, ns)
			})
		}
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func checkChaos(t *testing.T, kinds map[string][]obj, ns string, want bool) {
	t.Helper()
	var chaos []obj
	for _, k := range []string{"PodChaos", "NetworkChaos", "Schedule"} {
		chaos = append(chaos, kinds[k]...)
	}
	if want && len(chaos) != 3 {
		t.Errorf("%d chaos objects, want pod-kill, network-delay and the Schedule", len(chaos))
	}
	if !want && len(chaos) > 0 {
		t.Errorf("%s rendered: chaos objects belong to staging only (and the Chaos answer)", chaos[0].id())
	}
	for _, o := range chaos {
		if o.str("metadata", "annotations", "experiment.chaos-mesh.org/pause") != "true" {
			t.Errorf("%s: not created paused", o.id())
		}
		sel, _ := o.get("spec", "selector").(map[string]any)
		if o.str("kind") == "Schedule" {
			sel, _ = o.get("spec", "networkChaos", "selector").(map[string]any)
		}
		nss, _ := sel["namespaces"].([]any)
		if len(nss) != 1 || nss[0] != ns {
			t.Errorf("%s: selector namespaces %v, want only the release's [%s]", o.id(), nss, ns)
		}
		ls, _ := sel["labelSelectors"].(map[string]any)
		if ls["app.kubernetes.io/instance"] == nil {
			t.Errorf("%s: selector %v does not keep to the release's pods", o.id(), ls)
		}
	}
}

func checkRouting(t *testing.T, kinds map[string][]obj) {
	t.Helper()
	safe := []string{"connect-failure", "refused-stream"}
	var subsets []string
	for _, dr := range kinds["DestinationRule"] {
		for _, sub := range anySlice(dr.get("spec", "subsets")) {
			subsets = append(subsets, obj(sub.(map[string]any)).str("name"))
		}
	}
	for _, vs := range kinds["VirtualService"] {
		routes, _ := vs.get("spec", "http").([]any)
		for _, r := range routes {
			route := obj(r.(map[string]any))
			for _, d := range route.get("route").([]any) {
				if sub := obj(d.(map[string]any)).str("destination", "subset"); sub != "" && !slices.Contains(subsets, sub) {
					t.Errorf("%s route %q: subset %q, which no DestinationRule defines (%v)", vs.id(), route.str("name"), sub, subsets)
				}
			}
			if idempotentOnly(route.get("match")) {
				continue
			}
			for _, cond := range strings.Split(route.str("retries", "retryOn"), ",") {
				if !slices.Contains(safe, cond) {
					t.Errorf("%s route %q retries any method on %q: a POST could be charged twice", vs.id(), route.str("name"), cond)
				}
			}
		}
	}
	if len(kinds["VirtualService"]) > 0 && len(kinds["DestinationRule"]) == 0 {
		t.Error("a VirtualService without its DestinationRule")
	}
}

// idempotentOnly reports whether an HTTP route's match list admits only
// GET and HEAD requests.
func idempotentOnly(match any) bool {
	ms, _ := match.([]any)
	if len(ms) == 0 {
		return false
	}
	for _, m := range ms {
		method := obj(m.(map[string]any)).str("method", "exact")
		if method != "GET" && method != "HEAD" {
			return false
		}
	}
	return true
}

func checkPod(t *testing.T, kinds map[string][]obj, variant string) {
	t.Helper()
	ros := kinds["Rollout"]
	if len(ros) != 1 || len(kinds["Deployment"]) > 0 {
		t.Fatalf("%d Rollouts and %d Deployments, want the Rollout alone", len(ros), len(kinds["Deployment"]))
	}
	d := ros[0]
	env := containerEnv(d)
	seconds := func(name string) float64 {
		v, err := time.ParseDuration(env[name])
		if err != nil {
			t.Errorf("%s=%q: %v", name, env[name], err)
		}
		return v.Seconds()
	}
	stop := seconds("DRAIN_TIMEOUT") + seconds("SHUTDOWN_TIMEOUT") + seconds("FLUSH_TIMEOUT")
	var proxy struct {
		TerminationDrainDuration string `json:"terminationDrainDuration"`
		Hold                     bool   `json:"holdApplicationUntilProxyStarts"`
	}
	if err := json.Unmarshal([]byte(d.str("spec", "template", "metadata", "annotations", "proxy.istio.io/config")), &proxy); err != nil {
		t.Errorf("proxy.istio.io/config: %v", err)
	}
	drain, err := time.ParseDuration(proxy.TerminationDrainDuration)
	if err != nil || drain.Seconds() < stop || !proxy.Hold {
		t.Errorf("sidecar terminationDrainDuration %q (hold %v) must cover drain + shutdown + flush = %vs", proxy.TerminationDrainDuration, proxy.Hold, stop)
	}
	grace, _ := d.get("spec", "template", "spec", "terminationGracePeriodSeconds").(int)
	if float64(grace) <= max(stop, drain.Seconds()) {
		t.Errorf("terminationGracePeriodSeconds %d does not exceed the stop sequence (%vs) and the sidecar's drain (%v)", grace, stop, drain)
	}
	if env["OTEL_TRACES_SAMPLER"] != "parentbased_traceidratio" {
		t.Errorf("OTEL_TRACES_SAMPLER=%q", env["OTEL_TRACES_SAMPLER"])
	}
	ratio, err := strconv.ParseFloat(env["OTEL_TRACES_SAMPLER_ARG"], 64)
	if err != nil || ratio < 0 || ratio > 1 || (variant == "values-prod.yaml") != (ratio < 1) {
		t.Errorf("OTEL_TRACES_SAMPLER_ARG=%q with %s: production keeps a share of traces, the rest all", env["OTEL_TRACES_SAMPLER_ARG"], cmpOr(variant, "defaults"))
	}
	if variant == "values-staging.yaml" {
		minPods := 0
		for _, h := range kinds["HorizontalPodAutoscaler"] {
			minPods, _ = h.get("spec", "minReplicas").(int)
		}
		if len(kinds["HorizontalPodAutoscaler"]) == 0 {
			minPods, _ = d.get("spec", "replicas").(int)
		}
		pdbs := kinds["PodDisruptionBudget"]
		if minPods < 2 || len(pdbs) != 1 {
			t.Errorf("staging: %d pods at least and %d PodDisruptionBudgets: a drain may leave none", minPods, len(pdbs))
		} else if mu, ok := pdbs[0].get("spec", "maxUnavailable").(int); !ok || mu >= minPods {
			t.Errorf("staging: PDB maxUnavailable %v of %d pods keeps none", pdbs[0].get("spec", "maxUnavailable"), minPods)
		}
	}
	// The analysis replaced the readiness Job, which never finished beside
	// a classic sidecar.
	for _, j := range kinds["Job"] {
		t.Errorf("%s: the chart runs no Job (the canary's analysis judges a release)", j.id())
	}
}

func checkMetricsPort(t *testing.T, kinds map[string][]obj) {
	t.Helper()
	d := kinds["Rollout"][0]
	c := obj(firstContainer(d))
	ports := map[string]int{}
	for _, p := range c.get("ports").([]any) {
		po := obj(p.(map[string]any))
		n, _ := po.get("containerPort").(int)
		ports[po.str("name")] = n
	}
	env := containerEnv(d)
	if ports["http"] == 0 || ports["metrics"] == 0 || ports["http"] == ports["metrics"] {
		t.Fatalf("container ports %v: want http and metrics, apart", ports)
	}
	if env["PORT"] != strconv.Itoa(ports["http"]) || env["METRICS_PORT"] != strconv.Itoa(ports["metrics"]) {
		t.Errorf("PORT=%s METRICS_PORT=%s, container ports %v", env["PORT"], env["METRICS_PORT"], ports)
	}
	for _, probe := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
		if p := c.str(probe, "httpGet", "port"); p != "http" {
			t.Errorf("%s on port %q, want http", probe, p)
		}
	}
	if ex := d.str("spec", "template", "metadata", "annotations", "traffic.sidecar.istio.io/excludeInboundPorts"); ex != strconv.Itoa(ports["metrics"]) {
		t.Errorf("excludeInboundPorts %q, want the metrics port %d (Prometheus scrapes it outside the mesh)", ex, ports["metrics"])
	}
	for _, sm := range kinds["ServiceMonitor"] {
		for _, ep := range sm.get("spec", "endpoints").([]any) {
			if p := obj(ep.(map[string]any)).str("port"); p != "metrics" {
				t.Errorf("%s scrapes port %q, want metrics", sm.id(), p)
			}
		}
	}
	for _, svc := range kinds["Service"] {
		found := false
		for _, p := range svc.get("spec", "ports").([]any) {
			po := obj(p.(map[string]any))
			found = found || (po.str("name") == "metrics" && po.str("targetPort") == "metrics")
		}
		if !found {
			t.Errorf("%s has no metrics port", svc.id())
		}
	}
	for _, np := range kinds["NetworkPolicy"] {
		open := false
		for _, rule := range np.get("spec", "ingress").([]any) {
			for _, p := range anySlice(obj(rule.(map[string]any)).get("ports")) {
				open = open || obj(p.(map[string]any)).str("port") == "metrics"
			}
		}
		if !open {
			t.Errorf("%s does not open the metrics port", np.id())
		}
	}
	if len(kinds["ServiceMonitor"]) != 1 {
		t.Errorf("%d ServiceMonitors, want 1 in every environment", len(kinds["ServiceMonitor"]))
	}
}

func checkSLIs(t *testing.T, kinds map[string][]obj, ns string) {
	t.Helper()
	rules := kinds["PrometheusRule"]
	if len(rules) != 1 {
		t.Fatalf("%d PrometheusRules, want 1", len(rules))
	}
	p := parser.NewParser(parser.Options{})
	for _, g := range rules[0].get("spec", "groups").([]any) {
		for _, r := range obj(g.(map[string]any)).get("rules").([]any) {
			rule := obj(r.(map[string]any))
			name := rule.str("record") + rule.str("alert")
			expr, err := p.ParseExpr(rule.str("expr"))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				switch n := n.(type) {
				case *parser.VectorSelector:
					checkSelector(t, name, n, ns)
				case *parser.AggregateExpr:
					if !slices.Equal(n.Grouping, []string{"namespace"}) || n.Without {
						t.Errorf("%s: %s aggregates by %v, want by (namespace)", name, n.Op, n.Grouping)
					}
				}
				return nil
			})
		}
	}
}

func checkSelector(t *testing.T, rule string, vs *parser.VectorSelector, ns string) {
	t.Helper()
	var nsOK, routeOK bool
	for _, m := range vs.LabelMatchers {
		switch {
		case m.Name == "namespace" && m.Type == labels.MatchEqual && m.Value == ns:
			nsOK = true
		case m.Name == "route" && m.Type == labels.MatchNotRegexp:
			routeOK = !m.Matches("GET /healthz") && !m.Matches("GET /readyz") && !m.Matches("GET /metrics") && m.Matches("GET /v1/hello/{name}")
		}
	}
	if !nsOK {
		t.Errorf("%s: %s does not keep to namespace %q", rule, vs, ns)
	}
	if strings.HasPrefix(vs.Name, "http_server_") && !routeOK {
		t.Errorf("%s: %s counts /healthz, /readyz or /metrics (or no API route)", rule, vs)
	}
}

func firstContainer(o obj) map[string]any {
	cs, _ := o.get("spec", "template", "spec", "containers").([]any)
	if len(cs) == 0 {
		return nil
	}
	c, _ := cs[0].(map[string]any)
	return c
}

func containerEnv(o obj) map[string]string {
	out := map[string]string{}
	for _, e := range anySlice(obj(firstContainer(o)).get("env")) {
		eo := obj(e.(map[string]any))
		out[eo.str("name")] = eo.str("value")
	}
	return out
}

func anySlice(v any) []any { s, _ := v.([]any); return s }

func anyStrings(v any) []string {
	var out []string
	for _, x := range anySlice(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// renderCase renders a built-in template for a case, as the golden tests do.
func renderCase(t *testing.T, name string, c templatetest.Case) []scaffold.File {
	t.Helper()
	_, files, err := templatetest.RenderCase(t.Context(), name, name, c, "v0.0.0-golden")
	if err != nil {
		t.Fatal(err)
	}
	return files
}
