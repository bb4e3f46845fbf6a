package scaffold

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// renderWith renders a template of plain files (no paved.yaml questions)
// under lim.
func renderWith(ctx context.Context, t *testing.T, lim Limits, files map[string]string) ([]File, error) {
	t.Helper()
	fsys := fstest.MapFS{"paved.yaml": {Data: []byte("description: limits\n")}}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	tmpl := &Template{FS: fsys, Source: "test", Version: "v1.0.0"}
	m, err := ReadManifest(fsys)
	if err != nil {
		t.Fatal(err)
	}
	data := RenderData("example.com/x", tmpl, "v9.9.9")
	return Render(ctx, RenderInput{Template: tmpl, Manifest: m, Module: "example.com/x", Data: data, Limits: lim})
}

// oneLine fails unless err is a single line that says each of want.
func oneLine(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", want)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || strings.Contains(msg, "goroutine ") {
		t.Errorf("error is not one line:\n%s", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
}

func TestRenderDeadline(t *testing.T) {
	tests := []struct {
		name, file, text string
	}{
		// Calls no function and writes nothing: only the deadline around
		// the execution stops it. Finite, so that the goroutine left
		// running ends soon after the test; it still takes seconds.
		{"range bomb", "loop.txt.tmpl", "{{ range 30000000 }}{{ end }}"},
		// Writes: the abandoned render stops at its next write.
		{"writing range bomb", "x.txt.tmpl", "{{ range 100000000000000 }}x{{ end }}"},
		{"bomb in a path", "{{ range 30000000 }}{{ end }}p.txt", "p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Ample for a.txt, even on a loaded machine; the bomb takes
			// seconds (far more under the race detector).
			lim := Limits{Timeout: 200 * time.Millisecond, MaxFile: 1 << 40}
			_, err := renderWith(context.Background(), t, lim, map[string]string{"a.txt": "a", tt.file: tt.text})
			oneLine(t, err, tt.file+": render took longer than 200ms (raise with PAVED_RENDER_TIMEOUT)")
		})
	}
}

func TestRenderCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	lim := Limits{Timeout: time.Hour, MaxFile: 1 << 40}
	_, err := renderWith(ctx, t, lim, map[string]string{"x.txt.tmpl": "{{ range 100000000000000 }}x{{ end }}"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Render after cancel = %v, want context.Canceled", err)
	}
}

func TestRenderSizeCaps(t *testing.T) {
	kib := strings.Repeat("k", 1024)
	tests := []struct {
		name  string
		lim   Limits
		files map[string]string
		want  string
	}{
		{"rendered file", Limits{MaxFile: 1 << 10}, map[string]string{"f.txt.tmpl": "{{ range 2 }}" + kib + "{{ end }}"},
			"f.txt.tmpl: render exceeded 1 KiB (raise with PAVED_RENDER_MAX)"},
		{"copied file", Limits{MaxFile: 1 << 10}, map[string]string{"f.bin": kib + "!"},
			"f.bin: render exceeded 1 KiB (raise with PAVED_RENDER_MAX)"},
		{"total", Limits{MaxFile: 1 << 10, MaxTotal: 2 << 10}, map[string]string{"a.txt": kib, "b.txt.tmpl": kib, "c.txt.tmpl": "{{ range 3 }}x{{ end }}"},
			"c.txt.tmpl: render exceeded 2 KiB in total (raise with PAVED_RENDER_MAX)"},
		{"output of a bomb", Limits{}, map[string]string{"f.txt.tmpl": `{{ $s := repeat 16777216 "x" }}{{ range 5 }}{{ $s }}{{ end }}`},
			"f.txt.tmpl: render exceeded 64 MiB (raise with PAVED_RENDER_MAX)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderWith(context.Background(), t, tt.lim, tt.files)
			oneLine(t, err, tt.want)
		})
	}
	// At the cap is allowed.
	if _, err := renderWith(context.Background(), t, Limits{MaxFile: 1 << 10}, map[string]string{"f.txt.tmpl": kib, "g.bin": kib}); err != nil {
		t.Errorf("files of exactly the cap: %v", err)
	}
}

