package scaffold

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/Masterminds/sprig/v3"
)

// newSemver is what sprig's semver returns (a *semver.Version), through
// the function map, as a template gets it.
func newSemver(s string) any {
	out := reflect.ValueOf(sprig.TxtFuncMap()["semver"]).Call([]reflect.Value{reflect.ValueOf(s)})
	if !out[1].IsNil() {
		panic(out[1].Interface())
	}
	return out[0].Interface()
}

// printfArgs are arguments for printf of every shape a template can make,
// semantic versions (pointers) at the top and inside lists and a map,
// freshly allocated on each call: two calls' pointers differ.
func printfArgs() []any {
	v := newSemver
	long := []any{1, v("4.0.0")}
	return []any{
		[]any{v("1.2.3"), "x", 7},
		map[string]any{"v": v("2.0.0-rc.1"), "n": []any{1, 2}},
		v("3.4.5"),
		"text",
		12,
		[]any{1, "b"},
		[]any{long[:1], long}, // two lists at one address
	}
}

// FuzzPrintfAddress holds printfAddress to what it is for: a format it
// lets through prints the same bytes whatever the addresses of its
// arguments. Its fmt grammar (fmtVerbs) reads a format from a template.
func FuzzPrintfAddress(f *testing.F) {
	for _, format := range []string{
		"%v", "%d", "%#v", "%+v", "%s %q %x %X %T", "%p", "%5.2[1]p", "%[2]*[1]d", "%.5.3v", "%[1][2]d",
		"%[3]2d", "%[0]v", "%[]v", "%[x]v", "%!", "%", "%%", "%-#+ 0v", "%9999999d", "%[99999999]v",
		"%*.*v", "%z", "%w", "%#x", "%[6]v %[1]v", "%v %v %v %v %v %v %v", "%ä", "%.[2]v",
	} {
		f.Add(format)
	}
	f.Fuzz(func(t *testing.T, format string) {
		if len(format) > 64 {
			return // enough for any grammar; a long width only prints long
		}
		if err := printfAddress(format, printfArgs()); err != nil {
			return
		}
		a, b := fmt.Sprintf(format, printfArgs()...), fmt.Sprintf(format, printfArgs()...)
		if a != b {
			t.Fatalf("printfAddress let %q through, but it prints addresses:\n%s\n%s", format, a, b)
		}
	})
}

// TestPrintfAddress: formats printf refuses, and some it must not.
func TestPrintfAddress(t *testing.T) {
	nested := []any{[]any{newSemver("1.0.0")}}
	tests := []struct {
		format  string
		args    []any
		wantErr string
	}{
		{format: "%v %s %q %x %X %T %+v %#x", args: nested},
		{format: "%d", args: nested, wantErr: "printf: %d prints a pointer"},
		{format: "%#v", args: nested, wantErr: "printf: %#v prints a pointer"},
		{format: "%[1]*d", args: nested, wantErr: "printf: %d prints a pointer"},
		{format: "%%10000010%b", args: nested, wantErr: "printf: %b prints a pointer"}, // found by FuzzPrintfAddress
		{format: "%d %#v", args: []any{newSemver("1.0.0"), []any{1}}},
		{format: "%d", args: []any{map[string]any{"a": []any{1, "x"}}}},
		{format: "%p", args: []any{"no pointer"}, wantErr: "printf: %p prints a memory address"},
		{format: "%v", args: []any{[]any{make(chan int)}}, wantErr: "printf: %v prints a pointer"},
		{format: "%T", args: []any{[]any{make(chan int)}}},
		{format: "%v", args: []any{struct{ p *int }{new(int)}}, wantErr: "printf: %v prints a pointer"},
	}
	for _, tt := range tests {
		err := printfAddress(tt.format, tt.args)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tt.format, err)
		case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
			t.Errorf("%q: error %v, want %q", tt.format, err, tt.wantErr)
		}
	}
	// A list is looked in once, but a longer one at the same address is
	// another list.
	long := []any{1, newSemver("1.0.0")}
	if err := printfAddress("%d", []any{[]any{long[:1], long}}); err == nil {
		t.Errorf("a pointer in the tail of a list that shares its address with a shorter one: no error")
	}
	// A list that holds itself is looked at once.
	self := []any{nil}
	self[0] = self
	if err := printfAddress("%d", []any{self}); err != nil {
		t.Errorf("a list that holds itself: %v", err)
	}
}
