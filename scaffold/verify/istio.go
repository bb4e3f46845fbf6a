package verify

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"

	"strings"
	"sync"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	corev1 "k8s.io/api/core/v1"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	networkingapi "istio.io/api/networking/v1alpha3"
	istiov1 "istio.io/client-go/pkg/apis/networking/v1"
	istiov1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// istio decodes networking.istio.io objects (plain manifests and rendered
// charts) strictly into istio.io/client-go's types, then decodes each spec
// again with protojson, which (unlike the types' own JSON decoding) rejects
// unknown fields, and requires the CRD's camelCase field names. The Istio
// API module has no validation of its own, so the webhook's rules that
// matter here are cross-checks: every subset a VirtualService routes to is
// defined by a DestinationRule for that host, route weights sum to 100, and
// in-mesh hosts name a Service of the repository's charts.
type istio struct{}

func (istio) Name() string { return "istio" }

var istioScheme = sync.OnceValue(func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{istiov1.AddToScheme, istiov1beta1.AddToScheme, istiov1alpha3.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
})

// istioObj is a decoded Istio object with its spec.
type istioObj struct {
	o    *kobject
	spec proto.Message
}

func (c istio) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	objs, err := r.objectsOf(ctx, "networking.istio.io")
	if err != nil {
		return nil, err
	}
	var out []Finding
	var decoded []istioObj
	for _, o := range objs {
		gv, _ := schema.ParseGroupVersion(o.APIVersion)
		obj, err := istioScheme().New(gv.WithKind(o.Kind))
		if err != nil {
			out = append(out, o.finding(c.Name(), yamlnode.Key(o.Doc.Root, "kind"), "%s: unknown Istio kind %s in %s", o.describe(), o.Kind, o.APIVersion))
			continue
		}
		fs := decodeStrict(c.Name(), o, obj, "spec") // the spec is decoded with protojson below
		out = append(out, fs...)
		spec := specMessage(obj)
		specNode := yamlnode.Value(o.Doc.Root, "spec")
		if spec == nil || specNode == nil {
			continue
		}
		sfs := decodeProtoSpec(c.Name(), o, specNode, spec)
		out = append(out, sfs...)
		if len(fs) == 0 && len(sfs) == 0 {
			decoded = append(decoded, istioObj{o, spec})
		}
	}
	out = append(out, istioCrossChecks(ctx, c.Name(), r, decoded)...)
	return out, nil
}

// specMessage returns the proto message in an Istio object's Spec field.
func specMessage(obj runtime.Object) proto.Message {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("Spec")
	if !f.IsValid() || !f.CanAddr() {
		return nil
	}
	pm, _ := f.Addr().Interface().(proto.Message)
	return pm
}

// decodeProtoSpec decodes the spec as protojson does (unknown fields
// rejected), each problem at its node (see walkSpec), then as a whole
// for what only the whole shows (two fields of one oneof), and checks that
// field names are the JSON (camelCase) names the CRD schema accepts.
func decodeProtoSpec(check string, o *kobject, specNode *yaml.Node, spec proto.Message) []Finding {
	var problems, names []Finding
	walkSpec(spec.ProtoReflect().Descriptor(), specNode, specWalk{
		problem: func(n *yaml.Node, msg string) {
			problems = append(problems, o.finding(check, n, "%s: spec: %s", o.describe(), istioNames(msg)))
		},
		badName: func(n *yaml.Node, got, want string) {
			names = append(names, o.finding(check, n, "%s: field %q must be written %q", o.describe(), got, want))
		},
		badType: func(n *yaml.Node, field string) {
			names = append(names, o.finding(check, n, "%s: %s must be an integer, not the string %q", o.describe(), field, n.Value))
		},
	})
	if len(problems) > 0 {
		return problems
	}
	js, err := nodeJSON(specNode)
	if err == nil {
		proto.Reset(spec)
		err = protojson.Unmarshal(js, spec)
	}
	if err != nil {
		return []Finding{o.finding(check, specNode, "%s: spec: %s", o.describe(), istioNames(strings.TrimSpace(strings.TrimPrefix(err.Error(), "proto:"))))}
	}
	return names
}

