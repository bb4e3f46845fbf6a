package scaffold

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"text/template"
	"unicode/utf8"

	"github.com/Masterminds/sprig/v3"
)

// funcMap returns the functions available to templates: those funcTable
// does not refuse, sprig's or paved's own (deterministicFuncs, moduleBase),
// every one under the caps of limits.go.
//
// One call may not allocate without bound: a Go program that runs out of
// memory dies with a runtime dump, which no recover catches. So functions
// whose result grows with a count argument (repeat, until, seq, indent, ...)
// check the size before they allocate, and every function that returns a
// string, list or map is wrapped by capped: arguments and result may not
// outweigh the caps, which also stops a dict that holds itself (set, merge)
// and a list of lists that doubles at each step. What they return counts
// against b, so that many capped values kept in variables cannot add up to
// more memory than the machine has either.
func funcMap(b *funcBudget) template.FuncMap {
	fm := uncappedFuncMap()
	for name, fn := range fm {
		fm[name] = capped(fn, b)
	}
	fm[deadlineFunc] = b.deadline
	return fm
}

// uncappedFuncMap is funcMap before capped wraps it. A sprig function that
// funcTable does not classify is left out, as a refused one is: it is not
// known to be deterministic.
func uncappedFuncMap() template.FuncMap {
	sprigFuncs := sprig.TxtFuncMap()
	fm := template.FuncMap{}
	for _, row := range funcTable {
		for _, name := range row.names {
			if fn, ok := sprigFuncs[name]; ok && row.class != refused {
				fm[name] = fn
			}
		}
	}
	fm["moduleBase"] = moduleBase
	// text/template's own formatting builtins, redefined (a function map
	// overrides builtins) so that the same caps apply to them.
	fm["print"] = fmt.Sprint
	fm["println"] = fmt.Sprintln
	fm["printf"] = printf
	fm["html"] = template.HTMLEscaper
	fm["js"] = template.JSEscaper
	fm["urlquery"] = template.URLQueryEscaper
	for name, fn := range deterministicFuncs() {
		fm[name] = fn
	}
	for name, fn := range countedFuncs(fm) {
		fm[name] = fn
	}
	return fm
}

// funcBudget counts the bytes (weight) that the functions of one template
// set have returned, against max; once stop is closed (the evaluation is
// over), every capped call and every deadlineFunc call fails.
type funcBudget struct {
	max  int64
	used atomic.Int64
	stop <-chan struct{} // nil: never
}

func (b *funcBudget) over() bool {
	select {
	case <-b.stop:
		return true
	default:
		return false
	}
}

// deadline is deadlineFunc: it prints nothing, and fails once the
// evaluation is over.
func (b *funcBudget) deadline() (string, error) {
	if b.over() {
		return "", errAbandoned
	}
	return "", nil
}

func newFuncBudget() *funcBudget { return &funcBudget{max: maxFuncBytes} }

// capError says which cap a call ran into; text/template puts "error
// calling NAME:" before it.
func capError(what string, n int64) error {
	if what == "elements" {
		return fmt.Errorf("the result would have %d elements, over the cap of %d", n, maxListLen)
	}
	return fmt.Errorf("the result would be %d bytes, over the %s cap on a function's result", n, formatSize(maxValueBytes))
}

// checkBytes refuses a string result of n*each+extra bytes over the cap,
// without overflowing.
func checkBytes(n, each, extra int64) error {
	if n < 0 {
		return fmt.Errorf("negative count %d", n)
	}
	if each > 0 && n > (maxValueBytes-extra)/each || extra > maxValueBytes {
		total := n*each + extra
		if each > 0 && n > (1<<62)/each {
			total = 1 << 62
		}
		return capError("bytes", total)
	}
	return nil
}

func checkLen(n int64) error {
	if n > maxListLen {
		return capError("elements", n)
	}
	return nil
}

