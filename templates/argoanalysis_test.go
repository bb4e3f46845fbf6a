package templates_test

// Argo Rollouts' side of the canary analysis, reproduced for
// analysis_test.go: how an AnalysisRun fills in a template's args, how its
// Prometheus provider hands a query's result to the conditions, how the
// conditions are evaluated and a measurement judged, and how a metric's
// measurements make its phase.
//
// What each piece mirrors, in github.com/argoproj/argo-rollouts@v1.10.2:
//   - resolveArgs: utils/analysis/factory.go ResolveMetricArgs and
//     utils/template/template.go ResolveQuotedArgs (the metric as JSON,
//     every {{tag}} replaced, the value quoted for JSON, a tag without a
//     value an error);
//   - providerResult: metricproviders/prometheus/prometheus.go
//     processResponse (a scalar is a float64, a vector a []float64 of its
//     samples' values, even when empty; a matrix every value of every
//     series), given the HTTP API's JSON as client_golang decodes it
//     (queryValue in analysis_test.go);
//   - evaluateResult, evalCondition, conditionEnv:
//     utils/evaluate/evaluate.go EvaluateResult, EvalCondition and the
//     functions it puts beside `result`;
//   - metricResult, assessMetric, worst: analysis/analysis.go (the
//     counting of measurements in runMeasurements), assessMetricStatus,
//     assessMetricFailureInconclusiveOrError and the run's worst status
//     (utils/analysis/helpers.go IsWorse), for metrics with a count.

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/prometheus/common/model"
)

// Phases of a measurement, a metric and a run, as Argo names them.
const (
	phaseSuccessful   = "Successful"
	phaseRunning      = "Running"
	phaseInconclusive = "Inconclusive"
	phaseError        = "Error"
	phaseFailed       = "Failed"
)

// argoMetric is the part of Argo's v1alpha1.Metric the chart sets.
type argoMetric struct {
	Name                  string `json:"name"`
	Interval              string `json:"interval"`
	Count                 *int   `json:"count"`
	SuccessCondition      string `json:"successCondition"`
	FailureCondition      string `json:"failureCondition"`
	FailureLimit          *int   `json:"failureLimit"`
	InconclusiveLimit     *int   `json:"inconclusiveLimit"`
	ConsecutiveErrorLimit *int   `json:"consecutiveErrorLimit"`
	Provider              struct {
		Prometheus *struct {
			Address string `json:"address"`
			Query   string `json:"query"`
		} `json:"prometheus"`
	} `json:"provider"`
}

// resolveArgs fills every {{tag}} of a metric's JSON with args (tag
// args.NAME, spaces trimmed), each value escaped for a JSON string. A tag
// without a value, or an unclosed one, is an error, as in Argo.
func resolveArgs(metricJSON string, args map[string]string) (string, error) {
	var b strings.Builder
	rest := metricJSON
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		closing := strings.Index(rest[open+2:], "}}")
		if closing < 0 {
			return "", fmt.Errorf("unclosed {{ in %s", rest[open:])
		}
		tag := strings.TrimSpace(rest[open+2 : open+2+closing])
		name, ok := strings.CutPrefix(tag, "args.")
		value, found := args[name]
		if !ok || !found {
			return "", fmt.Errorf("failed to resolve {{%s}}", tag)
		}
		q := strconv.Quote(value)
		b.WriteString(rest[:open])
		b.WriteString(q[1 : len(q)-1])
		rest = rest[open+2+closing+2:]
	}
}