// TestFuncCaps calls template functions asking for more than their caps:
// each is refused before it allocates, in one line that names the function
// and the cap. Without the caps, several of these end the test binary with
// a runtime dump.
func TestFuncCaps(t *testing.T) {
	tests := []struct{ text, want string }{
		{`{{ repeat 2000000000 "x" }}`, `error calling repeat: the result would be 2000000000 bytes, over the 16 MiB cap`},
		{`{{ repeat 1000000000000000000 "xxxxxxxxxx" }}`, `error calling repeat: the result would be`},
		{`{{ repeat -1 "x" }}`, `error calling repeat: negative count -1`},
		{`{{ until 2000000000 }}`, `error calling until: the result would have 2000000000 elements, over the cap of 131072`},
		{`{{ until -2000000000 }}`, `error calling until: the result would have 2000000000 elements`},
		{`{{ untilStep 0 9223372036854775807 1 }}`, `error calling untilStep: the result would have`},
		{`{{ untilStep -9223372036854775808 9223372036854775807 1 }}`, `error calling untilStep: the result would have`},
		{`{{ seq 2000000000 }}`, `error calling seq: the result would have 2000000000 elements`},
		{`{{ seq 0 1 -2000000000 }}`, ``}, // sprig: step and direction disagree, nothing
		{`{{ indent 2000000000 "x" }}`, `error calling indent: the result would be`},
		{`{{ nindent 100000 (repeat 1000 "\n") }}`, `error calling nindent: the result would be`},
		{`{{ wrapWith 1 (repeat 10000 "-") (repeat 10000 "x") }}`, `error calling wrapWith: the result would be`},
		{`{{ $s := repeat 10000 "x" }}{{ replace "x" $s $s }}`, `error calling replace: the result would be 100000000 bytes`},
		{`{{ join (repeat 100000 "-") (until 1000) }}`, `error calling join: the result would be`},
		{`{{ splitList "" (repeat 2000000 "x") }}`, `error calling splitList: the result would have 2000000 elements`},
		{`{{ split "x" (repeat 2000000 "x") }}`, `error calling split: the result would have 2000001 elements`},
		{`{{ splitn "x" 2000000 (repeat 2000000 "x") }}`, `error calling splitn: the result would have 2000000 elements`},
		{`{{ regexFindAll "x" (repeat 2000000 "x") -1 }}`, `error calling regexFindAll: the result would have 131073 elements`},
		{`{{ regexSplit "x" (repeat 2000000 "x") -1 }}`, `error calling regexSplit: the result would have 131073 elements`},
		{`{{ $s := repeat 10000 "x" }}{{ regexReplaceAll "x" $s $s }}`, `error calling regexReplaceAll: the result would be`},
		{`{{ $s := repeat 10000 "x" }}{{ regexReplaceAll "x" $s "$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0" }}`, `error calling regexReplaceAll: the result would be`},
		{`{{ chunk 0 (list 1 2) }}`, `error calling chunk: chunk size 0: want 1 or more`},
		{`{{ $s := repeat 10000000 "x" }}{{ printf "%[1]s%[1]s%[1]s%[1]s%[1]s%[1]s%[1]s%[1]s" $s }}`, `error calling printf: the result would be`},
		// Doubling: every step is a small call; the caps stop the growth.
		{`{{ $s := repeat 8388608 "x" }}{{ $s = cat $s $s }}{{ $s = cat $s $s }}{{ len $s }}`, `error calling cat: the result is over the 16 MiB cap`},
		{`{{ $s := repeat 8388608 "x" }}{{ print $s $s $s $s $s }}`, `error calling print: the arguments are over twice the 16 MiB cap`},
		{`{{ $l := list 1 2 }}{{ range 30 }}{{ $l = list $l $l }}{{ end }}{{ len $l }}`, `error calling list: the result is over the 16 MiB cap`},
		// A dict that holds itself would print for ever (and overflow the stack).
		{`{{ $d := dict }}{{ $_ := set $d "me" $d }}{{ $d }}`, `error calling set: the result is over the 16 MiB cap on a function's result (or holds itself)`},
		{`{{ $d := dict "a" 1 }}{{ $_ := merge $d (dict "me" $d) }}{{ $d }}`, `error calling merge: the result is over`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			// A generous deadline: the race detector slows the regexp cases.
			out, err := renderWith(context.Background(), t, Limits{Timeout: time.Minute}, map[string]string{"f.txt.tmpl": tt.text})
			if tt.want == "" {
				if err != nil || len(out) != 1 || len(out[0].Data) != 0 {
					t.Errorf("got %v, want an empty file", err)
				}
				return
			}
			oneLine(t, err, "f.txt.tmpl:1:", tt.want)
		})
	}
}

