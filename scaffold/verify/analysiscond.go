package verify

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/prometheus/prometheus/promql/parser"
)

// An analysis metric's successCondition and failureCondition, evaluated
// as the Rollouts controller evaluates them (utils/evaluate in
// github.com/argoproj/argo-rollouts v1.10.2: expr-lang/expr, with result,
// asInt, asFloat, isNaN, isInf, isNil and default), on what its Prometheus
// query returns when the canary serves nothing: an empty vector (no
// series, or a ratio over no requests) and NaN (0/0). That measurement
// must be Inconclusive: a pass promotes a canary nobody has tried, and an
// error counts towards aborting the rollout for want of traffic.

// conditionEnv is the controller's environment for a result.
func conditionEnv(result any) map[string]any {
	return map[string]any{
		"result":  result,
		"asInt":   func(in any) int64 { return int64(asFloat(in)) },
		"asFloat": asFloat,
		"isNaN":   math.IsNaN,
		"isInf":   func(f float64) bool { return math.IsInf(f, 0) },
		"isNil":   func(any) bool { return result == nil },
		"default": func(_, d any) any {
			if result == nil {
				return d
			}
			return result
		},
	}
}

// asFloat is the controller's asFloat for the values a Prometheus result
// holds (it panics on others, as the controller's does).
func asFloat(in any) float64 {
	switch v := in.(type) {
	case float64:
		return v
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			panic(err)
		}
		return f
	}
	rv := reflect.ValueOf(in)
	if rv.CanInt() {
		return float64(rv.Int())
	}
	if rv.CanFloat() {
		return rv.Float()
	}
	panic(fmt.Sprintf("asFloat() not supported on %T %v", in, in))
}

// evalCondition is the controller's EvalCondition.
func evalCondition(result any, condition string) (ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			ok, err = false, fmt.Errorf("%v", p)
		}
	}()
	env := conditionEnv(result)
	program, err := expr.Compile(condition, expr.Env(env))
	if err != nil {
		return false, unwrapExprError(err)
	}
	out, err := expr.Run(program, env)
	if err != nil {
		return false, unwrapExprError(err)
	}
	b, isBool := out.(bool)
	if !isBool {
		return false, fmt.Errorf("expected bool, but got %T", out)
	}
	return b, nil
}

func unwrapExprError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return errors.New(fe.Message)
	}
	return err
}

// analysisPhase is the controller's EvaluateResult: Successful, Failed,
// Inconclusive, or Error with its error.
func analysisPhase(result any, success, failure string) (string, error) {
	var ok, failed bool
	var err error
	if success != "" {
		if ok, err = evalCondition(result, success); err != nil {
			return "Error", fmt.Errorf("successCondition: %w", err)
		}
	}
	if failure != "" {
		if failed, err = evalCondition(result, failure); err != nil {
			return "Error", fmt.Errorf("failureCondition: %w", err)
		}
	}
	switch {
	case success == "" && failure == "":
		return "Successful", nil
	case failure == "":
		failed = !ok
	case success == "":
		ok = !failed
	}
	switch {
	case failed:
		return "Failed", nil
	case !ok:
		return "Inconclusive", nil
	}
	return "Successful", nil
}

// noTrafficResults are what a query of the given type returns for a
// canary that serves nothing, as the controller hands them to the
// conditions.
func noTrafficResults(t parser.ValueType) []any {
	if t == parser.ValueTypeScalar {
		return []any{math.NaN()}
	}
	return []any{[]float64{}, []float64{math.NaN()}}
}

func resultString(r any) string {
	switch v := r.(type) {
	case []float64:
		s := "["
		for i, f := range v {
			if i > 0 {
				s += ","
			}
			s += strconv.FormatFloat(f, 'g', -1, 64)
		}
		return s + "]"
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return fmt.Sprint(r)
}
