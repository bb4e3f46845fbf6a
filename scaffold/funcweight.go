package scaffold

import "reflect"

// How much a template function's arguments and result weigh, for the caps
// of capped (funcs.go).

// maxValueDepth caps how deeply lists and maps may nest inside one another
// (as encoding/json caps what it reads), so that weighing one never
// overflows the stack.
const maxValueDepth = 10000

// weight is about what v takes when printed: the bytes of its strings plus
// one for every other value, element and key, counting a value again each
// time it recurs (as printing does). A value nested too deeply, or one
// that holds itself, weighs the whole budget; no count goes past it. Each
// list or map is weighed once per call, so a list of lists that doubles at
// each step costs its steps, not its printed size.
func weight(v reflect.Value, budget int64) int64 {
	w := weigher{budget: budget}
	return w.of(v, 0)
}

type weigher struct {
	budget int64
	memo   map[[2]uintptr]int64 // by a list's or map's address and length
}

func (w *weigher) of(v reflect.Value, depth int) int64 {
	for (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) && !v.IsNil() {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return int64(v.Len())
	case reflect.Slice, reflect.Array, reflect.Map:
	default:
		return 1
	}
	if v.Kind() != reflect.Map && v.Type().Elem().Kind() == reflect.Uint8 {
		return 1 + int64(v.Len())
	}
	if depth > maxValueDepth {
		return w.budget
	}
	var key [2]uintptr
	if v.Kind() != reflect.Array {
		key = [2]uintptr{uintptr(v.UnsafePointer()), uintptr(v.Len())}
		if n, ok := w.memo[key]; ok {
			return n
		}
		if w.memo == nil {
			w.memo = map[[2]uintptr]int64{}
		}
		w.memo[key] = w.budget // until weighed: a value that holds itself weighs all
	}
	n := int64(1)
	if v.Kind() == reflect.Map {
		for iter := v.MapRange(); iter.Next() && n < w.budget; {
			n += 1 + w.of(iter.Key(), depth+1) + w.of(iter.Value(), depth+1)
		}
	} else {
		for i := 0; i < v.Len() && n < w.budget; i++ {
			n += 1 + w.of(v.Index(i), depth+1)
		}
	}
	n = min(n, w.budget)
	if v.Kind() != reflect.Array {
		w.memo[key] = n
	}
	return n
}