// TestFuncsAsSprig checks that the rewritten and wrapped functions give
// what sprig's own give, for sizes a template really uses.
func TestFuncsAsSprig(t *testing.T) {
	tests := []string{
		`{{ until 5 }} {{ until -3 }} {{ until 0 }}`,
		`{{ untilStep 0 10 3 }} {{ untilStep 10 0 -3 }} {{ untilStep 0 10 -1 }} {{ untilStep 10 0 1 }} {{ untilStep 3 3 1 }} {{ untilStep 0 10 0 }}`,
		`{{ seq 5 }}|{{ seq -3 }}|{{ seq 2 6 }}|{{ seq 6 2 }}|{{ seq 0 2 10 }}|{{ seq 10 -3 0 }}|{{ seq 10 3 0 }}|{{ seq }}|{{ seq 1 2 3 4 }}|{{ seq 0 }}|{{ seq 1 }}`,
		`{{ repeat 3 "ab" }} {{ "x\ny" | indent 2 }} {{ "x\ny" | nindent 4 }} {{ wrapWith 3 "|" "abcdefgh" }} {{ wrap 2 "abcd" }}`,
		`{{ replace "a" "bb" "banana" }} {{ join "-" (list 1 "b" 3) }} {{ splitList "," "a,b,,c" }} {{ split "/" "a/b" }} {{ splitn "/" 2 "a/b/c" }}`,
		`{{ regexFindAll "a." "banana" -1 }} {{ regexFindAll "a." "banana" 1 }} {{ regexSplit "n" "banana" -1 }} {{ regexReplaceAll "a(.)" "banana" "<$1>" }} {{ regexReplaceAllLiteral "a" "banana" "$1" }} {{ regexReplaceAll "" "ab" "-" }}`,
		`{{ chunk 2 (list 1 2 3) }} {{ printf "%05d|%s|%q" 42 "x" "y" }} {{ print 1 "a" }} {{ println "z" }} {{ html "<a>" }} {{ js "'" }} {{ urlquery "a b" }}`,
		`{{ $d := dict "a" 1 }}{{ $_ := set $d "b" (list 1 2) }}{{ $d }} {{ merge (dict "x" 1) (dict "y" 2) }} {{ toJson (dict "k" (list "v")) }} {{ cat "a" "b" }} {{ moduleBase "example.com/a/b/v2" }}`,
	}
	for _, text := range tests {
		sprigOut := execSprig(t, text)
		out, err := renderWith(context.Background(), t, Limits{}, map[string]string{"f.txt.tmpl": text})
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		if got := string(filesByPath(out)["f.txt"].Data); got != sprigOut {
			t.Errorf("%s:\n got %q\nwant %q (sprig)", text, got, sprigOut)
		}
	}
}

// execSprig renders text with sprig's own functions, as paved did before
// the caps.
func execSprig(t *testing.T, text string) string {
	t.Helper()
	fm := sprig.TxtFuncMap()
	fm["moduleBase"] = moduleBase
	tmpl, err := template.New("sprig").Funcs(fm).Option("missingkey=error").Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, nil); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestRenderStringBounded(t *testing.T) {
	m := &Manifest{Delims: [2]string{"{{", "}}"}}
	m.bound(Limits{Timeout: 5 * time.Millisecond})
	_, err := renderString(m, "default of Name", "{{ range 30000000 }}{{ end }}", map[string]any{})
	oneLine(t, err, "paved.yaml: default of Name: render took longer than 5ms (raise with PAVED_RENDER_TIMEOUT)")
	m.bound(Limits{MaxFile: 10})
	_, err = renderString(m, "when of A", "{{ range 11 }}x{{ end }}", map[string]any{})
	oneLine(t, err, "paved.yaml: when of A: render exceeded 10 bytes")
	// Through ResolveAnswers, with the default limits.
	m, err = ParseManifest(ManifestName, []byte("questions:\n  - name: A\n    default: '{{ repeat 2000000000 \"x\" }}'\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ResolveAnswers(m, map[string]any{}, AnswerInput{})
	oneLine(t, err, "paved.yaml: default of A:1:", "error calling repeat: the result would be 2000000000 bytes, over the 16 MiB cap")
}

func TestLimitsFromEnv(t *testing.T) {
	tests := []struct {
		env     map[string]string
		want    Limits
		wantErr string
	}{
		{env: nil, want: Limits{Timeout: 10 * time.Second, MaxFile: 64 << 20, MaxTotal: 256 << 20}},
		{env: map[string]string{"PAVED_RENDER_TIMEOUT": "2m", "PAVED_RENDER_MAX": "128MiB"}, want: Limits{Timeout: 2 * time.Minute, MaxFile: 128 << 20, MaxTotal: 512 << 20}},
		{env: map[string]string{"PAVED_RENDER_MAX": "1G"}, want: Limits{Timeout: 10 * time.Second, MaxFile: 1 << 30, MaxTotal: 4 << 30}},
		{env: map[string]string{"PAVED_RENDER_MAX": "4096"}, want: Limits{Timeout: 10 * time.Second, MaxFile: 4096, MaxTotal: 4 * 4096}},
		{env: map[string]string{"PAVED_RENDER_TIMEOUT": "soon"}, wantErr: `PAVED_RENDER_TIMEOUT="soon": want a positive duration`},
		{env: map[string]string{"PAVED_RENDER_TIMEOUT": "-1s"}, wantErr: `want a positive duration`},
		{env: map[string]string{"PAVED_RENDER_MAX": "lots"}, wantErr: `PAVED_RENDER_MAX="lots": want a positive size`},
		{env: map[string]string{"PAVED_RENDER_MAX": "0"}, wantErr: `want a positive size`},
		{env: map[string]string{"PAVED_RENDER_MAX": "99999999999GiB"}, wantErr: `want a positive size`},
	}
	for _, tt := range tests {
		got, err := LimitsFromEnv(func(k string) string { return tt.env[k] })
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err = %v, want %q", tt.env, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%v: got %+v, %v; want %+v", tt.env, got, err, tt.want)
		}
	}
}