// istioCrossChecks relates VirtualServices, DestinationRules and the
// charts' Services.
func istioCrossChecks(ctx context.Context, check string, r *Repo, objs []istioObj) []Finding {
	var out []Finding
	services := chartServices(ctx, r)
	ports := chartServicePorts(ctx, r)
	subsets := map[string]map[string]bool{} // host key -> subset names
	for _, io := range objs {
		dr, ok := io.spec.(*networkingapi.DestinationRule)
		if !ok {
			continue
		}
		key := hostKey(dr.GetHost())
		if subsets[key] == nil {
			subsets[key] = map[string]bool{}
		}
		for _, s := range dr.GetSubsets() {
			subsets[key][s.GetName()] = true
		}
		if msg := serviceHostProblem(dr.GetHost(), services); msg != "" {
			out = append(out, io.o.finding(check, nodeAt(io.o, "spec.host"), "%s: %s", io.o.describe(), msg))
		}
		out = append(out, outlierFindings(check, io.o, dr)...)
	}
	for _, io := range objs {
		vs, ok := io.spec.(*networkingapi.VirtualService)
		if !ok {
			continue
		}
		o := io.o
		mesh := len(vs.GetGateways()) == 0
		for _, g := range vs.GetGateways() {
			if g == "mesh" {
				mesh = true
			}
		}
		if mesh {
			for i, h := range vs.GetHosts() {
				if msg := serviceHostProblem(h, services); msg != "" {
					out = append(out, o.finding(check, nodeAt(o, fmt.Sprintf("spec.hosts[%d]", i)), "%s: %s", o.describe(), msg))
				}
			}
		}
		type route struct {
			path  string
			name  string
			dests []*networkingapi.HTTPRouteDestination
			plain []*networkingapi.RouteDestination
		}
		var routes []route
		for i, h := range vs.GetHttp() {
			routes = append(routes, route{path: fmt.Sprintf("spec.http[%d]", i), name: h.GetName(), dests: h.GetRoute()})
		}
		for i, t := range vs.GetTcp() {
			routes = append(routes, route{path: fmt.Sprintf("spec.tcp[%d]", i), plain: t.GetRoute()})
		}
		for i, t := range vs.GetTls() {
			routes = append(routes, route{path: fmt.Sprintf("spec.tls[%d]", i), plain: t.GetRoute()})
		}
		for _, rt := range routes {
			var weights []int32
			var dests []*networkingapi.Destination
			for _, d := range rt.dests {
				weights = append(weights, d.GetWeight())
				dests = append(dests, d.GetDestination())
			}
			for _, d := range rt.plain {
				weights = append(weights, d.GetWeight())
				dests = append(dests, d.GetDestination())
			}
			sum := int32(0)
			for _, w := range weights {
				sum += w
			}
			name := rt.path
			if rt.name != "" {
				name = fmt.Sprintf("%s (%q)", rt.path, rt.name)
			}
			switch {
			case len(weights) > 1 && sum != 100:
				out = append(out, o.finding(check, nodeAt(o, rt.path+".route"), "%s: route weights of %s sum to %d, not 100", o.describe(), name, sum))
			case len(weights) == 1 && sum != 0 && sum != 100:
				out = append(out, o.finding(check, nodeAt(o, rt.path+".route[0].weight"), "%s: the only destination of %s has weight %d: omit it or use 100", o.describe(), name, sum))
			}
			for j, d := range dests {
				if d == nil {
					continue
				}
				dpath := fmt.Sprintf("%s.route[%d].destination", rt.path, j)
				if msg := serviceHostProblem(d.GetHost(), services); msg != "" && mesh {
					out = append(out, o.finding(check, nodeAt(o, dpath+".host"), "%s: %s", o.describe(), msg))
				}
				if name, ok := serviceOfHost(d.GetHost()); ok && mesh && d.GetPort().GetNumber() != 0 {
					if ps, known := ports[name]; known && !slices.Contains(ps, int64(d.GetPort().GetNumber())) {
						out = append(out, o.finding(check, nodeAt(o, dpath+".port.number"), "%s: port %d of host %q: Service %s has no such port (ports: %s)", o.describe(), d.GetPort().GetNumber(), d.GetHost(), name, joinInts(ps)))
					}
				}
				if d.GetSubset() == "" {
					continue
				}
				known := subsets[hostKey(d.GetHost())]
				switch {
				case known == nil:
					out = append(out, o.finding(check, nodeAt(o, dpath+".subset"), "%s: subset %q of host %q: no DestinationRule for that host", o.describe(), d.GetSubset(), d.GetHost()))
				case !known[d.GetSubset()]:
					out = append(out, o.finding(check, nodeAt(o, dpath+".subset"), "%s: subset %q is not defined by the DestinationRule for host %q", o.describe(), d.GetSubset(), d.GetHost()))
				}
			}
		}
	}
	return out
}

// nodeAt finds a field of an object by its dotted path.
func nodeAt(o *kobject, p string) *yaml.Node {
	n, _ := lookup(o.Doc.Root, parseFieldPath(p))
	return n
}