// countedFuncs are the functions whose result grows with an argument,
// checked before they allocate. Those sprig implements are called after the
// check; until, untilStep and seq are written out here, because sprig's
// loop can also overflow its counter and never end.
func countedFuncs(fm template.FuncMap) template.FuncMap {
	indent := fm["indent"].(func(int, string) string)
	wrapWith := fm["wrapWith"].(func(int, string, string) string)
	join := fm["join"].(func(string, any) string)
	split := fm["split"].(func(string, string) map[string]string)
	splitn := fm["splitn"].(func(string, int, string) map[string]string)
	chunk := fm["chunk"].(func(int, any) [][]any)
	mustChunk := fm["mustChunk"].(func(int, any) ([][]any, error))
	regexFindAll := fm["mustRegexFindAll"].(func(string, string, int) ([]string, error))
	regexSplit := fm["mustRegexSplit"].(func(string, string, int) ([]string, error))

	indentSize := func(spaces int, s string) error {
		return checkBytes(int64(spaces), int64(strings.Count(s, "\n")+1), int64(len(s))+1)
	}
	pieces := func(sep, s string) int64 {
		if sep == "" {
			return int64(utf8.RuneCountInString(s))
		}
		return int64(strings.Count(s, sep) + 1)
	}
	clampN := func(n int) int {
		if n < 0 || n > maxListLen+1 {
			return maxListLen + 1
		}
		return n
	}
	mustList := func(l []string, err error) ([]string, error) {
		if err == nil {
			err = checkLen(int64(len(l)))
		}
		return l, err
	}
	mustChunkSize := func(size int, list any) ([][]any, error) {
		if size < 1 {
			return nil, fmt.Errorf("chunk size %d: want 1 or more", size)
		}
		return mustChunk(size, list)
	}
	return template.FuncMap{
		"repeat": func(count int, s string) (string, error) {
			if err := checkBytes(int64(count), int64(len(s)), 0); err != nil {
				return "", err
			}
			return strings.Repeat(s, count), nil
		},
		"until": func(count int) ([]int, error) {
			step := 1
			if count < 0 {
				step = -1
			}
			return untilStep(0, count, step)
		},
		"untilStep": untilStep,
		"seq":       seq,
		"indent": func(spaces int, s string) (string, error) {
			if err := indentSize(spaces, s); err != nil {
				return "", err
			}
			return indent(spaces, s), nil
		},
		"nindent": func(spaces int, s string) (string, error) {
			if err := indentSize(spaces, s); err != nil {
				return "", err
			}
			return "\n" + indent(spaces, s), nil
		},
		"wrapWith": func(width int, sep, s string) (string, error) {
			lines := int64(len(s))/int64(max(width, 1)) + 1
			if err := checkBytes(lines, int64(len(sep)), int64(len(s))); err != nil {
				return "", err
			}
			return wrapWith(width, sep, s), nil
		},
		"replace": func(old, repl, s string) (string, error) {
			if n := int64(strings.Count(s, old)); len(repl) > len(old) {
				if err := checkBytes(n, int64(len(repl)-len(old)), int64(len(s))); err != nil {
					return "", err
				}
			}
			return strings.ReplaceAll(s, old, repl), nil
		},
		"join": func(sep string, v any) (string, error) {
			if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
				if err := checkBytes(int64(rv.Len()), int64(len(sep)), weight(rv, maxValueBytes+1)); err != nil {
					return "", err
				}
			}
			return join(sep, v), nil
		},
		"split": func(sep, s string) (map[string]string, error) {
			if err := checkLen(pieces(sep, s)); err != nil {
				return nil, err
			}
			return split(sep, s), nil
		},
		"splitList": func(sep, s string) ([]string, error) {
			if err := checkLen(pieces(sep, s)); err != nil {
				return nil, err
			}
			return strings.Split(s, sep), nil
		},
		"splitn": func(sep string, n int, s string) (map[string]string, error) {
			if p := pieces(sep, s); n < 0 || int64(n) > p {
				if err := checkLen(p); err != nil {
					return nil, err
				}
			} else if err := checkLen(int64(n)); err != nil {
				return nil, err
			}
			return splitn(sep, n, s), nil
		},
		"chunk": func(size int, list any) ([][]any, error) {
			if size < 1 {
				return nil, fmt.Errorf("chunk size %d: want 1 or more", size)
			}
			return chunk(size, list), nil
		},
		"mustChunk": mustChunkSize,
		// The regexp functions ask for one match more than the cap, so they
		// never collect more than that.
		"regexFindAll": func(re, s string, n int) []string {
			l, err := mustList(regexFindAll(re, s, clampN(n)))
			if err != nil {
				panic(err) // sprig's regexFindAll has no error result; text/template reports a panic as the call's error
			}
			return l
		},
		"mustRegexFindAll": func(re, s string, n int) ([]string, error) { return mustList(regexFindAll(re, s, clampN(n))) },
		"regexSplit": func(re, s string, n int) []string {
			l, err := mustList(regexSplit(re, s, clampN(n)))
			if err != nil {
				panic(err)
			}
			return l
		},
		"mustRegexSplit":             func(re, s string, n int) ([]string, error) { return mustList(regexSplit(re, s, clampN(n))) },
		"regexReplaceAll":            regexReplacer(false, false),
		"mustRegexReplaceAll":        regexReplacer(false, true),
		"regexReplaceAllLiteral":     regexReplacer(true, false),
		"mustRegexReplaceAllLiteral": regexReplacer(true, true),
	}
}