// providerResult is what the Prometheus provider passes on as `result`.
func providerResult(v model.Value) (any, error) {
	switch v := v.(type) {
	case *model.Scalar:
		return float64(v.Value), nil
	case model.Vector:
		out := make([]float64, 0, len(v))
		for _, s := range v {
			if s != nil {
				out = append(out, float64(s.Value))
			}
		}
		return out, nil
	case model.Matrix:
		out := make([]float64, 0)
		for _, s := range v {
			if s != nil {
				for _, p := range s.Values {
					out = append(out, float64(p.Value))
				}
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("Prometheus metric type not supported")
}

// evaluateResult judges one measurement: an error in either condition is
// an Error; without a failure condition a non-success is a failure (and
// the reverse); when neither holds it is Inconclusive.
func evaluateResult(result any, m argoMetric) (string, error) {
	var success, failure bool
	var err error
	if m.SuccessCondition != "" {
		if success, err = evalCondition(result, m.SuccessCondition); err != nil {
			return phaseError, fmt.Errorf("successCondition %q: %w", m.SuccessCondition, err)
		}
	}
	if m.FailureCondition != "" {
		if failure, err = evalCondition(result, m.FailureCondition); err != nil {
			return phaseError, fmt.Errorf("failureCondition %q: %w", m.FailureCondition, err)
		}
	}
	switch {
	case m.SuccessCondition == "" && m.FailureCondition == "":
		return phaseSuccessful, nil
	case m.FailureCondition == "":
		failure = !success
	case m.SuccessCondition == "":
		success = !failure
	}
	switch {
	case failure:
		return phaseFailed, nil
	case !success:
		return phaseInconclusive, nil
	}
	return phaseSuccessful, nil
}

// evalCondition compiles the condition against Argo's environment and
// runs it; anything but a bool is an error.
func evalCondition(result any, condition string) (bool, error) {
	env := conditionEnv(result)
	program, err := expr.Compile(condition, expr.Env(env))
	if err != nil {
		return false, err
	}
	out, err := expr.Run(program, env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("expected bool, but got %T", out)
	}
	return b, nil
}

// conditionEnv is what a condition can name: result (a pointer followed,
// nil kept nil), asInt, asFloat, isNaN, isInf, and isNil and default,
// which look at the result whatever they are given.
func conditionEnv(result any) map[string]any {
	isNil := func(v any) bool {
		if v == nil {
			return true
		}
		switch rv := reflect.ValueOf(v); rv.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Slice:
			return rv.IsNil()
		}
		return false
	}
	value := func() any {
		if isNil(result) {
			return nil
		}
		if rv := reflect.ValueOf(result); rv.Kind() == reflect.Pointer {
			return rv.Elem().Interface()
		}
		return result
	}
	asFloat := func(in any) float64 {
		if s, ok := in.(string); ok {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				panic(err)
			}
			return f
		}
		rv := reflect.ValueOf(in)
		switch {
		case rv.CanFloat():
			return rv.Float()
		case rv.CanInt():
			return float64(rv.Int())
		case rv.CanUint():
			return float64(rv.Uint())
		}
		panic(fmt.Sprintf("asFloat() not supported on %T %v", in, in))
	}
	asInt := func(in any) int64 {
		if s, ok := in.(string); ok {
			i, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				panic(err)
			}
			return i
		}
		rv := reflect.ValueOf(in)
		switch {
		case rv.CanFloat():
			return int64(rv.Float())
		case rv.CanInt():
			return rv.Int()
		case rv.CanUint():
			return int64(rv.Uint())
		}
		panic(fmt.Sprintf("asInt() not supported on %T %v", in, in))
	}
	return map[string]any{
		"result":  value(),
		"asInt":   asInt,
		"asFloat": asFloat,
		"isNaN":   math.IsNaN,
		"isInf":   func(f float64) bool { return math.IsInf(f, 0) },
		"isNil":   func(any) bool { return isNil(result) },
		"default": func(_, def any) any {
			if isNil(result) {
				return def
			}
			return value()
		},
	}
}

// metricResult counts a metric's measurements as the AnalysisRun does.
type metricResult struct {
	count, failed, inconclusive, consecutiveErrors int
}

func (r *metricResult) add(phase string) {
	switch phase {
	case phaseSuccessful:
		r.count++
		r.consecutiveErrors = 0
	case phaseFailed:
		r.count++
		r.failed++
		r.consecutiveErrors = 0
	case phaseInconclusive:
		r.count++
		r.inconclusive++
		r.consecutiveErrors = 0
	case phaseError:
		r.consecutiveErrors++
	}
}

// assessMetric is a metric's phase after its latest measurement: over
// failureLimit failures Failed, over inconclusiveLimit inconclusive
// measurements Inconclusive, over consecutiveErrorLimit errors in a row
// Error (the later test wins); else Successful once count measurements
// are taken or the run terminates, else still Running.
func assessMetric(m argoMetric, r metricResult, terminating bool) string {
	limit := func(p *int, def int) int {
		if p == nil {
			return def
		}
		return *p
	}
	phase := ""
	if fl := limit(m.FailureLimit, 0); fl >= 0 && r.failed > fl {
		phase = phaseFailed
	}
	if r.inconclusive > limit(m.InconclusiveLimit, 0) {
		phase = phaseInconclusive
	}
	if r.consecutiveErrors > limit(m.ConsecutiveErrorLimit, 4) {
		phase = phaseError
	}
	switch {
	case phase != "":
		return phase
	case m.Count != nil && *m.Count > 0 && r.count >= *m.Count, terminating:
		return phaseSuccessful
	}
	return phaseRunning
}

// worst is the run's phase: its metrics' worst.
func worst(phases []string) string {
	order := []string{phaseSuccessful, phaseRunning, "Pending", phaseInconclusive, phaseError, phaseFailed}
	w := phaseSuccessful
	for _, p := range phases {
		if slices.Index(order, p) > slices.Index(order, w) {
			w = p
		}
	}
	return w
}