// hostKey normalizes a host for matching within the mesh: a Service's
// short name ("payments", "payments.ns", "payments.ns.svc",
// "payments.ns.svc.cluster.local" are the same Service in the same
// namespace), or the host itself when it is outside the cluster.
func hostKey(host string) string {
	if short, _ := serviceOfHost(host); short != "" {
		return short
	}
	return host
}

// serviceOfHost returns the Service name a host names inside the cluster,
// or "" for an external host or a wildcard.
func serviceOfHost(host string) (string, bool) {
	if host == "" || strings.Contains(host, "*") {
		return "", false
	}
	labels := strings.Split(host, ".")
	switch {
	case len(labels) <= 2:
		return labels[0], true
	case len(labels) == 3 && labels[2] == "svc":
		return labels[0], true
	case strings.HasSuffix(host, ".svc.cluster.local"):
		return labels[0], true
	}
	return "", false
}

// serviceHostProblem says why an in-cluster host names none of the charts'
// Services; "" when it does, when the host is external, or when the
// repository has no chart Service to compare with.
func serviceHostProblem(host string, services map[string]bool) string {
	if len(services) == 0 {
		return ""
	}
	name, ok := serviceOfHost(host)
	if !ok || services[name] {
		return ""
	}
	return fmt.Sprintf("host %q names no Service of the chart (Services: %s)", host, strings.Join(sortedKeys(services), ", "))
}

// chartServices returns the names of the Services the charts render with
// their default values.
func chartServices(ctx context.Context, r *Repo) map[string]bool {
	charts, err := r.charts(ctx)
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, c := range charts {
		if len(c.Renders) == 0 || c.Renders[0].Variant != "" {
			continue
		}
		for _, o := range c.Renders[0].Objects {
			if o.Kind == "Service" && o.APIVersion == "v1" && o.Name != "" {
				out[o.Name] = true
			}
		}
	}
	return out
}

// chartServicePorts returns the ports of each Service the charts render
// with their default values.
func chartServicePorts(ctx context.Context, r *Repo) map[string][]int64 {
	charts, err := r.charts(ctx)
	if err != nil {
		return nil
	}
	out := map[string][]int64{}
	for _, c := range charts {
		if len(c.Renders) == 0 || c.Renders[0].Variant != "" {
			continue
		}
		for _, o := range c.Renders[0].Objects {
			if o.Kind != "Service" || o.APIVersion != "v1" || o.Name == "" {
				continue
			}
			var svc corev1.Service
			if decodeObject(o, &svc) != nil {
				continue
			}
			for _, p := range svc.Spec.Ports {
				out[o.Name] = append(out[o.Name], int64(p.Port))
			}
		}
	}
	return out
}

func joinInts(ns []int64) string {
	var s []string
	for _, n := range ns {
		s = append(s, strconv.FormatInt(n, 10))
	}
	return strings.Join(s, ", ")
}

// istioNames drops the proto package from message names in messages.
func istioNames(msg string) string {
	return strings.ReplaceAll(msg, "istio.networking.v1alpha3.", "")
}

// outlierFindings range-checks outlier detection as Istio's webhook does:
// maxEjectionPercent and minHealthPercent are percentages (0-100), in the
// DestinationRule's traffic policy, its port-level settings and each
// subset's.
func outlierFindings(check string, o *kobject, dr *networkingapi.DestinationRule) []Finding {
	var out []Finding
	policy := func(at string, tp *networkingapi.TrafficPolicy) {
		if tp == nil {
			return
		}
		od := func(at string, d *networkingapi.OutlierDetection) {
			if d == nil {
				return
			}
			for _, f := range []struct {
				name string
				v    int32
			}{{"maxEjectionPercent", d.GetMaxEjectionPercent()}, {"minHealthPercent", d.GetMinHealthPercent()}} {
				if f.v < 0 || f.v > 100 {
					out = append(out, o.finding(check, nodeAt(o, at+".outlierDetection."+f.name), "%s: outlierDetection.%s %d is not a percentage (0-100): Istio refuses it", o.describe(), f.name, f.v))
				}
			}
		}
		od(at, tp.GetOutlierDetection())
		for i, pl := range tp.GetPortLevelSettings() {
			od(fmt.Sprintf("%s.portLevelSettings[%d]", at, i), pl.GetOutlierDetection())
		}
	}
	policy("spec.trafficPolicy", dr.GetTrafficPolicy())
	for i, ss := range dr.GetSubsets() {
		policy(fmt.Sprintf("spec.subsets[%d].trafficPolicy", i), ss.GetTrafficPolicy())
	}
	return out
}