// untilStep is sprig's untilStep with a cap on the list, counted before it
// is made, and no counter to overflow.
func untilStep(start, stop, step int) ([]int, error) {
	// The distance between two ints always fits a uint64, as the modular
	// difference of their bit patterns.
	var n uint64
	switch {
	case stop > start && step > 0:
		n = (uint64(stop)-uint64(start)-1)/uint64(step) + 1 //nolint:gosec // modular on purpose, see above
	case stop < start && step < 0:
		n = (uint64(start)-uint64(stop)-1)/(uint64(-(step+1))+1) + 1 //nolint:gosec // modular on purpose; -(step+1) cannot overflow
	}
	if n > maxListLen {
		return nil, capError("elements", int64(min(n, 1<<62)))
	}
	v := make([]int, n)
	for i := range v {
		v[i] = start + i*step
	}
	return v, nil
}

// seq is sprig's seq (GNU seq's arguments: LAST, FIRST LAST, FIRST STEP
// LAST) over the capped untilStep.
func seq(params ...int) (string, error) {
	var start, step, stop int
	switch len(params) {
	case 1:
		start, step, stop = 1, 1, params[0]
		if stop < start {
			step = -1
		}
	case 2:
		start, step, stop = params[0], 1, params[1]
		if stop < start {
			step = -1
		}
	case 3:
		start, step, stop = params[0], params[1], params[2]
		if stop < start && step > 0 {
			return "", nil
		}
	default:
		return "", nil
	}
	increment := 1
	if stop < start {
		increment = -1
	}
	v, err := untilStep(start, stop+increment, step)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(x))
	}
	return b.String(), nil
}

// regexReplacer is sprig's regexReplaceAll (literal: ...Literal), with
// the result's size bounded before it is built: each match grows the
// string by at most the replacement's length, plus the whole input for
// every $ in it (a $0 expands to a match).
func regexReplacer(literal, must bool) any {
	replace := func(expr, s, repl string) (string, error) {
		re, err := regexp.Compile(expr)
		if err != nil {
			return "", err
		}
		grow := int64(len(repl))
		if !literal {
			grow += int64(strings.Count(repl, "$")) * int64(len(s))
		}
		if grow > 0 {
			limit := (maxValueBytes - int64(len(s))) / grow
			if n := countMatches(re, s, limit+1); n > limit {
				return "", capError("bytes", n*grow+int64(len(s)))
			}
		}
		if literal {
			return re.ReplaceAllLiteralString(s, repl), nil
		}
		return re.ReplaceAllString(s, repl), nil
	}
	if must {
		return replace
	}
	return func(expr, s, repl string) string {
		out, err := replace(expr, s, repl)
		if err != nil {
			panic(err) // as sprig's regexReplaceAll does on a bad expression; text/template reports it as the call's error
		}
		return out
	}
}