func TestLimitFS(t *testing.T) {
	mib := strings.Repeat("m", 1<<20)
	fsys := LimitFS(fstest.MapFS{
		"a.txt":     {Data: []byte(mib)},
		"b.txt":     {Data: []byte(mib)},
		"big.bin":   {Data: []byte(mib + "!")},
		"d/c.txt":   {Data: []byte(mib)},
		"d/e/f.txt": {Data: []byte("f")},
	}, ReadLimits{File: 1 << 20, Total: 2 << 20})
	if _, err := fs.ReadFile(fsys, "big.bin"); err == nil || err.Error() != "big.bin: 1048577 bytes, over the limit of 1 MiB for one template file" {
		t.Errorf("oversized file: %v", err)
	}
	for range 3 { // a name is counted once
		if _, err := fs.ReadFile(fsys, "a.txt"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fs.ReadFile(fsys, "b.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.ReadFile(fsys, "d/c.txt"); err == nil || err.Error() != "d/c.txt: the template passes the limit of 2 MiB in all" {
		t.Errorf("over the total: %v", err)
	}
	// Directories, walking and stat pass through.
	var names []string
	if err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		names = append(names, name)
		return err
	}); err != nil || len(names) != 8 {
		t.Errorf("walk: %v %v", names, err)
	}
	if fi, err := fs.Stat(fsys, "d/e"); err != nil || !fi.IsDir() {
		t.Errorf("stat d/e: %v %v", fi, err)
	}
}

// growingFS says every file is empty, then yields its data: a file that
// grows after it was opened, or a zip entry whose header lies.
type growingFS struct{ fstest.MapFS }

type growingFile struct {
	fs.File
}

type zeroSize struct{ fs.FileInfo }

func (zeroSize) Size() int64 { return 0 }

func (g growingFS) Open(name string) (fs.File, error) {
	f, err := g.MapFS.Open(name)
	return growingFile{f}, err
}

func (f growingFile) Stat() (fs.FileInfo, error) {
	fi, err := f.File.Stat()
	return zeroSize{fi}, err
}

func TestLimitFSGrowingFile(t *testing.T) {
	mib := strings.Repeat("m", 1<<20)
	fsys := LimitFS(growingFS{fstest.MapFS{"a": {Data: []byte(mib + "!")}, "b": {Data: []byte(mib)}}}, ReadLimits{File: 1 << 20})
	if _, err := fs.ReadFile(fsys, "a"); err == nil || err.Error() != "a: 1048577 bytes, over the limit of 1 MiB for one template file" {
		t.Errorf("growing file: %v", err)
	}
	if data, err := fs.ReadFile(fsys, "b"); err != nil || len(data) != 1<<20 {
		t.Errorf("file at the cap: %d bytes, %v", len(data), err)
	}
}

// TestModuleTemplateOversizedFile: a module template holding a file over
// the cap is refused when it is opened, before it is rendered or written.
func TestModuleTemplateOversizedFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	proxy := scaffoldtest.NewProxy(t)
	src := t.TempDir()
	scaffoldtest.WriteTree(t, src, map[string]string{
		"go.mod":     "module example.com/big\n\ngo 1.26\n",
		"paved.yaml": "description: big\n",
		"small.txt":  "small\n",
		"big.bin":    strings.Repeat("x", 2<<20),
	})
	proxy.Add(t, "example.com/big", "v1.0.0", src)
	r := &Resolver{Env: proxy.GoEnv(t), Limits: ReadLimits{File: 1 << 20, Total: 4 << 20}}
	dir := filepath.Join(t.TempDir(), "out")
	_, err := New(context.Background(), NewOptions{Module: "example.com/acme/out", Dir: dir, Template: "example.com/big@v1.0.0", Resolver: r, NoHooks: true})
	oneLine(t, err, "big.bin: 2097152 bytes, over the limit of 1 MiB for one template file")
	if _, statErr := os.Stat(dir); !errors.Is(statErr, fs.ErrNotExist) {
		t.Errorf("%s exists after a refused template", dir)
	}
}

