// Package promstore is an in-memory float series store that the PromQL
// engine can query: enough for evaluating rules and analysis queries on
// synthetic series, without a TSDB (whose remote-write dependencies
// paved's go.mod does not carry). verify judges canaries with it; the
// templates' tests evaluate the generated rules with it.
package promstore

import (
	"slices"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// A Store holds float series; samples of a series must be added in time
// order.
type Store struct {
	series map[string]*memSeries
	order  []string // keys in the order added
}

type memSeries struct {
	lset    labels.Labels
	samples []chunks.Sample
}

// New returns an empty store.
func New() *Store { return &Store{series: map[string]*memSeries{}} }

// Add appends one sample (t in milliseconds).
func (m *Store) Add(lset labels.Labels, t int64, v float64) {
	key := lset.String()
	s := m.series[key]
	if s == nil {
		s = &memSeries{lset: lset}
		m.series[key] = s
		m.order = append(m.order, key)
	}
	s.samples = append(s.samples, floatSample{t: t, f: v})
}

// Querier serves every series; the engine trims to its time range.
func (m *Store) Querier(_, _ int64) (storage.Querier, error) {
	return &storage.MockQuerier{SelectMockFunction: m.selectSeries}, nil
}

func (m *Store) selectSeries(sortSeries bool, _ *storage.SelectHints, matchers ...*labels.Matcher) storage.SeriesSet {
	var out []storage.Series
	keys := m.order
	if sortSeries {
		keys = slices.Clone(keys)
		slices.SortFunc(keys, func(a, b string) int { return labels.Compare(m.series[a].lset, m.series[b].lset) })
	}
	for _, k := range keys {
		s := m.series[k]
		if matchesAll(s.lset, matchers) {
			out = append(out, storage.NewListSeries(s.lset, slices.Clone(s.samples)))
		}
	}
	return &listSeriesSet{series: out, i: -1}
}

func matchesAll(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

type listSeriesSet struct {
	series []storage.Series
	i      int
}

func (l *listSeriesSet) Next() bool                      { l.i++; return l.i < len(l.series) }
func (l *listSeriesSet) At() storage.Series              { return l.series[l.i] }
func (*listSeriesSet) Err() error                        { return nil }
func (*listSeriesSet) Warnings() annotations.Annotations { return nil }

// floatSample is one float sample (no start time, no histogram).
type floatSample struct {
	t int64
	f float64
}

func (s floatSample) T() int64                    { return s.t }
func (floatSample) ST() int64                     { return 0 }
func (s floatSample) F() float64                  { return s.f }
func (floatSample) H() *histogram.Histogram       { return nil }
func (floatSample) FH() *histogram.FloatHistogram { return nil }
func (floatSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s floatSample) Copy() chunks.Sample         { return s }