// countMatches counts re's matches in s, up to limit, without collecting
// them. It may count more than ReplaceAll replaces (never fewer), which is
// what an upper bound needs.
func countMatches(re *regexp.Regexp, s string, limit int64) int64 {
	var n int64
	for pos := 0; pos <= len(s) && n < limit; {
		loc := re.FindStringIndex(s[pos:])
		if loc == nil {
			break
		}
		n++
		if loc[1] > loc[0] {
			pos += loc[1]
			continue
		}
		_, size := utf8.DecodeRuneInString(s[pos+loc[1]:])
		pos += loc[1] + max(size, 1)
	}
	return n
}

// printf is fmt.Sprintf without memory addresses (printfAddress), and
// with the result's size bounded before it is built: each verb may print
// the largest argument padded to the widest width in the format (fmt
// refuses widths over 1e6).
func printf(format string, args ...any) (string, error) {
	if err := printfAddress(format, args); err != nil {
		return "", err
	}
	var widest, heaviest int64
	for _, a := range args {
		heaviest = max(heaviest, weight(reflect.ValueOf(a), maxValueBytes+1))
	}
	if strings.Contains(format, "*") {
		widest = 1e6
	}
	for _, f := range strings.FieldsFunc(format, func(r rune) bool { return r < '0' || r > '9' }) {
		if w, err := strconv.ParseInt(f, 10, 64); err != nil || w > 1e6 {
			widest = 1e6
		} else {
			widest = max(widest, w)
		}
	}
	// What a verb prints may be larger than its argument (%q, %x), but not
	// by much: the result's own cap (capped) catches that; this bound is
	// for a format that names one argument many times.
	verbs := int64(strings.Count(format, "%"))
	if per := heaviest + widest + 32; verbs > 0 && per > (4*maxValueBytes-int64(len(format)))/verbs {
		return "", capError("bytes", min(verbs*per, 1<<62))
	}
	return fmt.Sprintf(format, args...), nil
}

// capped wraps a function that returns a string, list, map or any value:
// its arguments together may not outweigh twice the cap (so one call
// allocates a bounded amount), its result may not outweigh the cap, and
// the results of all calls together may not outweigh b's. Other functions
// (numbers, bools) are returned as they are.
func capped(fn any, b *funcBudget) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.NumOut() == 0 {
		return fn
	}
	switch t.Out(0).Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Interface:
	default:
		return fn
	}
	fail := func(err error) []reflect.Value {
		if t.NumOut() == 2 && t.Out(1) == reflect.TypeFor[error]() {
			return []reflect.Value{reflect.Zero(t.Out(0)), reflect.ValueOf(&err).Elem()}
		}
		// No error result: text/template reports a panic as the call's error.
		panic(err)
	}
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		if b.over() {
			return fail(errAbandoned)
		}
		var in int64
		for _, a := range args {
			in += weight(a, 2*maxValueBytes+1-in)
		}
		if in > 2*maxValueBytes {
			return fail(fmt.Errorf("the arguments are over twice the %s cap on a function's result", formatSize(maxValueBytes)))
		}
		var out []reflect.Value
		if t.IsVariadic() {
			out = v.CallSlice(args)
		} else {
			out = v.Call(args)
		}
		if len(out) == 2 && !out[1].IsNil() {
			return out
		}
		w := weight(out[0], maxValueBytes+1)
		if w > maxValueBytes {
			return fail(fmt.Errorf("the result is over the %s cap on a function's result (or holds itself)", formatSize(maxValueBytes)))
		}
		if b.used.Add(w) > b.max {
			return fail(fmt.Errorf("the template's functions have returned over %s in all", formatSize(b.max)))
		}
		return out
	}).Interface()
}