// cancelAfter is a context whose Err turns to Canceled after n calls: a
// cancel that arrives in the middle of WriteTree, deterministically.
type cancelAfter struct {
	context.Context
	n atomic.Int32
}

func (c *cancelAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func TestWriteTreeCancelLeavesNothing(t *testing.T) {
	var files []File
	for i := range 50 {
		files = append(files, File{Path: filepath.ToSlash(filepath.Join("d", string(rune('a'+i%26)), "f"+strings.Repeat("x", i))), Data: []byte("x"), Mode: 0o644})
	}
	for _, after := range []int32{0, 1, 10, 49} {
		parent := t.TempDir()
		ctx := &cancelAfter{Context: context.Background()}
		ctx.n.Store(after)
		err := WriteTree(ctx, filepath.Join(parent, "out"), files)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel after %d files: err = %v", after, err)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Errorf("cancel after %d files left %v", after, entries)
		}
	}
}

// TestNewCancelDuringRender: a signal (ctx's end) during a runaway render
// ends New at once, with no DIR and no temporary sibling.
func TestNewCancelDuringRender(t *testing.T) {
	tmpl := t.TempDir()
	scaffoldtest.WriteTree(t, tmpl, map[string]string{
		"paved.yaml":    "description: bomb\n",
		"bomb.txt.tmpl": "{{ range 100000000000000 }}x{{ end }}",
	})
	parent := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	r := &Resolver{RenderLimits: Limits{Timeout: time.Hour, MaxFile: 1 << 40}}
	_, err := New(ctx, NewOptions{Module: "example.com/acme/out", Dir: filepath.Join(parent, "out"), Template: tmpl, Resolver: r, NoHooks: true})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("New = %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("New left %v", entries)
	}
}

// TestUpdateRunawayTemplateVersion: a template version whose render never
// ends stops update at its deadline, before anything in the repository
// changes.
func TestUpdateRunawayTemplateVersion(t *testing.T) {
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", templateV1)
	v2 := map[string]string{"loop.txt.tmpl": "{{ range 30000000 }}{{ end }}"}
	for name, data := range templateV1 {
		v2[name] = data
	}
	tr.tag(t, "v2.0.0", v2)
	dir, r := generated(t, tr, "v1.0.0")
	before := scaffoldtest.ReadTree(t, dir)
	r.RenderLimits = Limits{Timeout: 200 * time.Millisecond} // ample for the other files
	_, err := Update(context.Background(), UpdateOptions{Dir: dir, To: "v2.0.0", Resolver: r})
	oneLine(t, err, "v2.0.0: loop.txt.tmpl: render took longer than 200ms (raise with PAVED_RENDER_TIMEOUT)")
	if after := scaffoldtest.ReadTree(t, dir); len(after) != len(before) {
		t.Errorf("update changed the repository: %d files before, %d after", len(before), len(after))
	} else {
		for name, data := range before {
			if after[name] != data {
				t.Errorf("update changed %s", name)
			}
		}
	}
}

// TestFuncBudget: values each under the cap, kept in variables, cannot add
// up past the budget of the template set.
func TestFuncBudget(t *testing.T) {
	text := `{{ $a := repeat 400000 "x" }}{{ $b := repeat 400000 "x" }}{{ $c := repeat 400000 "x" }}{{ len $a }}`
	for _, tt := range []struct {
		max  int64
		want string
	}{
		{max: 2 << 20, want: ""},
		{max: 1 << 20, want: `error calling repeat: the template's functions have returned over 1 MiB in all`},
	} {
		tmpl, err := template.New("f.txt.tmpl").Funcs(funcMap(&funcBudget{max: tt.max})).Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		err = tmpl.Execute(&out, nil)
		if tt.want == "" {
			if err != nil || out.String() != "400000" {
				t.Errorf("budget %d: %q, %v", tt.max, out.String(), err)
			}
			continue
		}
		oneLine(t, err, "f.txt.tmpl:1:", tt.want)
	}
}
