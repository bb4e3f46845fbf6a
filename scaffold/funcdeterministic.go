package scaffold

import (
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"
	"text/template"
	"unicode/utf8"
)

// deterministicFuncs are paved's own versions of the functions funcTable
// marks madeDeterministic, but printf (funcs.go), which checks its format
// with printfAddress.
func deterministicFuncs() template.FuncMap {
	return template.FuncMap{
		"keys":    sortedKeys,
		"values":  valuesByKey,
		"osBase":  path.Base,
		"osClean": path.Clean,
		"osDir":   path.Dir,
		"osExt":   path.Ext,
		"osIsAbs": path.IsAbs,
	}
}

// sortedKeys is sprig's keys, sorted: the keys of every dict, repeats kept
// (`keys $a $b | uniq` still drops them).
func sortedKeys(dicts ...map[string]any) []string {
	k := []string{}
	for _, d := range dicts {
		for key := range d {
			k = append(k, key)
		}
	}
	slices.Sort(k)
	return k
}

// valuesByKey is sprig's values, in the sorted order of their keys: what
// `range $k, $v := $dict` visits.
func valuesByKey(dict map[string]any) []any {
	v := make([]any, 0, len(dict))
	for _, key := range sortedKeys(dict) {
		v = append(v, dict[key])
	}
	return v
}

// printfAddress refuses a format that would print a memory address, which
// differs from run to run. fmt prints one for %p, and for a pointer below
// an argument's top (a semver in a list) under any verb that does not call
// its String method: all but %v %s %q %x %X, and %#v, bad verbs included.
// A pointer that has no String method prints as an address under every
// verb but %T (no function a template can call makes one).
func printfAddress(format string, args []any) error {
	verbs := fmtVerbs(format)
	for _, v := range verbs {
		if v.verb == 'p' {
			return fmt.Errorf("printf: %%p prints a memory address, which differs from run to run")
		}
	}
	held := noPointer
	for _, a := range args {
		held = max(held, pointerBelow(reflect.ValueOf(a)))
	}
	allowed, instead := "vsqxXT", "%v or %s"
	switch held {
	case noPointer:
		return nil
	case barePointer:
		allowed, instead = "T", "%T"
	}
	for _, v := range verbs {
		if !strings.ContainsRune(allowed, v.verb) || v.sharp && v.verb == 'v' {
			verb := "%" + string(v.verb)
			if v.sharp {
				verb = "%#" + string(v.verb)
			}
			return fmt.Errorf("printf: %s prints a pointer inside a list or map (a semver) as its memory address, which differs from run to run; use %s", verb, instead)
		}
	}
	return nil
}

// fmtVerb is one verb of a format: its rune and whether it has the # flag.
type fmtVerb struct {
	verb  rune
	sharp bool
}

// fmtVerbs lists the verbs of a format as fmt.Sprintf reads them: after
// the %, flags, an argument index, a width, a precision with its own
// index, an index, then the verb; %% is no verb. It follows fmt's own
// reading (doPrintf) step by step, so that "%.5.3v" (verb '.') and
// "%[1][2]d" (verb '[') are read as fmt reads them.
func fmtVerbs(format string) []fmtVerb {
	var verbs []fmtVerb
	end := len(format)
	for i := 0; i < end; {
		if format[i] != '%' {
			i++
			continue
		}
		i++
		sharp := false
		for ; i < end && strings.IndexByte("#0+- ", format[i]) >= 0; i++ {
			sharp = sharp || format[i] == '#'
		}
		var afterIndex bool
		i, afterIndex = fmtArgIndex(format, i)
		if i < end && format[i] == '*' {
			i++
			afterIndex = false
		} else {
			i, _ = fmtNumber(format, i, end)
		}
		if i+1 < end && format[i] == '.' {
			i++
			i, afterIndex = fmtArgIndex(format, i)
			if i < end && format[i] == '*' {
				i++
				afterIndex = false
			} else {
				i, _ = fmtNumber(format, i, end)
			}
		}
		if !afterIndex {
			i, _ = fmtArgIndex(format, i)
		}
		if i >= end {
			break // %!(NOVERB)
		}
		verb, size := utf8.DecodeRuneInString(format[i:])
		i += size
		if verb != '%' {
			verbs = append(verbs, fmtVerb{verb: verb, sharp: sharp})
		}
	}
	return verbs
}

// fmtArgIndex skips an argument index ("[2]") at i as fmt does: a good one
// whole (ok), a bad one up to its "]", a "[" without one alone.
func fmtArgIndex(format string, i int) (next int, ok bool) {
	if i >= len(format) || format[i] != '[' {
		return i, false
	}
	s := format[i:]
	if len(s) < 3 {
		return i + 1, false
	}
	for j := 1; j < len(s); j++ {
		if s[j] == ']' {
			n, isNum := fmtNumber(s, 1, j)
			return i + j + 1, isNum && n == j
		}
	}
	return i + 1, false
}

// fmtNumber skips the decimal digits from start, before end, as fmt's
// parsenum does: isNum when there was one, and a number past 1e6 is none
// and ends the format.
func fmtNumber(s string, start, end int) (next int, isNum bool) {
	num := 0
	i := start
	for ; i < end && '0' <= s[i] && s[i] <= '9'; i++ {
		if num > 1e6 {
			return end, false
		}
		num = num*10 + int(s[i]-'0')
		isNum = true
	}
	return i, isNum
}

// heldPointer is what pointers fmt can reach below a value's top: a
// pointer at the top prints as &{...}, below it as an address unless
// fmt calls its String or Error method.
type heldPointer int

const (
	noPointer       heldPointer = iota
	stringerPointer             // only pointers with a String or Error method
	barePointer                 // a pointer (channel, function) without, or a value nested too deeply to tell
)

// pointerBelow is what pointers fmt can reach below v's top.
func pointerBelow(v reflect.Value) heldPointer {
	for v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	p := pointerFinder{seen: map[[2]uintptr]bool{}}
	p.below(v, 0)
	return p.held
}

type pointerFinder struct {
	seen map[[2]uintptr]bool // lists and maps already looked in, by address and length
	held heldPointer
}

// below looks inside v, until it finds a bare pointer.
func (p *pointerFinder) below(v reflect.Value, depth int) {
	if depth > maxValueDepth {
		p.held = barePointer
		return
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		// Two lists may share an address with different lengths (slice
		// $l 0 1 and $l).
		key := [2]uintptr{uintptr(v.UnsafePointer()), uintptr(v.Len())}
		if v.IsNil() || p.seen[key] {
			return
		}
		p.seen[key] = true
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := 0; i < v.Len() && p.held != barePointer; i++ {
			p.in(v.Index(i), depth)
		}
	case reflect.Map:
		for iter := v.MapRange(); iter.Next() && p.held != barePointer; {
			p.in(iter.Key(), depth)
			p.in(iter.Value(), depth)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField() && p.held != barePointer; i++ {
			p.in(v.Field(i), depth)
		}
	}
}

// in looks at an element of a list, map or struct: a pointer there is
// what fmt prints as an address, unless it calls a method of it.
func (p *pointerFinder) in(v reflect.Value, depth int) {
	for v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.CanInterface() {
			switch v.Interface().(type) {
			case fmt.Stringer, error:
				p.held = max(p.held, stringerPointer)
				return
			}
		}
		p.held = barePointer
	case reflect.UnsafePointer, reflect.Chan, reflect.Func:
		p.held = barePointer
	default:
		p.below(v, depth+1)
	}
}
