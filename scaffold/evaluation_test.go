package scaffold

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// prepareManifest prepares a built-in template made of manifest and files
// under lim, as paved new does.
func prepareManifest(t *testing.T, lim Limits, manifest string, files map[string]string) (*Plan, error) {
	t.Helper()
	fsys := fstest.MapFS{ManifestName: {Data: []byte(manifest)}}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	r := &Resolver{Builtins: Builtins{"t": fsys}, BuiltinVersion: "v1.0.0", RenderLimits: lim}
	return Prepare(context.Background(), r, "t", "example.com/acme/app", "v1.0.0", AnswerInput{})
}

// loopFor is a loop that takes about d to evaluate on this machine, as
// measured here, and the loop's text.
func loopFor(t *testing.T, d time.Duration) string {
	t.Helper()
	const probe = 200000
	m := &Manifest{Delims: [2]string{"{{", "}}"}}
	m.bound(Limits{Timeout: time.Minute})
	text := func(n int) string { return fmt.Sprintf("{{ range %d }}{{ end }}", n) }
	start := time.Now()
	if _, err := renderString(m, "probe", text(probe), map[string]any{}); err != nil {
		t.Fatal(err)
	}
	per := time.Since(start) / probe
	return text(int(d / max(per, time.Nanosecond)))
}

// TestOneDeadlineForTheWholeEvaluation: the manifest's expressions and the
// files share one deadline. Eight defaults, each taking half of it, fail
// the template at the deadline, naming the expression that ran out; with a
// deadline ten times longer one of them passes, and leaves the files only
// what it did not take.
func TestOneDeadlineForTheWholeEvaluation(t *testing.T) {
	const timeout = 300 * time.Millisecond
	loop := loopFor(t, timeout/2)
	var manifest strings.Builder
	manifest.WriteString("questions:\n")
	for i := range 8 {
		fmt.Fprintf(&manifest, "  - name: Q%d\n    default: '%s'\n", i, loop)
	}
	_, err := prepareManifest(t, Limits{Timeout: timeout}, manifest.String(), nil)
	oneLine(t, err, "paved.yaml: default of Q", "render took longer than 300ms (raise with PAVED_RENDER_TIMEOUT)")

	// With room to spare (the machine may be loaded): one such default
	// passes, and what it took is not left for the files.
	one := "questions:\n  - name: Q\n    default: '" + loop + "'\n"
	plan, err := prepareManifest(t, Limits{Timeout: 10 * timeout}, one, nil)
	if err != nil {
		t.Fatalf("one default of a twentieth of the deadline: %v", err)
	}
	if left := plan.Manifest.evaluation().left(); left >= 10*timeout {
		t.Errorf("after a default, %v of %v is left for the files: its time was not counted", left, 10*timeout)
	}
}

// TestAbandonedEvaluationStops: an evaluation abandoned at its deadline
// stops at its next loop iteration or template call: no goroutine keeps
// burning a core after the error, whether the loop is nested ranges or a
// template that calls itself.
func TestAbandonedEvaluationStops(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"nested ranges", "{{ range 1000000000 }}{{ range 1000000000 }}{{ end }}{{ end }}"},
		{"a range in an if in a with", "{{ with 1 }}{{ if true }}{{ range 1000000000 }}{{ range 1000000000 }}{{ end }}{{ end }}{{ end }}{{ end }}"},
		{"a range's else", "{{ range list }}{{ else }}{{ range 1000000000 }}{{ range 1000000000 }}{{ end }}{{ end }}{{ end }}"},
		{"recursion 2^40 calls deep 40", `{{ define "r" }}{{ if lt (len .) 40 }}{{ template "r" (append . 1) }}{{ template "r" (append . 1) }}{{ end }}{{ end }}{{ template "r" list }}`},
		{"a loop inside a defined template", `{{ define "l" }}{{ range 1000000000 }}{{ range 1000000000 }}{{ end }}{{ end }}{{ end }}{{ template "l" }}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			manifest := "questions:\n  - name: A\n    default: '" + strings.ReplaceAll(tc.text, "'", "''") + "'\n"
			_, err := prepareManifest(t, Limits{Timeout: 50 * time.Millisecond}, manifest, nil)
			oneLine(t, err, "default of A", "render took longer than 50ms")
			_, err = renderWith(context.Background(), t, Limits{Timeout: 50 * time.Millisecond}, map[string]string{"f.txt.tmpl": tc.text})
			oneLine(t, err, "f.txt.tmpl: render took longer than 50ms")
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > before {
				t.Fatalf("%d goroutines still running after the deadline (%d before)", n-before, before)
			}
		})
	}
}

// TestOneSizeBudgetForTheWholeEvaluation: what the expressions write
// counts against the total cap with the files.
func TestOneSizeBudgetForTheWholeEvaluation(t *testing.T) {
	lim := Limits{MaxFile: 512 << 10} // total: 2 MiB
	question := func(i int) string {
		return fmt.Sprintf("  - name: Q%d\n    default: '{{ repeat %d \"x\" }}'\n", i, 400<<10)
	}
	manifest := "questions:\n"
	for i := range 6 {
		manifest += question(i)
	}
	_, err := prepareManifest(t, lim, manifest, nil)
	oneLine(t, err, "default of Q5: render exceeded 2 MiB in total")

	manifest = "questions:\n" + question(0) + question(1) + question(2) + question(3)
	plan, err := prepareManifest(t, lim, manifest, map[string]string{"big.txt": strings.Repeat("y", 500<<10)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = plan.Render(context.Background())
	oneLine(t, err, "big.txt: render exceeded 2 MiB in total")
}
