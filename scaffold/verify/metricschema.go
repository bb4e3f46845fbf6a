package verify

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// The service's metric schema: the metrics it exposes and the labels each
// carries, as data the template ships (the service's own test holds its
// real /metrics to it). A rule or an analysis query that selects a label
// the metric does not carry selects nothing: an error ratio whose
// numerator is always empty can never fail a canary or fire an alert.
const metricSchemaFile = "internal/telemetry/metrics.yaml"

// A metricSchema is metricSchemaFile, read.
type metricSchema struct {
	Metrics []schemaMetric `yaml:"metrics"`
}

type schemaMetric struct {
	Name   string   `yaml:"name"` // a path.Match pattern: *_build_info
	Type   string   `yaml:"type"` // counter, gauge, histogram, summary
	Labels []string `yaml:"labels"`
}

// scrapeLabels are the labels Prometheus and the Prometheus Operator add
// to every series they scrape from a pod behind a ServiceMonitor.
var scrapeLabels = []string{model.MetricNameLabel, "job", "instance", "namespace", "pod", "service", "container", "endpoint"}

// readMetricSchema reads the schema, nil when the repository has none.
// One that does not parse is a finding of its own.
func readMetricSchema(r *Repo) (*metricSchema, []Finding) {
	src, err := r.Read(metricSchemaFile)
	if err != nil {
		return nil, nil
	}
	var s metricSchema
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, decodeFindings(metricSchemaFile, src, err)
	}
	return &s, nil
}

// series returns the schema's metric a series name belongs to (a
// histogram's _bucket, _sum and _count, a counter's _created too), and
// the labels the series carries.
func (s *metricSchema) series(name string) (*schemaMetric, []string) {
	for i := range s.Metrics {
		m := &s.Metrics[i]
		suffixes := []string{""}
		switch m.Type {
		case "histogram":
			suffixes = []string{"_bucket", "_sum", "_count", "_created"}
		case "summary":
			suffixes = []string{"", "_sum", "_count", "_created"}
		case "counter":
			suffixes = []string{"", "_created"}
		}
		for _, suf := range suffixes {
			base := m.Name
			if m.Type == "counter" && suf == "_created" {
				base = strings.TrimSuffix(base, "_total")
			}
			if ok, _ := path.Match(base+suf, name); ok {
				labels := m.Labels
				if suf == "_bucket" {
					labels = append(slices.Clip(labels), model.BucketLabel)
				}
				if m.Type == "summary" && suf == "" {
					labels = append(slices.Clip(labels), model.QuantileLabel)
				}
				return m, labels
			}
		}
	}
	return nil, nil
}

// monitorLabels are the labels the repository's ServiceMonitors and
// PodMonitors add to what they scrape: podTargetLabels and targetLabels
// (as Prometheus names them) and relabelings' targetLabel.
func monitorLabels(objs []*kobject) map[string]bool {
	out := map[string]bool{}
	for _, o := range objs {
		if o.group() != "monitoring.coreos.com" || (o.Kind != "ServiceMonitor" && o.Kind != "PodMonitor") {
			continue
		}
		for _, key := range []string{"podTargetLabels", "targetLabels"} {
			for _, seq := range findAll(o.Doc.Root, []string{"spec", key}) {
				for _, n := range seq.Content {
					out[sanitizeLabel(n.Value)] = true
				}
			}
		}
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			if n == nil {
				return
			}
			if n.Kind == yaml.MappingNode {
				for k, v := range yamlnode.Pairs(n) {
					if k.Value == "targetLabel" {
						out[v.Value] = true
					}
				}
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(o.Doc.Root)
	}
	return out
}

// sanitizeLabel is how Prometheus turns a Kubernetes label into a label
// name: every character not allowed in one becomes "_".
func sanitizeLabel(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// A labelUse is a label an expression selects a series of the service by,
// which the schema says the series does not carry.
type labelUse struct {
	metric, label string
	carried       []string
	offset        int
}

func (u labelUse) message() string {
	return fmt.Sprintf("selects %s by label %q, which it does not carry (%s gives it %s): the selector matches nothing",
		u.metric, u.label, metricSchemaFile, strings.Join(u.carried, ", "))
}

// unknownLabels lists the label matchers of the expression's selectors of
// the service's own series (no job matcher, or job="<service>") whose label
// the schema gives the series no value of, nor do the scrape or the
// monitors.
func unknownLabels(expr parser.Expr, s *metricSchema, added map[string]bool, service string) []labelUse {
	if s == nil {
		return nil
	}
	var out []labelUse
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name, ours := serviceSeries(vs, service)
		if !ours {
			return nil
		}
		metric, carried := s.series(name)
		if metric == nil {
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if slices.Contains(carried, m.Name) || slices.Contains(scrapeLabels, m.Name) || added[m.Name] {
				continue
			}
			if m.Matches("") {
				continue // matches the series without the label: it selects nothing by it
			}
			out = append(out, labelUse{metric: name, label: m.Name, carried: carried, offset: int(vs.PositionRange().Start)})
		}
		return nil
	})
	return out
}
